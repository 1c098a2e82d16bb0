#pragma once
// Text for error messages: input quoted and cut to a readable length (a
// 10 MB line, a long argument or binary garbage is never echoed in full), and
// numbers in their shortest exact form.
#include <cstddef>
#include <string>
#include <string_view>

namespace bionmda::io {

/// Characters of input an error message quotes at most.
inline constexpr std::size_t excerpt_length = 80;

/**
 * @brief text in single quotes for an error message. Bytes outside printable
 *        ASCII, and the backslash, are written as \xNN; after max characters
 *        the text is cut, and the quote is followed by "... (N bytes)" with
 *        the full length, e.g. 'qqqq'... (10485760 bytes).
 */
std::string quoted(std::string_view text, std::size_t max = excerpt_length);

/// As quoted, without the quotes: for a whole message that may hold input.
std::string excerpt(std::string_view text, std::size_t max);

/// The shortest decimal text that reads back as exactly v ("0.1", not
/// "0.10000000000000001"); "nan", "inf" or "-inf" for those.
std::string shortest(double v);

}  // namespace bionmda::io
