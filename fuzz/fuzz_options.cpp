// Fuzz target: the tool's option parsing (src/cli/options.cpp). The first
// byte picks the parser, the rest is the option's text. Any text must give a
// value that keeps the parser's promise, or raise bionmda::error with a short,
// printable message; nothing else (no crash, no other exception).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../src/cli/options.hpp"
#include "bionmda/error.hpp"
#include "message_text.hpp"

namespace {

using namespace bionmda;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// The decimal integer text as std::to_string writes its value: no leading
// zeros, no "-0".
std::string canonical(const std::string& text) {
  const bool negative = !text.empty() && text[0] == '-';
  std::string digits = text.substr(negative ? 1 : 0);
  const auto first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "0" : digits.substr(first);
  return (negative && digits != "0" ? "-" : "") + digits;
}

// What C reads from the text (the parsers accept a subset of strtod).
double c_value(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

bool printable(const std::string& s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  }
  return true;
}

void run(int which, const std::string& text) {
  constexpr std::int64_t units = 37;
  switch (which) {
    case 0: {
      const std::int64_t v = cli::parse_integer(text, "--size", -5, 1000000);
      require(v >= -5 && v <= 1000000 && std::to_string(v) == canonical(text));
      break;
    }
    case 1: {
      const std::int64_t v = cli::parse_integer(text, "--steps", 0);
      require(v >= 0 && std::to_string(v) == canonical(text));
      break;
    }
    case 2: {
      const std::uint64_t v = cli::parse_seed(text);
      require(text[0] != '-' && std::to_string(v) == canonical(text));
      break;
    }
    case 3: {
      const double v = cli::parse_real(text, "--dt", io::value_range{0, HUGE_VAL, true});
      require(std::isfinite(v) && v > 0 && v == c_value(text));
      break;
    }
    case 4: {
      const auto v = cli::parse_number_or_file(text, "--g0", io::value_range{0, 1});
      if (v) {
        require(*v >= 0 && *v <= 1 && *v == c_value(text));
      } else {
        require(io::read_number(text).what == io::number_text::kind::not_decimal);
      }
      break;
    }
    case 5: {
      const auto v = cli::parse_record(text, units);
      std::vector<bool> seen(units, false);
      for (const std::int64_t u : v) {
        require(u >= 0 && u < units && !seen[static_cast<std::size_t>(u)]);
        seen[static_cast<std::size_t>(u)] = true;
      }
      if (text == "all") require(v.size() == units);
      if (text != "all" && text != "none") {
        std::size_t commas = 0;
        for (const char c : text) commas += c == ',';
        require(v.size() == commas + 1);
      }
      break;
    }
    case 6: {
      // --sizes items, NUL-separated.
      std::vector<std::string> items;
      std::size_t at = 0;
      for (;;) {
        const std::size_t nul = text.find('\0', at);
        items.push_back(text.substr(at, nul == std::string::npos ? std::string::npos : nul - at));
        if (nul == std::string::npos) break;
        at = nul + 1;
      }
      const auto sizes = cli::parse_sizes(items);
      require(sizes.size() == items.size());
      for (std::size_t k = 0; k < sizes.size(); ++k) require(sizes[k] >= 1 && std::to_string(sizes[k]) == canonical(items[k]));
      break;
    }
    default: {
      const std::string q = io::quoted(text);
      require(printable(q) && q.size() <= 2 + io::excerpt_length + 3 + 32);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > (1u << 16)) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    run(data[0] % 8, text);
  } catch (const error& e) {
    // A refusal is short and printable, whatever the input.
    const std::string what = e.what();
    require(what.size() <= 400 && printable(what));
  }
  return 0;
}
