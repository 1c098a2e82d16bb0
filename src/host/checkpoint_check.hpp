#pragma once
// The checks of bionmda::restore_checkpoint alone, for callers that restore
// more than one object and must refuse before changing any of them (network
// checkpoints, checkpoints over MPI ranks).
#include <string>

#include "bionmda/population.hpp"

namespace bionmda::detail {

/// Everything restore_checkpoint(pop, path) checks (the file, its checksum,
/// its fit to pop, every value), without changing pop; throws what it throws.
void check_restore_checkpoint(const population& pop, const std::string& path);

}  // namespace bionmda::detail
