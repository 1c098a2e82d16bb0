#pragma once
// The one helper through which every kernel is launched: returns early for no
// work, sizes the grid to one full wave of resident blocks (the kernels loop
// grid-stride, so every block gets an equal share and no partial second wave
// idles the machine), launches on the given stream, checks the launch, and
// synchronises only in debug builds (BIONMDA_DEBUG_SYNC).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda_check.hpp"

namespace bionmda::detail {

/// Resident blocks per SM of Kernel at block_size threads, queried once.
template <auto Kernel, int BlockSize>
int resident_blocks_per_sm() {
  static const int blocks = [] {
    int n = 0;
    BIONMDA_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, Kernel, BlockSize, 0));
    return std::max(n, 1);
  }();
  return blocks;
}

/**
 * @brief Launches Kernel over work_items grid-stride items on stream.
 * @param multiprocessors SM count of the current device
 */
template <auto Kernel, int BlockSize, class... Args>
void launch_1d(std::int64_t work_items, int multiprocessors, cudaStream_t stream, Args&&... args) {
  if (work_items <= 0) return;
  const std::int64_t needed = (work_items + BlockSize - 1) / BlockSize;
  const std::int64_t wave =
      static_cast<std::int64_t>(multiprocessors) * resident_blocks_per_sm<Kernel, BlockSize>();
  const auto grid = static_cast<unsigned>(std::max<std::int64_t>(1, std::min(needed, wave)));
  Kernel<<<grid, BlockSize, 0, stream>>>(std::forward<Args>(args)...);
  BIONMDA_CUDA_TRY(cudaPeekAtLastError());
#ifdef BIONMDA_DEBUG_SYNC
  BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
#endif
}

}  // namespace bionmda::detail
