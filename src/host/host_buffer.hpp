#pragma once
// A move-only, 64-byte aligned, uninitialised host array.
#include <cstdint>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

#include "bionmda/detail/error_macros.hpp"

namespace bionmda::detail {

template <class Element>
class host_buffer {
  static_assert(std::is_trivially_copyable_v<Element>);

 public:
  host_buffer() = default;
  explicit host_buffer(std::int64_t count) : size_(count) {
    if (count == 0) return;
    const std::size_t bytes = round_up(static_cast<std::size_t>(count) * sizeof(Element));
    data_ = static_cast<Element*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) {
      throw out_of_memory("bionmda: host allocation of " + std::to_string(bytes) +
                              " bytes failed",
                          bytes, 0);
    }
  }
  /// A view of memory the caller owns: never freed here.
  static host_buffer borrow(Element* data, std::int64_t count) noexcept {
    host_buffer b;
    b.data_ = data;
    b.size_ = count;
    b.owned_ = false;
    return b;
  }
  ~host_buffer() {
    if (owned_) std::free(data_);
  }
  host_buffer(host_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), owned_(std::exchange(o.owned_, true)) {}
  host_buffer& operator=(host_buffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(owned_, o.owned_);
    return *this;
  }
  host_buffer(const host_buffer&) = delete;
  host_buffer& operator=(const host_buffer&) = delete;

  [[nodiscard]] Element* data() noexcept { return data_; }
  [[nodiscard]] const Element* data() const noexcept { return data_; }
  [[nodiscard]] std::int64_t size() const noexcept { return size_; }

 private:
  static std::size_t round_up(std::size_t b) { return (b + 63) / 64 * 64; }
  Element* data_ = nullptr;
  std::int64_t size_ = 0;
  bool owned_ = true;
};

static_assert(std::is_nothrow_move_constructible_v<host_buffer<float>>);

}  // namespace bionmda::detail
