#pragma once
// Values for CLI options that take one number or one number per unit.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bionmda::io {

/// Parses the whole text as a finite or non-finite double; nullopt if it is not a number.
std::optional<double> parse_number(const std::string& text);

/**
 * @brief Reads N per-unit values from a file: .npy (float32/float64, shape [N])
 *        or text/.csv (one number per line, blank lines ignored). Throws
 *        bionmda::error naming the option, file, line and value.
 */
std::vector<double> read_unit_values(const std::string& path, std::int64_t units,
                                     const std::string& option);

}  // namespace bionmda::io
