#include "options.hpp"

#include <algorithm>
#include <string_view>

#include "../io/message_text.hpp"
#include "bionmda/error.hpp"

namespace bionmda::cli {
namespace {

[[noreturn]] void fail(const std::string& option, const std::string& what) {
  throw error("bionmda: " + option + ": " + what);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The value of a string of decimal digits, or nullopt beyond max.
std::optional<std::uint64_t> digits_value(std::string_view digits, std::uint64_t max) {
  std::uint64_t v = 0;
  for (const char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::int64_t parse_integer(const std::string& text, const std::string& option, std::int64_t min, std::int64_t max) {
  const bool negative = !text.empty() && text.front() == '-';
  const std::string_view digits = std::string_view(text).substr(negative ? 1 : 0);
  if (!all_digits(digits)) fail(option, io::quoted(text) + " is not a decimal integer");
  // |INT64_MIN| = INT64_MAX + 1.
  const auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  const auto magnitude = digits_value(digits, limit);
  if (!magnitude) {
    fail(option, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + io::quoted(text));
  }
  const std::int64_t v = negative ? static_cast<std::int64_t>(0 - *magnitude) : static_cast<std::int64_t>(*magnitude);
  if (v < min) fail(option, "must be >= " + std::to_string(min) + ", got " + std::to_string(v));
  if (v > max) fail(option, "must be <= " + std::to_string(max) + ", got " + std::to_string(v));
  return v;
}

std::uint64_t parse_seed(const std::string& text) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  const auto v = all_digits(text) ? digits_value(text, max) : std::nullopt;
  if (!v) fail("--seed", io::quoted(text) + " is not a decimal integer in [0, " + std::to_string(max) + "]");
  return *v;
}

double parse_real(const std::string& text, const std::string& option, const io::value_range& range) {
  const auto v = parse_number_or_file(text, option, range);
  if (!v) fail(option, io::quoted(text) + " is not a decimal number");
  return *v;
}

std::optional<double> parse_number_or_file(const std::string& text, const std::string& option,
                                           const io::value_range& range) {
  const io::number_text n = io::read_number(text);
  switch (n.what) {
    case io::number_text::kind::not_decimal:
      return std::nullopt;
    case io::number_text::kind::not_finite:
      fail(option, io::quoted(text) + " is not a finite number");
    case io::number_text::kind::finite:
      break;
  }
  if (!range.contains(n.value)) fail(option, "must be " + range.describe() + ", got " + io::shortest(n.value));
  return n.value;
}

std::vector<std::int64_t> parse_record(const std::string& spec, std::int64_t units) {
  std::vector<std::int64_t> out;
  if (spec == "all") {
    for (std::int64_t i = 0; i < units; ++i) out.push_back(i);
    return out;
  }
  if (spec == "none") return out;
  if (spec.empty()) fail("--record", "empty; give all, none or unit indices i,j,k");
  std::string_view rest = spec;
  for (;;) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    if (item.empty()) {
      fail("--record", "empty item in " + io::quoted(spec) + " (unit indices are separated by single commas)");
    }
    if (!all_digits(item)) {
      fail("--record", io::quoted(item) + " is not a unit index (give all, none or decimal indices i,j,k)");
    }
    const auto u = digits_value(item, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    if (!u || static_cast<std::int64_t>(*u) >= units) {
      fail("--record", "unit " + (u ? std::to_string(*u) : io::quoted(item)) + " out of range [0, " +
                           std::to_string(units) + ")");
    }
    out.push_back(static_cast<std::int64_t>(*u));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::vector<std::int64_t> sorted = out;
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice != sorted.end()) fail("--record", "unit " + std::to_string(*twice) + " is listed twice");
  return out;
}

const std::string& parse_choice(const std::string& text, const std::string& option,
                                const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
  std::string list;
  for (std::size_t k = 0; k < choices.size(); ++k) {
    list += (k == 0 ? "" : k + 1 == choices.size() ? " or " : ", ") + choices[k];
  }
  fail(option, io::quoted(text) + " is not one of " + list);
}

std::vector<std::int64_t> parse_sizes(const std::vector<std::string>& items) {
  std::vector<std::int64_t> sizes;
  for (const std::string& item : items) sizes.push_back(parse_integer(item, "--sizes", 1));
  return sizes;
}

}  // namespace bionmda::cli
