#pragma once
/**
 * @file network/partition.hpp
 * @brief Which rank owns each neuron of a network.
 *
 * A rank owns its neurons' state and their incoming synapses (per-synapse or
 * per-presynaptic units), and sends the spikes they emit. A partition is the
 * same object on every rank; bionmda::mpi::gather_partition builds one from
 * every rank's own list and checks it.
 */
#include <cstdint>
#include <vector>

namespace bionmda {

/** @brief An assignment of neurons [0, n) to ranks [0, R): every neuron to exactly one rank. */
class partition {
 public:
  /** @brief Contiguous blocks: rank r owns [r*n/R, (r+1)*n/R) (sizes differ by at most one). */
  [[nodiscard]] static partition block(std::int64_t neurons, int ranks);
  /** @brief Round robin: rank r owns the neurons j with j % R == r. */
  [[nodiscard]] static partition round_robin(std::int64_t neurons, int ranks);
  /**
   * @brief The caller's own assignment: lists[r] holds rank r's neurons, in any order.
   * @throw bionmda::invalid_argument naming the first neuron that no rank owns,
   *        or one that two ranks (or one rank twice) own, with the ranks, or one
   *        outside [0, neurons); for neurons outside [0, 2^40) or no rank
   */
  [[nodiscard]] static partition from_lists(std::int64_t neurons, const std::vector<std::vector<std::int64_t>>& lists);

  /** @brief Neurons of the network. */
  [[nodiscard]] std::int64_t neurons() const noexcept { return neurons_; }
  /** @brief Ranks R. */
  [[nodiscard]] int ranks() const noexcept { return ranks_; }
  /** @brief The rank that owns neuron (in [0, neurons())). */
  [[nodiscard]] int owner(std::int64_t neuron) const;
  /** @brief Rank r's neurons, ascending: its local neuron i is local(r)[i]. */
  [[nodiscard]] std::vector<std::int64_t> local(int rank) const;
  /** @brief A 64-bit digest of the assignment (equal partitions, equal digests). */
  [[nodiscard]] std::uint64_t digest() const;
  /** @brief "block", "round-robin" or "lists". */
  [[nodiscard]] const char* kind() const noexcept;

 private:
  enum class layout { block, round_robin, lists };
  // block: rank r's first neuron, r * n / R (no 64-bit overflow for any n < 2^40, R < 2^31).
  [[nodiscard]] std::int64_t block_start(std::int64_t r) const noexcept;
  partition(std::int64_t neurons, int ranks, layout l) : neurons_(neurons), ranks_(ranks), layout_(l) {}
  std::int64_t neurons_ = 0;
  int ranks_ = 1;
  layout layout_ = layout::block;
  std::vector<std::int32_t> owner_;  // lists only: owner of every neuron (4 bytes a neuron)
};

}  // namespace bionmda
