#include "temporary_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ostream>
#include <random>
#include <streambuf>
#include <vector>

#include "bionmda/error.hpp"

namespace bionmda::detail {
namespace {

// --- The table the signal handlers read ------------------------------------
// Fixed size, filled before a temporary is created, so that a handler only
// reads memory that already exists and calls unlink(2). A slot is reused only
// after the other 63 have been taken, which keeps a handler that is reading
// one in another thread from seeing it rewritten.
constexpr int table_size = 64;
constexpr std::size_t max_path = 4096;
enum : int { slot_free = 0, slot_filling = 1, slot_live = 2 };
struct slot {
  std::atomic<int> state{slot_free};
  char path[max_path];
};
slot table[table_size];
std::atomic<unsigned> next_slot{0};

// 0: running; 1: a signal_hold is renaming; 2: a handler is removing the
// temporaries and ending the process.
enum : int { phase_running = 0, phase_holding = 1, phase_ending = 2 };
std::atomic<int> phase{phase_running};
std::atomic<int> held_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

constexpr int handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

int claim_slot(const std::string& path) {
  if (path.size() >= max_path) throw error("bionmda: path too long for a temporary file: '" + path + "'");
  for (int tries = 0; tries < table_size; ++tries) {
    const int k = static_cast<int>(next_slot.fetch_add(1) % table_size);
    int expected = slot_free;
    if (table[k].state.compare_exchange_strong(expected, slot_filling)) {
      std::memcpy(table[k].path, path.c_str(), path.size() + 1);
      table[k].state.store(slot_live, std::memory_order_release);
      return k;
    }
  }
  throw error("bionmda: more than " + std::to_string(table_size) + " temporary files at once");
}

void release_slot(int k) noexcept {
  if (k >= 0) table[k].state.store(slot_free, std::memory_order_release);
}

void unlink_all() noexcept {
  for (auto& s : table) {
    if (s.state.load(std::memory_order_acquire) == slot_live) ::unlink(s.path);
  }
}

// Restores the default action and raises sig: inside its handler the signal
// is blocked, so it ends the process as the handler returns; elsewhere at once.
void die_of(int sig) noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
}

// The process is ending (a handler in another thread removes the
// temporaries): create or rename nothing more.
[[noreturn]] void wait_for_the_end() noexcept {
  for (;;) ::pause();
}

extern "C" void on_signal(int sig) {
  const int saved_errno = errno;
  int expected = phase_running;
  if (phase.compare_exchange_strong(expected, phase_ending)) {
    unlink_all();
    die_of(sig);
  } else if (expected == phase_holding) {
    int none = 0;
    held_signal.compare_exchange_strong(none, sig);  // the signal_hold ends the process
  }
  errno = saved_errno;
}

// 72 unpredictable bits as 12 characters of [A-Za-z0-9_-].
std::string random_name() {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), static_cast<unsigned>(::getpid()),
                      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
    return std::mt19937_64(seq);
  }();
  std::string s(12, ' ');
  std::uint64_t bits = rng() ^ (rng() << 1);
  for (auto& c : s) {
    c = alphabet[bits & 63];
    bits >>= 6;
  }
  return s;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void sync_directory(const std::string& dir) noexcept {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);  // best effort: the rename is done; a failure here loses nothing now
    ::close(fd);
  }
}

}  // namespace

// A buffered std::streambuf over the file descriptor; remembers the first
// write error (errno) so that finish() can name it.
class temporary_file::stream_buffer : public std::streambuf {
 public:
  explicit stream_buffer(int fd) : fd_(fd), buf_(std::size_t{1} << 20) { reset(); }
  [[nodiscard]] int error_code() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n > epptr() - pptr()) {
      if (!drain()) return 0;
      if (n >= static_cast<std::streamsize>(buf_.size())) return write_all(s, n) ? n : 0;
    }
    std::memcpy(pptr(), s, static_cast<std::size_t>(n));
    pbump(static_cast<int>(n));
    return n;
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  void reset() { setp(buf_.data(), buf_.data() + buf_.size()); }
  bool drain() {
    const std::streamsize n = pptr() - pbase();
    const bool ok = n == 0 || write_all(pbase(), n);
    reset();
    return ok;
  }
  bool write_all(const char* p, std::streamsize n) {
    if (error_ != 0) return false;
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, static_cast<std::size_t>(n));
      if (w < 0) {
        if (errno == EINTR) continue;
        error_ = errno;
        return false;
      }
      p += w;
      n -= w;
    }
    return true;
  }

  int fd_;
  std::vector<char> buf_;
  int error_ = 0;
};

