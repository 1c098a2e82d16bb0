// Network checkpoints over a communicator: every rank's files, then rank 0's
// manifest, each phase agreed by all ranks.
#include "bionmda/mpi/checkpoint.hpp"

#include <filesystem>
#include <string>

#include "mpi_check.hpp"

namespace bionmda::mpi {

void save_checkpoint(const communicator& comm, const std::string& dir, const network_manifest& manifest,
                     window_loop& loop, const projection& synapses, host_span<const std::uint8_t> user) {
  comm.all_or_none([&] {
    if (manifest.ranks != comm.size()) {
      throw invalid_argument("bionmda::mpi::save_checkpoint: manifest.ranks = " + std::to_string(manifest.ranks) +
                             ", the communicator has " + std::to_string(comm.size()));
    }
    if (comm.rank() == 0) {
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec && !std::filesystem::is_directory(dir)) {
        throw error("bionmda::mpi::save_checkpoint: cannot create " + dir + ": " + ec.message());
      }
      // No manifest while the rank files change: a crash leaves no "complete" checkpoint.
      std::filesystem::remove(dir + "/manifest.json", ec);
      if (ec) throw error("bionmda::mpi::save_checkpoint: cannot remove the old " + dir + "/manifest.json: " + ec.message());
    }
  });
  comm.all_or_none([&] { save_rank_checkpoint(dir, comm.rank(), manifest, loop, synapses, user); });
  comm.all_or_none([&] {
    if (comm.rank() == 0) write_network_manifest(dir, manifest);
  });
}

std::vector<std::uint8_t> restore_checkpoint(const communicator& comm, const std::string& dir,
                                             const network_manifest& run, window_loop& loop, projection& synapses,
                                             network_manifest* saved) {
  network_manifest m;
  std::vector<std::uint8_t> user;
  comm.all_or_none([&] {
    m = read_network_manifest(dir);
    network_manifest expect = run;
    expect.ranks = comm.size();
    expect.step = m.step;
    check_network_manifest(m, expect, dir + "/manifest.json");
    check_rank_checkpoint(dir, comm.rank(), m, loop, synapses);
  });
  // Every rank's files passed every check: only now does any rank change.
  comm.all_or_none([&] { user = restore_rank_checkpoint(dir, comm.rank(), m, loop, synapses); });
  if (saved != nullptr) *saved = m;
  return user;
}

}  // namespace bionmda::mpi
