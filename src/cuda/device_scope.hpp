#pragma once
// Makes a device current for the scope of a call and restores the caller's
// device on every exit, exceptions included.
#include <cuda_runtime_api.h>

#include "cuda_check.hpp"

namespace bionmda::detail {

class device_scope {
 public:
  explicit device_scope(int device) {
    BIONMDA_CUDA_TRY(cudaGetDevice(&previous_));
    if (previous_ != device) BIONMDA_CUDA_TRY(cudaSetDevice(device));
    changed_ = previous_ != device;
  }
  ~device_scope() {
    if (changed_) BIONMDA_CUDA_TRY_NOTHROW(cudaSetDevice(previous_));
  }
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

}  // namespace bionmda::detail
