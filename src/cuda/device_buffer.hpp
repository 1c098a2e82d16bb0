#pragma once
// A move-only owner of uninitialised device memory.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "cuda_check.hpp"

namespace bionmda::detail {

template <class Element>
class device_buffer {
  static_assert(std::is_trivially_copyable_v<Element>);

 public:
  device_buffer() = default;
  /// Allocates count elements; throws out_of_memory naming the bytes requested and free.
  explicit device_buffer(std::int64_t count, const char* what) : size_(count) {
    if (count == 0) return;
    const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(Element);
    const cudaError_t err = cudaMalloc(reinterpret_cast<void**>(&data_), bytes);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      std::size_t free_bytes = 0;
      std::size_t total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        free_bytes = 0;
      }
      data_ = nullptr;
      throw out_of_memory("bionmda: out of device memory allocating " + std::string(what) +
                              ": requested " + std::to_string(bytes) + " bytes, " +
                              std::to_string(free_bytes) + " bytes free of " +
                              std::to_string(total_bytes),
                          bytes, free_bytes);
    }
    if (err != cudaSuccess) {
      data_ = nullptr;
      throw_cuda_error(err, "cudaMalloc", __FILE__, __LINE__);
    }
  }
  /// A view of device memory the caller owns: never freed here.
  static device_buffer borrow(Element* data, std::int64_t count) noexcept {
    device_buffer b;
    b.data_ = data;
    b.size_ = count;
    b.owned_ = false;
    return b;
  }
  ~device_buffer() {
    if (owned_ && data_ != nullptr) BIONMDA_CUDA_TRY_NOTHROW(cudaFree(data_));
  }
  device_buffer(device_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), owned_(std::exchange(o.owned_, true)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(owned_, o.owned_);
    return *this;
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;

  [[nodiscard]] Element* data() noexcept { return data_; }
  [[nodiscard]] const Element* data() const noexcept { return data_; }
  [[nodiscard]] std::int64_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t bytes() const noexcept {
    return static_cast<std::size_t>(size_) * sizeof(Element);
  }

 private:
  Element* data_ = nullptr;
  std::int64_t size_ = 0;
  bool owned_ = true;
};

static_assert(std::is_nothrow_move_constructible_v<device_buffer<float>>);

}  // namespace bionmda::detail
