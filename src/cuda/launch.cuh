#pragma once
// The one helper through which every kernel is launched: returns early for no
// work, sizes a grid-stride grid, launches on the given stream, checks the
// launch, and synchronises only in debug builds (BIONMDA_DEBUG_SYNC).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda_check.hpp"

namespace bionmda::detail {

struct launch_shape {
  int multiprocessors = 1;
  int blocks_per_sm = 8;  // with 256 threads: 2048 resident threads per SM
};

template <class... KernelArgs, class... Args>
void launch_1d(void (*kernel)(KernelArgs...), std::int64_t work_items, int block_size,
               const launch_shape& shape, cudaStream_t stream, Args&&... args) {
  if (work_items <= 0) return;
  const std::int64_t needed = (work_items + block_size - 1) / block_size;
  const std::int64_t cap = static_cast<std::int64_t>(shape.multiprocessors) * shape.blocks_per_sm;
  const auto grid = static_cast<unsigned>(std::max<std::int64_t>(1, std::min(needed, cap)));
  kernel<<<grid, static_cast<unsigned>(block_size), 0, stream>>>(std::forward<Args>(args)...);
  BIONMDA_CUDA_TRY(cudaPeekAtLastError());
#ifdef BIONMDA_DEBUG_SYNC
  BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
#endif
}

}  // namespace bionmda::detail
