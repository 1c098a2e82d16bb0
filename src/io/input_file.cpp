#include "input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bionmda/error.hpp"

namespace bionmda::io {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, const char* action, int err) {
  throw error("bionmda: cannot " + std::string(action) + " " + what + " '" + path + "': " + std::strerror(err));
}

// POSIX calls rather than a filebuf: a filebuf reports a directory or a read
// error as an exception of its own ("basic_filebuf::underflow ...").
template <class Bytes>
Bytes read_all(const std::string& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(what, path, "open", errno);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_at_exit{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(what, path, "read", errno);
  if (S_ISDIR(st.st_mode)) throw error("bionmda: " + what + " '" + path + "' is a directory, not a file");
  Bytes out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(what, path, "read", errno);
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

}  // namespace

std::string read_input_text(const std::string& path, const std::string& what) {
  return read_all<std::string>(path, what);
}

std::vector<std::uint8_t> read_input_bytes(const std::string& path, const std::string& what) {
  return read_all<std::vector<std::uint8_t>>(path, what);
}

}  // namespace bionmda::io
