#pragma once
/**
 * @file network/checkpoint.hpp
 * @brief Checkpoints of a network run over R ranks: one set of files per
 *        rank plus a manifest, restored at the same R.
 *
 * A checkpoint is a directory:
 *
 *     manifest.json          ranks, step, neurons, delay and window steps,
 *                            partition digest, and the files below
 *     rank-<r>.units         the rank's BioNMDA units (bionmda::save_checkpoint)
 *     rank-<r>.state         the window schedule's undelivered spikes, the
 *                            caller's own state (e.g. its neurons), checksum
 *
 * Every file is written atomically (temporary file, flush, rename) and the
 * manifest last, so a directory with a manifest holds a whole checkpoint.
 * bionmda::mpi::save_checkpoint / restore_checkpoint run this over a
 * communicator (all ranks succeed, or all raise); the functions here are the
 * per-rank parts and the one-process case.
 */
#include <cstdint>
#include <string>
#include <vector>

#include "bionmda/network/partition.hpp"
#include "bionmda/network/projection.hpp"
#include "bionmda/network/window_loop.hpp"
#include "bionmda/span.hpp"

namespace bionmda {

/** @brief What a network checkpoint's manifest says. */
struct network_manifest {
  int ranks = 1;                       ///< R
  std::int64_t step = 0;               ///< steps done when saved
  std::int64_t neurons = 0;            ///< network size
  std::int64_t delay_steps = 0;        ///< D
  std::int64_t window_steps = 0;       ///< K
  std::uint64_t partition_digest = 0;  ///< partition::digest()
};

/**
 * @brief Writes rank `rank`'s files into dir (which must exist): its units and
 *        its schedule state (drained first) with `user` bytes. Not the manifest.
 * @throw bionmda::error naming the file when it cannot be written (nothing replaced)
 */
void save_rank_checkpoint(const std::string& dir, int rank, const network_manifest& manifest, window_loop& loop,
                          const projection& synapses, host_span<const std::uint8_t> user);

/**
 * @brief Restores rank `rank` from dir: checks its files against the manifest
 *        and this run (sizes, precision, parameters, D, K, digest) and the
 *        loop (no window open, no exchange in flight) before changing
 *        anything, then replaces the units' and the schedule's state.
 * @return the caller's bytes saved with it
 * @throw bionmda::error naming the file for a missing, truncated or corrupted file;
 *        bionmda::invalid_argument naming what does not match
 */
[[nodiscard]] std::vector<std::uint8_t> restore_rank_checkpoint(const std::string& dir, int rank,
                                                                const network_manifest& manifest, window_loop& loop,
                                                                projection& synapses);

/**
 * @brief Every check of restore_rank_checkpoint (rank `rank`'s files, whole,
 *        against the manifest, the loop and the units), changing nothing. A
 *        caller restoring several ranks runs this on all of them first, so
 *        that a bad file on one rank leaves every rank as it was.
 * @throw as restore_rank_checkpoint
 */
void check_rank_checkpoint(const std::string& dir, int rank, const network_manifest& manifest, const window_loop& loop,
                           const projection& synapses);

/** @brief Writes dir/manifest.json atomically. */
void write_network_manifest(const std::string& dir, const network_manifest& manifest);
/**
 * @brief Reads dir/manifest.json.
 * @throw bionmda::error naming the file when it is missing or malformed
 */
[[nodiscard]] network_manifest read_network_manifest(const std::string& dir);
/**
 * @brief Checks a manifest against this run, naming the first field that differs.
 * @throw bionmda::invalid_argument
 */
void check_network_manifest(const network_manifest& saved, const network_manifest& run, const std::string& dir);

}  // namespace bionmda
