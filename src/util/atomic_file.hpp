#pragma once
// Writes a file so that it appears whole or not at all: the content goes to a
// temporary file beside the target, is flushed to disk, then renamed.
#include <functional>
#include <iosfwd>
#include <string>

namespace bionmda::detail {

/**
 * @brief Calls write(stream) on a temporary file next to path, then fsyncs
 *        and renames it to path. On any failure the temporary is removed and
 *        bionmda::error is thrown naming the path; path is left untouched.
 *
 * The temporary is a temporary_file: created exclusively under an
 * unpredictable name (never through a planted link), removed by the tool's
 * signal handlers. A path that is a symbolic link is replaced by the new file;
 * the file it pointed to is not written. A write error (e.g. a full disk) is
 * reported when write returns, with the system's reason.
 */
void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace bionmda::detail
