#include "output_set.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bionmda/error.hpp"

namespace bionmda::detail {
namespace {

[[noreturn]] void fail(const std::string& option, const std::string& path, const std::string& what) {
  throw error("bionmda: " + option + " '" + path + "': " + what);
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The directory part as given ("" for a bare name), and as a path to open.
std::string directory_prefix(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}
std::string directory_of(const std::string& path) {
  const std::string prefix = directory_prefix(path);
  if (prefix.empty()) return ".";
  if (prefix == "/") return prefix;
  return prefix.substr(0, prefix.size() - 1);
}

std::string lower_extension(const std::string& path) {
  const std::string name = base_name(path);
  const auto dot = name.rfind('.');
  std::string ext = dot == std::string::npos ? std::string() : name.substr(dot);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Where a path leads: its directory made canonical, then the symbolic links
// of its last component followed (a dangling one up to where it points).
std::string resolve(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (ec) return path;
  for (int hops = 0; hops < 40; ++hops) {
    fs::path dir = fs::weakly_canonical(p.parent_path(), ec);
    if (ec) dir = p.parent_path().lexically_normal();
    const fs::path full = dir / p.filename();
    if (!fs::is_symlink(full, ec)) return full.lexically_normal().string();
    const fs::path link = fs::read_symlink(full, ec);
    if (ec) return full.string();
    p = link.is_absolute() ? link : dir / link;
  }
  return p.lexically_normal().string();
}

// Temporaries of path left by a process that is gone: dots, then
// `.<name>.bionmda-tmp.<pid>.` (a checkpoint's temporary of the temporary
// has one dot more).
void find_stale(const std::string& option, const std::string& path, std::vector<std::string>& warnings) {
  const std::string key = "." + base_name(path).substr(0, 100) + temporary_marker;
  DIR* dir = ::opendir(directory_of(path).c_str());
  if (dir == nullptr) return;
  while (const dirent* e = ::readdir(dir)) {
    const std::string n = e->d_name;
    std::size_t at = std::string::npos;
    for (std::size_t k = 0; k < n.size() && (k == 0 || n[k - 1] == '.'); ++k) {
      if (n.compare(k, key.size(), key) == 0) {
        at = k + key.size();
        break;
      }
    }
    if (at == std::string::npos) continue;
    long long pid = 0;
    std::size_t end = at;
    while (end < n.size() && end - at < 10 && std::isdigit(static_cast<unsigned char>(n[end]))) {
      pid = pid * 10 + (n[end] - '0');
      ++end;
    }
    if (end == at || end >= n.size() || n[end] != '.' || pid <= 0) continue;
    const auto p = static_cast<pid_t>(pid);
    // A live process may be a run writing the same target now.
    if (p == ::getpid() || ::kill(p, 0) == 0 || errno == EPERM) continue;
    warnings.push_back(option + " '" + path + "': '" + directory_prefix(path) + n +
                       "' is the temporary file of an interrupted run (process " + std::to_string(pid) +
                       " is gone); delete it unless another run is writing '" + path + "'");
  }
  ::closedir(dir);
}

}  // namespace

temporary_file& output_set::add(const std::string& option, const std::string& path,
                                std::initializer_list<const char*> extensions) {
  if (path.empty()) throw error("bionmda: " + option + ": empty path");
  const std::string resolved = resolve(path);
  for (const entry& e : entries_) {
    if (e.resolved == resolved) {
      throw error("bionmda: " + e.option + " '" + e.path + "' and " + option + " '" + path +
                  "' name the same file (" + resolved + "); give each output its own file");
    }
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail(option, path, "is a directory");
    if (S_ISLNK(st.st_mode)) {
      // A link is replaced by the new file; refused when it leads to what
      // the user cannot mean to replace.
      struct stat to {};
      if (::stat(path.c_str(), &to) == 0 && S_ISDIR(to.st_mode)) fail(option, path, "is a link to a directory");
      if (::stat(path.c_str(), &to) == 0 && !S_ISREG(to.st_mode)) {
        fail(option, path, "is a link to something other than a regular file");
      }
    } else if (!S_ISREG(st.st_mode)) {
      fail(option, path, "exists and is not a regular file (an output replaces a regular file only)");
    }
  }
  if (extensions.size() > 0) {
    const std::string ext = lower_extension(path);
    std::string wanted;
    bool ok = false;
    std::size_t k = 0;
    for (const char* x : extensions) {
      ok = ok || ext == x;
      wanted += (k == 0 ? "" : k + 1 == extensions.size() ? " or " : ", ") + std::string(x);
      ++k;
    }
    if (!ok) fail(option, path, "must end in " + wanted);
  }
  const std::string dir = directory_of(path);
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    fail(option, path,
         "directory '" + dir + "' " + (err == ENOENT ? std::string("does not exist") : std::strerror(err)));
  }
  if (!S_ISDIR(st.st_mode)) fail(option, path, "'" + dir + "' is not a directory");
  find_stale(option, path, warnings_);

  std::unique_ptr<temporary_file> file;
  try {
    file = std::make_unique<temporary_file>(path);
  } catch (const error& e) {
    std::string why = e.what();
    if (why.rfind("bionmda: ", 0) == 0) why.erase(0, 9);
    throw error("bionmda: " + option + ": " + why);
  }
  entries_.push_back({option, path, resolved, std::move(file)});
  return *entries_.back().file;
}

void output_set::commit() {
  for (entry& e : entries_) e.file->finish();
  signal_hold hold;
  std::string done;
  for (entry& e : entries_) {
    try {
      e.file->rename_onto_target();
    } catch (const error& x) {
      if (done.empty()) throw;
      throw error(std::string(x.what()) + "; already in place:" + done);
    }
    done += " " + e.option + " '" + e.path + "'";
  }
}

}  // namespace bionmda::detail
