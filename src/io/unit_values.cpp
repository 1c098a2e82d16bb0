#include "unit_values.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "bionmda/error.hpp"
#include "input_file.hpp"
#include "message_text.hpp"
#include "npy.hpp"

namespace bionmda::io {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Case-insensitive text equal to a lower-case word.
bool equals_lower(std::string_view text, std::string_view word) {
  if (text.size() != word.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != word[i]) return false;
  }
  return true;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw error("bionmda: " + where + ": " + what); }

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

void check_count(std::size_t have, std::int64_t units, const std::string& where) {
  if (static_cast<std::int64_t>(have) != units) {
    fail(where, "has " + std::to_string(have) + " values; --size is " + std::to_string(units));
  }
}

}  // namespace

number_text read_number(std::string_view text) {
  number_text r;
  std::string_view body = text;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) body.remove_prefix(1);
  if (equals_lower(body, "nan") || equals_lower(body, "inf") || equals_lower(body, "infinity")) {
    r.what = number_text::kind::not_finite;
    return r;
  }
  // [digits] [. [digits]] with at least one digit, then an optional exponent.
  std::size_t i = 0, mantissa_digits = 0;
  while (i < body.size() && is_digit(body[i])) ++i, ++mantissa_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_digit(body[i])) ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return r;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    std::size_t exponent_digits = 0;
    while (i < body.size() && is_digit(body[i])) ++i, ++exponent_digits;
    if (exponent_digits == 0) return r;
  }
  if (i != body.size()) return r;
  // The grammar is a subset of strtod's (in the "C" locale the tool runs in).
  const std::string copy(text);
  r.value = std::strtod(copy.c_str(), nullptr);
  r.what = std::isfinite(r.value) ? number_text::kind::finite : number_text::kind::not_finite;
  return r;
}

bool value_range::contains(double v) const {
  return std::isfinite(v) && (min_exclusive ? v > min : v >= min) && v <= max;
}

std::string value_range::describe() const {
  const bool low = std::isfinite(min), high = std::isfinite(max);
  if (low && high) return std::string("in ") + (min_exclusive ? "(" : "[") + shortest(min) + ", " + shortest(max) + "]";
  if (low) return std::string(min_exclusive ? "> " : ">= ") + shortest(min);
  if (high) return "<= " + shortest(max);
  return "";
}

std::vector<double> parse_unit_values(std::string_view text, const std::string& name, std::int64_t units,
                                      const std::string& option, const value_range& range) {
  std::vector<double> v;
  std::int64_t line_no = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_no;
    if (line.empty()) continue;
    const std::string where = name + ":" + std::to_string(line_no);
    const number_text x = read_number(line);
    if (x.what == number_text::kind::not_decimal) fail(where, option + " value " + quoted(line) + " is not a decimal number");
    if (x.what == number_text::kind::not_finite) fail(where, option + " value " + quoted(line) + " is not a finite number");
    if (!range.contains(x.value)) fail(where, option + " value " + shortest(x.value) + " must be " + range.describe());
    // Stop at the first value too many: a huge file is not read into memory.
    if (static_cast<std::int64_t>(v.size()) == units) {
      fail(where, option + " has more than " + std::to_string(units) + " values; --size is " + std::to_string(units));
    }
    v.push_back(x.value);
  }
  check_count(v.size(), units, option + " " + name);
  return v;
}

std::vector<double> unit_values_from_npy(const npy_array& a, const std::string& name, std::int64_t units,
                                         const std::string& option, const value_range& range) {
  const std::string where = option + " " + name;
  if (a.shape.size() != 1) fail(where, "per-unit values must be a 1-d array");
  std::vector<double> v;
  if (a.descr == "<f8") {
    v.resize(a.data.size() / 8);
    if (!v.empty()) std::memcpy(v.data(), a.data.data(), v.size() * 8);
  } else if (a.descr == "<f4") {
    std::vector<float> f(a.data.size() / 4);
    if (!f.empty()) std::memcpy(f.data(), a.data.data(), f.size() * 4);
    v.assign(f.begin(), f.end());
  } else {
    fail(where, "per-unit values must be float32 or float64, got " + quoted(a.descr));
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = name + "[" + std::to_string(i) + "]";
    if (!std::isfinite(v[i])) fail(at, option + " value " + shortest(v[i]) + " is not a finite number");
    if (!range.contains(v[i])) fail(at, option + " value " + shortest(v[i]) + " must be " + range.describe());
  }
  check_count(v.size(), units, where);
  return v;
}

std::vector<double> read_unit_values(const std::string& path, std::int64_t units, const std::string& option,
                                     const value_range& range) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    fail(option, quoted(path) + " is neither a number nor a readable file");
  }
  const std::string what = option + " file";
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    return unit_values_from_npy(read_npy(path, what), path, units, option, range);
  }
  return parse_unit_values(read_input_text(path, what), path, units, option, range);
}

}  // namespace bionmda::io
