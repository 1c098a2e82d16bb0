#pragma once
// All output files of one run, written to temporaries and renamed together:
// they appear all at once or none does.
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "temporary_file.hpp"

namespace bionmda::detail {

/**
 * @brief The outputs of one run. add() checks each path and creates its
 *        temporary before the run; commit() renames them all at the end;
 *        otherwise (an error, the destructor) every temporary is removed and
 *        no target is touched.
 *
 * With remove_temporaries_on_signals() installed, SIGINT, SIGTERM, SIGHUP
 * or SIGQUIT before commit() remove every temporary; one during commit()
 * waits until all renames are done.
 */
class output_set {
 public:
  output_set() = default;
  ~output_set() = default;  // the temporaries remove themselves
  output_set(const output_set&) = delete;
  output_set& operator=(const output_set&) = delete;

  /**
   * @brief Checks path as the output of option (e.g. "--out") and creates its
   *        temporary beside it.
   * @param extensions the accepted endings, e.g. {".csv", ".npy"}
   *        (case-insensitive); empty: any
   * @throw bionmda::error naming option and path when the path is empty;
   *        names the same file as an earlier add() (also through "." or ".."
   *        components or symbolic links); is a directory, a link to one, or
   *        another non-regular file; has another extension; or its directory
   *        is missing or not writable.
   * @note A file in the directory named like a temporary of this target whose
   *       process is gone (a run killed by SIGKILL) is listed in warnings(),
   *       and left alone: nothing proves that it is not someone else's.
   */
  temporary_file& add(const std::string& option, const std::string& path,
                      std::initializer_list<const char*> extensions);

  /** @brief Stale temporaries found by add(), one sentence each. */
  [[nodiscard]] const std::vector<std::string>& warnings() const { return warnings_; }

  /**
   * @brief Finishes every temporary (flush, sync to disk, close), then
   *        renames them all onto their targets, signals held meanwhile.
   * @throw bionmda::error when a write fails (nothing renamed), or when a
   *        rename fails (only if the directory changed under the run; the
   *        message names the outputs already in place).
   */
  void commit();

 private:
  struct entry {
    std::string option, path, resolved;
    std::unique_ptr<temporary_file> file;
  };
  std::vector<entry> entries_;
  std::vector<std::string> warnings_;
};

}  // namespace bionmda::detail
