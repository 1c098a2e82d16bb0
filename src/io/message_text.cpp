#include "message_text.hpp"

#include <cstdio>
#include <cstdlib>

namespace bionmda::io {

namespace {

// Appends text escaped and cut after max characters; true if it was cut.
bool append_escaped(std::string& out, std::string_view text, std::size_t max) {
  std::size_t shown = 0;
  std::size_t i = 0;
  for (; i < text.size() && shown < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++shown;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(c));
      out += hex;
      shown += 4;
    }
  }
  return i < text.size();
}

std::string length_note(std::size_t bytes) { return "... (" + std::to_string(bytes) + " bytes)"; }

}  // namespace

std::string quoted(std::string_view text, std::size_t max) {
  std::string out = "'";
  const bool cut = append_escaped(out, text, max);
  out.push_back('\'');
  if (cut) out += length_note(text.size());
  return out;
}

std::string excerpt(std::string_view text, std::size_t max) {
  std::string out;
  if (append_escaped(out, text, max)) out += length_note(text.size());
  return out;
}

std::string shortest(double v) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v) break;
  }
  return text;
}

}  // namespace bionmda::io