temporary_file::temporary_file(std::string target) : target_(std::move(target)) {
  const auto slash = target_.rfind('/');
  const std::string name = slash == std::string::npos ? target_ : target_.substr(slash + 1);
  const std::string dir = directory_of(target_);
  if (name.empty() || name == "." || name == "..") {
    throw error("bionmda: '" + target_ + "' names a directory, not a file");
  }
  const std::string stem = (slash == std::string::npos ? std::string() : target_.substr(0, slash + 1)) + "." +
                           name.substr(0, 100) + temporary_marker + std::to_string(::getpid()) + ".";
  for (int attempt = 0;; ++attempt) {
    path_ = stem + random_name();
    // In the table before it exists: a handler may unlink a name not yet
    // created (harmless), never miss one that was.
    slot_ = claim_slot(path_);
    if (phase.load() == phase_ending) wait_for_the_end();
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd_ >= 0) break;
    const int err = errno;
    release_slot(slot_);
    slot_ = -1;
    if (err == EEXIST && attempt < 100) continue;
    std::string why;
    struct stat st {};
    if (err == ENOENT && ::stat(dir.c_str(), &st) != 0) {
      why = "directory '" + dir + "' does not exist";
    } else if (err == ENOTDIR) {
      why = "'" + dir + "' is not a directory";
    } else {
      why = "cannot create a file in directory '" + dir + "': " + std::strerror(err);
    }
    path_.clear();
    throw error("bionmda: cannot write '" + target_ + "': " + why);
  }
}

temporary_file::~temporary_file() { remove(); }

std::ostream& temporary_file::stream() {
  if (!stream_) {
    buffer_ = std::make_unique<stream_buffer>(fd_);
    stream_ = std::make_unique<std::ostream>(buffer_.get());
    if (fd_ < 0) stream_->setstate(std::ios::badbit);
  }
  return *stream_;
}

void temporary_file::finish() {
  if (fd_ < 0) return;
  int err = 0;
  if (stream_) {
    stream_->flush();
    err = buffer_->error_code();
    if (err == 0 && !*stream_) err = EIO;
  }
  // Durable before the rename makes it visible (EINVAL: a file system without fsync).
  if (err == 0 && ::fsync(fd_) != 0 && errno != EINVAL) err = errno;
  if (::close(fd_) != 0 && err == 0 && errno != EINTR) err = errno;
  fd_ = -1;
  if (err != 0) throw error("bionmda: writing '" + target_ + "' failed: " + std::strerror(err));
}

void temporary_file::rename_onto_target() {
  finish();
  if (phase.load() == phase_ending) wait_for_the_end();
  if (::rename(path_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    throw error("bionmda: cannot rename '" + path_ + "' to '" + target_ + "': " + std::strerror(err));
  }
  renamed_ = true;
  release_slot(slot_);
  slot_ = -1;
  sync_directory(directory_of(target_));
}

void temporary_file::remove() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!renamed_ && !path_.empty()) ::unlink(path_.c_str());
  release_slot(slot_);
  slot_ = -1;
  path_.clear();
}

void remove_temporaries_on_signals() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int s : handled_signals) sigaddset(&sa.sa_mask, s);
  for (int s : handled_signals) {
    struct sigaction old {};
    // Ignored at start (nohup, a background job): stays ignored.
    if (::sigaction(s, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    ::sigaction(s, &sa, nullptr);
  }
  // A write past the file-size limit then fails with EFBIG and is reported
  // like a full disk, instead of killing the process.
  ::signal(SIGXFSZ, SIG_IGN);
}

signal_hold::signal_hold() {
  int expected = phase_running;
  if (phase.compare_exchange_strong(expected, phase_holding)) {
    owner_ = true;
  } else if (expected == phase_ending) {
    wait_for_the_end();
  }
  // else nested in another hold, which decides
}

signal_hold::~signal_hold() {
  if (!owner_) return;
  phase.store(phase_running);
  const int sig = held_signal.exchange(0);
  if (sig == 0) return;
  int expected = phase_running;
  if (!phase.compare_exchange_strong(expected, phase_ending)) wait_for_the_end();
  unlink_all();
  die_of(sig);
}

}  // namespace bionmda::detail
