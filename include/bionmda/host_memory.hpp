#pragma once
/**
 * @file host_memory.hpp
 * @brief How much more host memory this process can get.
 *
 * The CPU backend refuses a state larger than this before allocating it (with
 * memory overcommit an allocation succeeds and the process is killed later,
 * when the pages are first touched); a caller that allocates on top of a
 * population (output buffers, staging) can account for its own needs the
 * same way.
 */
#include <cstdint>
#include <string>

namespace bionmda {

/** @brief The host memory this process can still get, and what sets it. */
struct host_memory_budget {
  std::uint64_t bytes = 0;  ///< bytes this process can still allocate and touch (0 when unknown)
  bool known = false;       ///< false when no source could be read: nothing is known
  std::string limit;        ///< what sets bytes, with its numbers and file, for messages
};

/**
 * @brief The smaller of the kernel's estimate of available memory
 *        (MemAvailable in /proc/meminfo) and, when this process is in a cgroup
 *        with a memory limit, that limit minus the cgroup's usage, over the
 *        process's cgroup and its ancestors.
 *
 * cgroup v2: memory.max - (memory.current - inactive_file of memory.stat),
 * under /sys/fs/cgroup or /sys/fs/cgroup/unified. cgroup v1: memory.limit_in_bytes
 * - (memory.usage_in_bytes - total_inactive_file), under /sys/fs/cgroup/memory.
 * Inactive file pages are page cache the kernel reclaims first, so they do not
 * count as used. The cgroup path is read from /proc/self/cgroup; when it does
 * not exist under the mount (a container without a cgroup namespace), the
 * mount's root is the container's cgroup and is read instead.
 *
 * Reads files only; never throws. Sources that cannot be read or parsed are
 * skipped; with none, known is false.
 *
 * @param root the file system root to read from: "/" normally, or a directory
 *             holding proc/meminfo, proc/self/cgroup and sys/fs/cgroup/... (tests)
 */
[[nodiscard]] host_memory_budget available_host_memory(const std::string& root = "/");

}  // namespace bionmda
