#pragma once
// Reading a whole input file with errors in the tool's words: a directory, a
// missing file or a read error is named with the file and its role, never as
// a standard-library message.
#include <cstdint>
#include <string>
#include <vector>

namespace bionmda::io {

/**
 * @brief The whole content of the file at path; what names its role in
 *        messages (e.g. "spike file", "--alpha1 file").
 * @throw bionmda::error "<what> '<path>' is a directory, not a file", or
 *        "cannot open|read <what> '<path>': <system reason>"
 */
std::string read_input_text(const std::string& path, const std::string& what);

/// As read_input_text, as bytes.
std::vector<std::uint8_t> read_input_bytes(const std::string& path, const std::string& what);

}  // namespace bionmda::io
