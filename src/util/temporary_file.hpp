#pragma once
// A temporary file beside a target, written and then renamed onto it, and the
// signal handling that removes every such temporary when a run is
// interrupted. Shared by write_atomically (the library's checkpoints) and
// output_set (all outputs of one tool run).
#include <iosfwd>
#include <memory>
#include <string>

namespace bionmda::detail {

/// The marker in every temporary's name: `.<name>.bionmda-tmp.<pid>.<random>`
/// beside the target `<name>` (the name cut to 100 bytes).
inline constexpr const char* temporary_marker = ".bionmda-tmp.";

/**
 * @brief A new, empty file in the directory of target, to be renamed onto it.
 *
 * Created with `O_CREAT | O_EXCL | O_NOFOLLOW` under an unpredictable name
 * (72 random bits), mode 0666 less the umask (like any new file): a file or
 * link planted under any name is never opened, followed or truncated. While
 * it exists its name is in a fixed table that the handlers of
 * remove_temporaries_on_signals() unlink. The destructor removes it unless it
 * was renamed.
 *
 * A target that is a symbolic link is replaced by the renamed file (the link
 * itself, as rename(2) does); the file it pointed to is never written.
 */
class temporary_file {
 public:
  /** @throw bionmda::error naming target and the directory (missing, not a
   *         directory, not writable, ...). */
  explicit temporary_file(std::string target);
  ~temporary_file();
  temporary_file(const temporary_file&) = delete;
  temporary_file& operator=(const temporary_file&) = delete;

  /** @brief The temporary's path (in the target's directory). */
  [[nodiscard]] const std::string& path() const { return path_; }
  /** @brief The path it will be renamed to, as given. */
  [[nodiscard]] const std::string& target() const { return target_; }
  /** @brief A buffered stream into the temporary; a failed write sets badbit. */
  [[nodiscard]] std::ostream& stream();
  /**
   * @brief Flushes the stream, syncs the file to disk and closes it.
   * @throw bionmda::error naming the target and the system's reason (e.g. no
   *        space left on the device).
   */
  void finish();
  /**
   * @brief Renames the temporary onto the target (after finish()) and syncs
   *        the directory. Call inside a signal_hold when several files must
   *        appear together.
   * @throw bionmda::error naming both paths; the temporary is then still there.
   */
  void rename_onto_target();
  /** @brief Unlinks the temporary now (unless renamed); never throws. */
  void remove() noexcept;

 private:
  class stream_buffer;
  std::string target_, path_;
  int fd_ = -1;
  int slot_ = -1;  // index in the signal cleanup table
  bool renamed_ = false;
  std::unique_ptr<stream_buffer> buffer_;
  std::unique_ptr<std::ostream> stream_;
};

/**
 * @brief Installs handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT (those not
 *        ignored when the process started) that unlink every existing
 *        temporary_file and then let the signal end the process, so that its
 *        parent sees it killed by that signal (a shell reports 128 + the
 *        signal: 130, 143, 129, 131); and ignores SIGXFSZ, so that a write
 *        past the file-size limit fails and is reported like a full disk.
 *        For the tool's main(); a library never installs handlers.
 *
 * The handlers are async-signal-safe: they only read a fixed table of path
 * strings filled before, call unlink(2), and re-raise the signal. SIGKILL
 * cannot be handled; its temporaries stay, recognisable by their name.
 */
void remove_temporaries_on_signals();

/**
 * @brief While one exists, a handled signal waits: the renames of a group of
 *        temporaries either all happen or, when the signal came first, none.
 *        When it ends, a signal that arrived meanwhile removes what is still
 *        temporary and ends the process.
 */
class signal_hold {
 public:
  signal_hold();
  ~signal_hold();
  signal_hold(const signal_hold&) = delete;
  signal_hold& operator=(const signal_hold&) = delete;

 private:
  bool owner_ = false;
};

}  // namespace bionmda::detail
