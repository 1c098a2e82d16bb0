#pragma once
// Checking every CUDA runtime call: BIONMDA_CUDA_TRY(call) throws
// bionmda::cuda_error (or out_of_memory) with file:line and the error's name.
#include <cuda_runtime_api.h>

#include <string>

#include "bionmda/error.hpp"

namespace bionmda::detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* call, const char* file,
                                          int line) {
  (void)cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  std::string msg = std::string("bionmda: CUDA error ") + cudaGetErrorName(err) + " (" +
                    cudaGetErrorString(err) + ") in " + call + " at " + file + ":" +
                    std::to_string(line);
  if (err == cudaErrorMemoryAllocation) throw out_of_memory(msg, 0, 0);
  throw cuda_error(msg);
}

}  // namespace bionmda::detail

#define BIONMDA_CUDA_TRY(call)                                                        \
  do {                                                                                \
    const cudaError_t bionmda_err_ = (call);                                          \
    if (bionmda_err_ != cudaSuccess) {                                                \
      ::bionmda::detail::throw_cuda_error(bionmda_err_, #call, __FILE__, __LINE__);   \
    }                                                                                 \
  } while (0)

/// For destructors, which must not throw: report nothing, just clear the error.
#define BIONMDA_CUDA_TRY_NOTHROW(call) \
  do {                                 \
    if ((call) != cudaSuccess) {       \
      (void)cudaGetLastError();        \
    }                                  \
  } while (0)
