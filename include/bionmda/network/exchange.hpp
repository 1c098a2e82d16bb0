#pragma once
/**
 * @file network/exchange.hpp
 * @brief Moving each window's spikes to the ranks whose synapses need them.
 *
 * Once per window every rank hands the spikes its own neurons emitted in that
 * window to start(), and later takes from finish() the spikes of that window
 * it needs, from every rank (itself included), sorted by step, then neuron.
 * start() may return before the data has moved (a non-blocking collective):
 * the caller computes meanwhile and calls finish() when the spikes are
 * needed. One exchange is in flight at a time.
 *
 * local_exchange is the one-process case. bionmda::mpi (bionmda/mpi/exchange.hpp)
 * provides the MPI exchanges: an all-gather of every spike, or a sparse
 * point-to-point exchange that sends each rank only the spikes of the neurons
 * its synapses listen to.
 */
#include <cstdint>
#include <vector>

#include "bionmda/network/partition.hpp"
#include "bionmda/network/spikes.hpp"
#include "bionmda/span.hpp"

namespace bionmda {

/** @brief What an exchange has done so far (this rank's view). */
struct exchange_stats {
  std::int64_t windows = 0;         ///< exchanges finished
  std::int64_t spikes_sent = 0;     ///< spike words this rank sent (to itself included)
  std::int64_t spikes_received = 0; ///< spike words it received (from itself included)
  std::int64_t bytes_sent = 0;      ///< payload bytes sent to other ranks, counts included
  std::int64_t bytes_received = 0;  ///< payload bytes received from other ranks, counts included
  double start_seconds = 0;         ///< time spent inside start()
  double finish_seconds = 0;        ///< time spent inside finish() (waiting for the data)
};

/** @brief The spike transport of a network (one per rank). */
class spike_exchange {
 public:
  virtual ~spike_exchange() = default;
  /**
   * @brief Hands over this rank's spikes of one window: words with steps in
   *        [0, window_steps) and neurons this rank owns, sorted ascending.
   * @throw bionmda::invalid_argument (before anything is sent) for an unsorted
   *        list, a step outside the window or a neuron this rank does not own;
   *        bionmda::error when an exchange is already in flight
   */
  virtual void start(host_span<const spike_word> local) = 0;
  /**
   * @brief Waits for the exchange begun by start() and replaces out with the
   *        window's spikes this rank needs, sorted ascending.
   * @throw bionmda::error when no exchange is in flight, or the transport fails
   */
  virtual void finish(std::vector<spike_word>& out) = 0;
  /**
   * @brief Lets an exchange in flight move while the caller computes. MPI
   *        libraries without an asynchronous progress thread move a
   *        non-blocking collective's data only inside MPI calls; a test of
   *        its request is one such call. Cheap; does nothing when no exchange
   *        is in flight. Call it between pieces of work (window_loop::progress).
   */
  virtual void progress() {}
  /** @brief Whether start() was called without its finish(). */
  [[nodiscard]] virtual bool in_flight() const noexcept = 0;
  /** @brief Counters since construction. */
  [[nodiscard]] virtual exchange_stats stats() const = 0;
};

/** @brief One process owns every neuron: finish() returns what start() was given. */
class local_exchange final : public spike_exchange {
 public:
  /**
   * @param neurons      the network's neurons, all owned here
   * @param window_steps steps per window, in [1, 2^24)
   * @throw bionmda::invalid_argument for sizes outside those ranges
   */
  local_exchange(std::int64_t neurons, std::int64_t window_steps);
  void start(host_span<const spike_word> local) override;
  void finish(std::vector<spike_word>& out) override;
  [[nodiscard]] bool in_flight() const noexcept override { return in_flight_; }
  [[nodiscard]] exchange_stats stats() const override { return stats_; }

 private:
  partition owners_;
  std::int64_t window_steps_;
  std::vector<spike_word> pending_;
  bool in_flight_ = false;
  exchange_stats stats_;
};

namespace detail {
/**
 * @brief The checks of spike_exchange::start: sorted, distinct, steps in
 *        [0, window_steps), neurons in [0, owners.neurons()) owned by rank.
 * @throw bionmda::invalid_argument naming the first bad word
 */
void check_local_spikes(host_span<const spike_word> local, std::int64_t window_steps, const partition& owners,
                        int rank);
}  // namespace detail

}  // namespace bionmda
