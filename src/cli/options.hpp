#pragma once
// The values of the bionmda tool's options, parsed and checked in one place
// (and fuzzed there: fuzz/fuzz_options.cpp). CLI11 only collects the text:
// its conversions saturate out-of-range integers, read "1e23" as an integer
// and print its own bounds as 300-digit numbers.
//
// Every function throws bionmda::error with a message that names the option
// and quotes the value (cut to about 80 characters).
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "../io/unit_values.hpp"

namespace bionmda::cli {

/**
 * @brief A decimal integer in [min, max]: an optional '-' and digits only (no
 *        '+', spaces, exponent, fraction or hex), e.g. --size, --steps.
 */
std::int64_t parse_integer(const std::string& text, const std::string& option, std::int64_t min,
                           std::int64_t max = std::numeric_limits<std::int64_t>::max());

/// The longest window (simulate and bench --window): its step offsets and
/// traces are allocated per window.
constexpr std::int64_t max_window = 65536;

/// --seed: a decimal integer in [0, 2^64 - 1], digits only.
std::uint64_t parse_seed(const std::string& text);

/**
 * @brief A finite decimal number within range (io::read_number's grammar):
 *        nan, inf and numbers beyond the double range are refused.
 */
double parse_real(const std::string& text, const std::string& option, const io::value_range& range = {});

/**
 * @brief For options that take a number or a file (--alpha1.., --g0, --x0):
 *        the number, checked as parse_real does; nullopt when the text is no
 *        number at all, so names a file. A non-finite number (nan, inf,
 *        1e999) is refused, never taken for a file name.
 */
std::optional<double> parse_number_or_file(const std::string& text, const std::string& option,
                                           const io::value_range& range = {});

/**
 * @brief --record as given: "all" (0..units-1), "none" (empty), or unit
 *        indices "i,j,k" in [0, units), in decimal digits, separated by
 *        single commas, each at most once; returned in the order given.
 */
std::vector<std::int64_t> parse_record(const std::string& spec, std::int64_t units);

/// One of choices, exactly (e.g. --backend: auto, cpu or cuda); returns text.
const std::string& parse_choice(const std::string& text, const std::string& option,
                                const std::vector<std::string>& choices);

/// bench --sizes: each item a decimal integer >= 1.
std::vector<std::int64_t> parse_sizes(const std::vector<std::string>& items);

}  // namespace bionmda::cli
