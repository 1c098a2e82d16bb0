#pragma once
// The CPU backend's threads. A step's work is split into items (tiles of
// elements, blocks of rows); the calling thread and up to threads-1 helper
// threads claim items one at a time from a shared counter. The caller never
// waits for a helper that has not started: a helper that is descheduled (the
// machine is busy with the simulator's own threads) finds no items left when
// it wakes, and the caller has done them itself. It waits only for items a
// helper has already claimed. (An OpenMP team instead joins at a barrier that
// every thread must reach: on a loaded machine a small step then waits a
// scheduler time slice for a descheduled thread, 12 ms instead of 60 us.)
//
// Results never depend on which thread runs an item.
#include <cstdint>
#include <utility>

namespace bionmda::detail {

/// How a CPU step runs: threads taking part (1 = the calling thread alone).
struct cpu_exec {
  int threads = 1;
};

/// Runs fn(ctx, i) for every i in [0, count) on the caller and up to threads-1
/// helpers. When another thread is already running a job, the caller runs
/// this one alone. fn must not throw.
void cpu_team_run(std::int64_t count, int threads, void (*fn)(void* ctx, std::int64_t item), void* ctx);

/// Threads OpenMP would use by default (OMP_NUM_THREADS, else the cores).
[[nodiscard]] int cpu_default_threads() noexcept;

/// f(i) for i in [0, count), spread as cpu_team_run says.
template <class F>
void parallel_for(const cpu_exec& exec, std::int64_t count, F&& f) {
  if (exec.threads <= 1 || count <= 1) {
    for (std::int64_t i = 0; i < count; ++i) f(i);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  cpu_team_run(
      count, exec.threads, [](void* c, std::int64_t i) { (*static_cast<Fn*>(c))(i); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace bionmda::detail
