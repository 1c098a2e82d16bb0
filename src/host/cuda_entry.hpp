#pragma once
// What the backend-neutral core calls in the CUDA backend: memory and copies.
// Defined in src/cuda/device_memory.cpp, or by cuda_none.cpp in a build
// without CUDA (where they throw backend_unavailable).
#include <cstddef>

#include "bionmda/state_view.hpp"
#include "bionmda/stream.hpp"

namespace bionmda::detail {

[[nodiscard]] void* cuda_allocate(std::size_t bytes, int device, const char* what);
void cuda_free(void* p, int device) noexcept;
/// Copies bytes where at least one side is device memory; waits for the copy.
/// Page-locked host memory (fast, asynchronous copies to and from the device);
/// throws bionmda::out_of_memory naming what.
[[nodiscard]] void* cuda_host_allocate(std::size_t bytes, const char* what);
void cuda_host_free(void* p) noexcept;
void cuda_copy(void* dst, memory_space dst_space, const void* src, memory_space src_space, std::size_t bytes,
               cudaStream_t stream);

}  // namespace bionmda::detail
