// The CPU backend's team of threads (see cpu_team.hpp).
#include "cpu_team.hpp"

#include <omp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace bionmda::detail {
namespace {

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// How long an idle helper spins for the next job before it sleeps: long
// enough to bridge the gap between back-to-back steps, short enough not to
// take a core from the simulator between bursts.
constexpr auto spin_time = std::chrono::microseconds(50);

class team {
 public:
  ~team() {
    {
      const std::lock_guard<std::mutex> lock(sleep_mutex_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (auto& t : helpers_) t.join();
  }

  void run(std::int64_t count, int threads, void (*fn)(void*, std::int64_t), void* ctx) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another thread's job is running: do this one alone
      for (std::int64_t i = 0; i < count; ++i) fn(ctx, i);
      return;
    }
    ensure_helpers(threads - 1);
    // Publish the job: fields first, then its generation, then wake helpers.
    fn_ = fn;
    ctx_ = ctx;
    count_ = count;
    helpers_allowed_ = threads - 1;
    next_.store(0, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const std::uint64_t gen = generation_.load(std::memory_order_relaxed) + 1;
    job_gen_.store(gen, std::memory_order_relaxed);
    open_.store(true, std::memory_order_release);
    generation_.store(gen, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      const std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    // The caller works too, and finishes whatever no helper took.
    std::int64_t mine = 0;
    for (std::int64_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < count;) {
      fn(ctx, i);
      ++mine;
    }
    done_.fetch_add(mine, std::memory_order_acq_rel);
    // Close the job; wait only for items helpers have claimed, and for
    // helpers still looking at it (a few instructions).
    open_.store(false, std::memory_order_seq_cst);
    for (int polls = 0;
         done_.load(std::memory_order_acquire) < count || users_.load(std::memory_order_seq_cst) > 0; ++polls) {
      // A claimed item whose helper lost its core: give the core back.
      if (polls < 4096) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }

 private:
  void ensure_helpers(int wanted) {
    while (static_cast<int>(helpers_.size()) < wanted) {
      const int index = static_cast<int>(helpers_.size());
      helpers_.emplace_back([this, index] { helper_loop(index); });
    }
  }

  void helper_loop(int index) {
    std::uint64_t seen = generation_.load(std::memory_order_acquire);
    while (true) {
      const auto spin_end = std::chrono::steady_clock::now() + spin_time;
      int polls = 0;
      while (generation_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_relaxed)) {
        cpu_relax();
        if (++polls % 64 == 0 && std::chrono::steady_clock::now() > spin_end) break;
      }
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        wake_.wait(lock, [&] { return stop_.load() || generation_.load(std::memory_order_seq_cst) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      }
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      work(index, seen);
    }
  }

  // Joins job gen if it is still open and this helper is among those allowed.
  void work(int index, std::uint64_t gen) {
    users_.fetch_add(1, std::memory_order_seq_cst);
    if (open_.load(std::memory_order_seq_cst) && job_gen_.load(std::memory_order_acquire) == gen &&
        index < helpers_allowed_) {
      std::int64_t mine = 0;
      for (std::int64_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < count_;) {
        fn_(ctx_, i);
        ++mine;
      }
      done_.fetch_add(mine, std::memory_order_acq_rel);
    }
    users_.fetch_sub(1, std::memory_order_seq_cst);
  }

  std::mutex run_mutex_;
  std::vector<std::thread> helpers_;
  // The current job (written by the caller before generation_ is published).
  void (*fn_)(void*, std::int64_t) = nullptr;
  void* ctx_ = nullptr;
  std::int64_t count_ = 0;
  int helpers_allowed_ = 0;
  std::atomic<std::int64_t> next_{0};
  std::atomic<std::int64_t> done_{0};
  std::atomic<std::uint64_t> job_gen_{0};
  std::atomic<bool> open_{false};
  std::atomic<int> users_{0};
  // Publication and sleeping.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
};

team& shared_team() {
  static team t;
  return t;
}

}  // namespace

void cpu_team_run(std::int64_t count, int threads, void (*fn)(void*, std::int64_t), void* ctx) {
  shared_team().run(count, threads, fn, ctx);
}

int cpu_default_threads() noexcept { return omp_get_max_threads(); }

}  // namespace bionmda::detail
