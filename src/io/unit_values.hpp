#pragma once
// Numbers for CLI options that take one number or one number per unit: the
// number grammar shared by options and files, and the per-unit value files.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace bionmda::io {

struct npy_array;

/// What a text holds when read as a number.
struct number_text {
  enum class kind {
    finite,       ///< a decimal number with a finite value
    not_finite,   ///< nan, inf, infinity (any case or sign), or a decimal beyond the double range
    not_decimal,  ///< anything else: words, hex, spaces, empty
  };
  kind what = kind::not_decimal;
  double value = 0;  ///< the value when what == finite
};

/**
 * @brief Reads the whole text as a decimal number:
 *        [+-] digits [. [digits]] [(e|E) [+-] digits], or [+-] . digits [...].
 *        No spaces, hex, or C's other spellings. A magnitude below the
 *        smallest double reads as 0.
 */
number_text read_number(std::string_view text);

/// The values an option or a file value may take; always finite.
struct value_range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;  ///< min itself is excluded (e.g. a time step > 0)
  /// v is finite and within the range.
  [[nodiscard]] bool contains(double v) const;
  /// The condition in words: "> 0", ">= 0", "in [0, 1]", "<= 5" (empty: any finite value).
  [[nodiscard]] std::string describe() const;
};

/**
 * @brief Reads N per-unit values from a file: .npy (float32/float64, shape [N])
 *        or text/.csv (one number per line, blank lines ignored; spaces, tabs
 *        and CR around a number ignored). Every value must be finite and in
 *        range. Throws bionmda::error naming the option, the file, the line
 *        (or array index) and the value.
 */
std::vector<double> read_unit_values(const std::string& path, std::int64_t units, const std::string& option,
                                     const value_range& range = {});

/// Per-unit values from the text of a file (name is used in messages).
std::vector<double> parse_unit_values(std::string_view text, const std::string& name, std::int64_t units,
                                      const std::string& option, const value_range& range = {});

/// Per-unit values from a parsed .npy array (name is used in messages).
std::vector<double> unit_values_from_npy(const npy_array& a, const std::string& name, std::int64_t units,
                                         const std::string& option, const value_range& range = {});

}  // namespace bionmda::io
