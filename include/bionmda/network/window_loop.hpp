#pragma once
/**
 * @file network/window_loop.hpp
 * @brief The schedule of a network that exchanges spikes once per window:
 *        which spikes reach each window, and when each exchange must be done.
 *
 * Every spike reaches its targets delay_steps = D steps after it is emitted
 * (D: the network's minimum delay in steps). Windows are K steps long and K
 * divides D, D = m*K: the spikes emitted in window w reach window w + m, at
 * the same step within the window. Per window:
 *
 *     const auto& in = loop.begin_window(K);   // spikes arriving in this window
 *     ... synapses (projection::step_window(K, in, g_post)) and neurons ...
 *     loop.end_window(my_spikes);              // this rank's spikes of the window
 *
 * With m = 1 (K = D) begin_window waits for the previous window's exchange.
 * With m >= 2 (e.g. K = D/2, Arbor's double buffering) the exchange of window
 * w is finished only in end_window(w + 1): it moves while window w + 1
 * computes. A window shorter than K may only be the last one.
 */
#include <cstdint>
#include <vector>

#include "bionmda/network/exchange.hpp"
#include "bionmda/network/spikes.hpp"
#include "bionmda/span.hpp"

namespace bionmda {

/** @brief The delay and the window length, in steps of dt. */
struct window_loop_config {
  std::int64_t delay_steps = 1;   ///< D >= 1: every spike arrives D steps after it is emitted
  std::int64_t window_steps = 0;  ///< K, dividing D (0: K = D)
};

/** @brief One rank's window schedule over a spike_exchange (not owned; it must outlive the loop). */
class window_loop {
 public:
  /**
   * @throw bionmda::invalid_argument for D < 1, D >= 2^24, or K that does not divide D
   */
  window_loop(spike_exchange& exchange, window_loop_config config);

  /** @brief D. */
  [[nodiscard]] std::int64_t delay_steps() const noexcept { return delay_; }
  /** @brief K. */
  [[nodiscard]] std::int64_t window_steps() const noexcept { return window_; }
  /** @brief The first step of the next window (steps done so far). */
  [[nodiscard]] std::int64_t step() const noexcept { return step_; }
  /** @brief Whether the exchanges of a window move while the next one computes (D >= 2K). */
  [[nodiscard]] bool overlapped() const noexcept { return delay_ / window_ >= 2; }

  /**
   * @brief Opens the next window of `steps` steps (1..K) and returns the
   *        spikes that arrive in it (steps relative to the window, sorted;
   *        valid until end_window).
   * @throw bionmda::invalid_argument for steps outside [1, K], or after a short window
   * @throw bionmda::error when a window is already open, or the exchange fails
   */
  const std::vector<spike_word>& begin_window(std::int64_t steps);
  /**
   * @brief Closes the open window with this rank's spikes of it (steps < the
   *        window's steps, sorted, neurons it owns) and starts their exchange.
   * @throw bionmda::invalid_argument for a bad spike list (window still open)
   * @throw bionmda::error when no window is open, or the exchange fails
   */
  void end_window(host_span<const spike_word> local);
  /**
   * @brief Lets the exchange in flight move (spike_exchange::progress). With
   *        overlapped windows, call it between pieces of the window's work
   *        (e.g. after each step of the neurons).
   */
  void progress() {
    if (pending_) exchange_->progress();
  }
  /** @brief Finishes an exchange in flight (e.g. before saving the state). */
  void drain();

  /** @brief Everything a restart needs: step, and the exchanged windows not yet delivered. */
  struct state {
    std::int64_t step = 0;                       ///< first step of the next window
    std::int64_t delay_steps = 0;                ///< D
    std::int64_t window_steps = 0;               ///< K
    bool closed = false;                         ///< a short (final) window was run
    std::vector<std::vector<spike_word>> slots;  ///< m slots: slot (w % m) holds window w's spikes until window w + m
  };
  /** @brief The state after drain() (drains first); throws bionmda::error while a window is open. */
  [[nodiscard]] state save();
  /**
   * @brief Replaces the schedule's state (no window open, no exchange in flight).
   *        Every check of check_restore() runs first: a refused state changes nothing.
   * @throw bionmda::invalid_argument when D, K or the slots do not match this loop
   * @throw bionmda::error when a window is open or an exchange is in flight
   */
  void restore(const state& s);
  /**
   * @brief The checks of restore(s), changing nothing: whether restore(s)
   *        would succeed now (a caller restoring more than the loop checks
   *        everything before it changes anything).
   * @throw as restore()
   */
  void check_restore(const state& s) const;

 private:
  spike_exchange* exchange_;
  std::int64_t delay_, window_, m_;
  std::int64_t step_ = 0;
  std::int64_t open_steps_ = 0;  // steps of the open window (0: none)
  bool closed_ = false;
  bool pending_ = false;         // an exchange is in flight for window (step_/K - 1)
  std::vector<std::vector<spike_word>> slots_;
};

}  // namespace bionmda
