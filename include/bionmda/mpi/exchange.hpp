#pragma once
/**
 * @file mpi/exchange.hpp
 * @brief The MPI spike exchanges (see bionmda/network/exchange.hpp).
 *
 * allgather_exchange: every rank receives every spike. Per window one
 * MPI_Allgather of the counts (one 64-bit word per rank), then a non-blocking
 * MPI_Iallgatherv of the spike words, finished in finish(). R - 1 copies of
 * each spike move; no setup.
 *
 * point_to_point_exchange: every rank receives only the spikes of the neurons
 * it needs (its synapses' sources). At construction the ranks tell each
 * neuron's owner who needs it (MPI_Alltoallv); per window one MPI_Alltoall of
 * the counts, then a non-blocking MPI_Ialltoallv of the spike words. Fewer
 * bytes when a rank's inputs come from a small share of the network.
 *
 * Both are collective: every rank calls start() and finish() once per window.
 * A rank whose start() refuses its spikes makes every rank's start() throw
 * (no rank is left waiting). Spike words are 8 bytes; counts are 8 bytes per
 * rank pair.
 *
 * An exchange destroyed with an exchange in flight (start() without its
 * finish(), e.g. while an exception unwinds) waits for it in its destructor:
 * MPI cannot cancel a non-blocking collective, and its buffers must outlive it.
 */
#include <cstdint>
#include <vector>

#include "bionmda/mpi/communicator.hpp"
#include "bionmda/network/exchange.hpp"
#include "bionmda/network/partition.hpp"

namespace bionmda::mpi {

/** @brief All-gather of every window's spikes. Keeps references to comm and owners. */
class allgather_exchange final : public spike_exchange {
 public:
  /**
   * @brief Collective.
   * @throw bionmda::invalid_argument on every rank when the ranks disagree on
   *        window_steps or the partition, or owners.ranks() != comm.size()
   */
  allgather_exchange(const communicator& comm, const partition& owners, std::int64_t window_steps);
  ~allgather_exchange() override;
  void start(host_span<const spike_word> local) override;
  void finish(std::vector<spike_word>& out) override;
  [[nodiscard]] bool in_flight() const noexcept override { return started_; }
  /** @brief MPI_Test on the transfer in flight: lets it move while the caller computes. */
  void progress() override;
  [[nodiscard]] exchange_stats stats() const override { return stats_; }

 private:
  const communicator* comm_;
  const partition* owners_;
  std::int64_t window_steps_;
  std::vector<int> counts_, displs_;
  std::vector<std::int64_t> count_words_;
  std::vector<spike_word> send_, recv_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool started_ = false;  // start() called, finish() not yet (request_ may be done already)
  exchange_stats stats_;
};

/** @brief Sparse exchange: each spike goes only to the ranks that need its neuron. */
class point_to_point_exchange final : public spike_exchange {
 public:
  /**
   * @brief Collective.
   * @param needed the neurons whose spikes this rank needs (any order, duplicates allowed)
   * @throw bionmda::invalid_argument on every rank as allgather_exchange, or
   *        for a needed neuron outside the network
   */
  point_to_point_exchange(const communicator& comm, const partition& owners, std::int64_t window_steps,
                          const std::vector<std::int64_t>& needed);
  ~point_to_point_exchange() override;
  void start(host_span<const spike_word> local) override;
  void finish(std::vector<spike_word>& out) override;
  [[nodiscard]] bool in_flight() const noexcept override { return started_; }
  /** @brief MPI_Test on the transfer in flight: lets it move while the caller computes. */
  void progress() override;
  [[nodiscard]] exchange_stats stats() const override { return stats_; }
  /** @brief Ranks this rank sends to in some window (others than itself). */
  [[nodiscard]] int fan_out() const noexcept { return fan_out_; }

 private:
  const communicator* comm_;
  const partition* owners_;
  std::int64_t window_steps_;
  std::vector<std::int64_t> local_;         // this rank's neurons, ascending
  std::vector<std::int64_t> dest_offsets_;  // per local neuron, its destinations in dest_
  std::vector<int> dest_;
  std::vector<int> send_counts_, send_displs_, recv_counts_, recv_displs_;
  std::vector<std::int64_t> count_words_, recv_count_words_;
  std::vector<spike_word> send_, recv_;
  std::vector<std::int64_t> fill_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool started_ = false;  // start() called, finish() not yet (request_ may be done already)
  exchange_stats stats_;
  int fan_out_ = 0;
};

}  // namespace bionmda::mpi
