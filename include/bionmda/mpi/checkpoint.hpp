#pragma once
/**
 * @file mpi/checkpoint.hpp
 * @brief Network checkpoints over a communicator (format: bionmda/network/checkpoint.hpp).
 */
#include <cstdint>
#include <string>
#include <vector>

#include "bionmda/mpi/communicator.hpp"
#include "bionmda/network/checkpoint.hpp"

namespace bionmda::mpi {

/**
 * @brief Collective: rank 0 creates dir and removes an old manifest; every
 *        rank writes its files; when all succeeded, rank 0 writes the manifest.
 *        manifest.ranks must equal comm.size().
 * @throw bionmda::error on every rank when any rank failed (the directory then
 *        has no manifest: no complete checkpoint)
 */
void save_checkpoint(const communicator& comm, const std::string& dir, const network_manifest& manifest,
                     window_loop& loop, const projection& synapses, host_span<const std::uint8_t> user);

/**
 * @brief Collective: every rank reads dir's manifest, checks it against `run`
 *        (its step is ignored: the saved step is taken) and restores its own
 *        files. Returns the caller's bytes; *saved (if given) gets the manifest.
 * @throw bionmda::error or bionmda::invalid_argument on every rank when any
 *        rank failed, naming the file and what does not match. Every rank
 *        checks its files whole (check_rank_checkpoint) and the ranks agree
 *        before any rank changes its state: a bad file on one rank leaves
 *        every rank as it was.
 */
[[nodiscard]] std::vector<std::uint8_t> restore_checkpoint(const communicator& comm, const std::string& dir,
                                                           const network_manifest& run, window_loop& loop,
                                                           projection& synapses, network_manifest* saved = nullptr);

}  // namespace bionmda::mpi
