// available_host_memory: MemAvailable and the cgroup memory limits, read
// from files under a root directory (include/bionmda/host_memory.hpp).
#include "bionmda/host_memory.hpp"

#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bionmda {
namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return s.str();
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A whole decimal number, surrounding blanks allowed; nothing on overflow.
std::optional<std::uint64_t> parse_u64(const std::string& text) {
  std::size_t i = 0, end = text.size();
  while (i < end && (text[i] == ' ' || text[i] == '\t')) ++i;
  while (end > i && (text[end - 1] == '\n' || text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  if (i == end) return std::nullopt;
  std::uint64_t v = 0;
  for (; i < end; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

std::optional<std::uint64_t> read_u64(const std::string& path) {
  const auto text = read_text(path);
  return text ? parse_u64(*text) : std::nullopt;
}

// The value of "key value" in a memory.stat-style file (0 when absent).
std::uint64_t stat_value(const std::string& path, const std::string& key) {
  const auto text = read_text(path);
  if (!text) return 0;
  std::istringstream in(*text);
  std::string name, value;
  while (in >> name >> value) {
    if (name == key) return parse_u64(value).value_or(0);
  }
  return 0;
}

struct candidate {
  std::uint64_t bytes;
  std::string limit;
};

void offer(std::optional<candidate>& best, candidate c) {
  if (!best || c.bytes < best->bytes) best = std::move(c);
}

// MemAvailable: <n> kB
void read_meminfo(const std::string& root, std::optional<candidate>& best) {
  const std::string path = root + "/proc/meminfo";
  const auto text = read_text(path);
  if (!text) return;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    std::string number, unit;
    fields >> number >> unit;
    const auto kb = parse_u64(number);
    if (!kb || unit != "kB" || *kb > UINT64_MAX / 1024) return;
    offer(best, {*kb * 1024, "MemAvailable in " + path});
    return;
  }
}

// "/a/b" -> "/a/b", "/a", "/" (the cgroup and its ancestors, deepest first).
std::vector<std::string> levels(std::string path) {
  std::vector<std::string> out;
  while (!path.empty() && path.back() == '/') path.pop_back();
  while (!path.empty()) {
    out.push_back(path);
    path.erase(path.rfind('/'));
  }
  out.push_back("");
  return out;
}

// One hierarchy: every existing level of path under mount with a limit.
void read_hierarchy(const std::string& mount, const std::string& path, bool v2, std::optional<candidate>& best) {
  if (!is_directory(mount)) return;
  const char* max_file = v2 ? "memory.max" : "memory.limit_in_bytes";
  const char* use_file = v2 ? "memory.current" : "memory.usage_in_bytes";
  const char* inactive_key = v2 ? "inactive_file" : "total_inactive_file";
  for (const std::string& level : levels(path)) {
    const std::string dir = mount + level;
    if (!is_directory(dir)) continue;
    const auto limit = read_u64(dir + "/" + max_file);  // v2 "max" parses as nothing: no limit
    const auto used = read_u64(dir + "/" + use_file);
    // cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages).
    if (!limit || !used || (!v2 && *limit >= (std::uint64_t{1} << 62))) continue;
    const std::uint64_t inactive = stat_value(dir + "/memory.stat", inactive_key);
    const std::uint64_t in_use = *used - (inactive < *used ? inactive : *used);
    const std::uint64_t left = *limit > in_use ? *limit - in_use : 0;
    offer(best, {left, std::string(v2 ? "cgroup v2 " : "cgroup v1 ") + max_file + " " + std::to_string(*limit) +
                           " - " + use_file + " " + std::to_string(*used) + " + " + inactive_key + " " +
                           std::to_string(inactive) + " in " + (dir.empty() ? "/" : dir)});
  }
}

// /proc/self/cgroup: "0::<path>" (v2), "<id>:<controllers>:<path>" (v1).
void read_cgroups(const std::string& root, std::optional<candidate>& best) {
  const auto text = read_text(root + "/proc/self/cgroup");
  if (!text) return;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t a = line.find(':');
    const std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string id = line.substr(0, a);
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (path.empty() || path[0] != '/') continue;
    if (id == "0" && controllers.empty()) {
      read_hierarchy(root + "/sys/fs/cgroup", path, true, best);
      read_hierarchy(root + "/sys/fs/cgroup/unified", path, true, best);
      continue;
    }
    std::istringstream list(controllers);
    std::string c;
    while (std::getline(list, c, ',')) {
      if (c == "memory") read_hierarchy(root + "/sys/fs/cgroup/memory", path, false, best);
    }
  }
}

}  // namespace

host_memory_budget available_host_memory(const std::string& root) {
  std::string base = root;
  while (!base.empty() && base.back() == '/') base.pop_back();  // "/" -> "": paths "/proc/..."
  std::optional<candidate> best;
  try {
    read_meminfo(base, best);
    read_cgroups(base, best);
  } catch (...) {  // an allocation failure while reading: report what was found
  }
  host_memory_budget out;
  if (best) {
    out.known = true;
    out.bytes = best->bytes;
    out.limit = std::move(best->limit);
  }
  return out;
}

}  // namespace bionmda
