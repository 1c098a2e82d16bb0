// Device memory for bionmda::buffer: allocation with a clear out-of-memory
// error, frees that never throw, and copies to, from and within the device.
#include <cuda_runtime_api.h>

#include <string>

#include "cuda_check.hpp"
#include "cuda_entry.hpp"
#include "device_scope.hpp"

namespace bionmda::detail {

void* cuda_allocate(std::size_t bytes, int device, const char* what) {
  const device_scope scope(device);
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
      (void)cudaGetLastError();
      free_bytes = 0;
    }
    throw out_of_memory("bionmda: out of device memory allocating " + std::string(what) + ": requested " +
                            std::to_string(bytes) + " bytes, " + std::to_string(free_bytes) + " bytes free of " +
                            std::to_string(total_bytes),
                        bytes, free_bytes);
  }
  if (err != cudaSuccess) throw_cuda_error(err, "cudaMalloc", __FILE__, __LINE__);
  return p;
}

void cuda_free(void* p, int) noexcept {
  // cudaFree needs no particular current device (unified addressing).
  BIONMDA_CUDA_TRY_NOTHROW(cudaFree(p));
}

void* cuda_host_allocate(std::size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t err = cudaHostAlloc(&p, bytes, cudaHostAllocDefault);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    throw out_of_memory("bionmda: out of page-locked host memory allocating " + std::string(what) + ": requested " +
                            std::to_string(bytes) + " bytes",
                        bytes, 0);
  }
  if (err != cudaSuccess) throw_cuda_error(err, "cudaHostAlloc", __FILE__, __LINE__);
  return p;
}

void cuda_host_free(void* p) noexcept { BIONMDA_CUDA_TRY_NOTHROW(cudaFreeHost(p)); }

void cuda_copy(void* dst, memory_space dst_space, const void* src, memory_space src_space, std::size_t bytes,
               cudaStream_t stream) {
  const cudaMemcpyKind kind = dst_space == memory_space::device
                                  ? (src_space == memory_space::device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                  : cudaMemcpyDeviceToHost;
  BIONMDA_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, kind, stream));
  BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
}

}  // namespace bionmda::detail
