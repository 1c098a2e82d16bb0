#pragma once
/**
 * @file mpi/communicator.hpp
 * @brief bionmda's handle on an MPI communicator, and the collective checks
 *        that make every rank raise the same error instead of one rank
 *        raising while the others wait for it.
 *
 * The communicator is injectable: a host simulator hands in its own MPI_Comm
 * and bionmda works on a duplicate of it (MPI_Comm_dup), so its messages never
 * match the host's. MPI must be initialised by the caller (MPI_Init or
 * MPI_Init_thread, any thread level: bionmda calls MPI from one thread).
 */
#include <mpi.h>

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "bionmda/error.hpp"
#include "bionmda/network/partition.hpp"

namespace bionmda::mpi {

/** @brief A duplicate of the caller's communicator, with its rank, size and node-local rank. Move-only. */
class communicator {
 public:
  /**
   * @brief Duplicates comm (collective over comm).
   * @throw bionmda::error when MPI is not initialised or the duplicate fails
   */
  explicit communicator(MPI_Comm comm = MPI_COMM_WORLD);
  ~communicator();
  communicator(communicator&& other) noexcept;
  communicator& operator=(communicator&& other) noexcept;
  communicator(const communicator&) = delete;
  communicator& operator=(const communicator&) = delete;

  /** @brief bionmda's duplicate (use it for bionmda's collectives only). */
  [[nodiscard]] MPI_Comm get() const noexcept { return comm_; }
  /** @brief This rank. */
  [[nodiscard]] int rank() const noexcept { return rank_; }
  /** @brief Ranks R. */
  [[nodiscard]] int size() const noexcept { return size_; }
  /** @brief This rank's index among the ranks of its node (shared memory). */
  [[nodiscard]] int node_rank() const noexcept { return node_rank_; }
  /** @brief Ranks on this rank's node. */
  [[nodiscard]] int node_size() const noexcept { return node_size_; }

  /**
   * @brief Collective: every rank must pass the same value.
   * @throw bionmda::invalid_argument on every rank, naming `what`, the first
   *        rank whose value differs from rank 0's, and both values
   */
  void check_same(const char* what, std::int64_t value) const;
  /** @brief As check_same for a 64-bit digest (printed in hex). */
  void check_same_digest(const char* what, std::uint64_t value) const;

  /**
   * @brief Collective: after each rank has run its part, the ranks agree on
   *        success. error is null on a rank that succeeded. When any rank
   *        failed, every rank throws: the lowest failing rank rethrows its own
   *        exception, the others throw the same type (bionmda::invalid_argument
   *        or bionmda::error) with "rank r: " and r's message.
   */
  void agree(const std::exception_ptr& error) const;

  /** @brief Runs f() on every rank, then agree() on its outcome. */
  template <class F>
  void all_or_none(F&& f) const {
    std::exception_ptr e;
    try {
      f();
    } catch (...) {
      e = std::current_exception();
    }
    agree(e);
  }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, node_rank_ = 0, node_size_ = 1;
};

/**
 * @brief The CUDA device this rank should use: node_rank() modulo the devices
 *        this process sees, or -1 when it sees none (use the CPU backend).
 *        Ranks on one node spread over its GPUs, one GPU per rank when there
 *        are as many GPUs as ranks.
 */
[[nodiscard]] int device_for_rank(const communicator& comm);

/**
 * @brief Collective: the partition in which every rank owns the neurons it
 *        lists (any order). Every rank gets the same partition, or every rank
 *        throws.
 * @throw bionmda::invalid_argument on every rank when ranks disagree on
 *        neurons, or a neuron is owned by no rank or twice (named, with its ranks)
 */
[[nodiscard]] partition gather_partition(const communicator& comm, std::int64_t neurons,
                                         const std::vector<std::int64_t>& local);

}  // namespace bionmda::mpi
