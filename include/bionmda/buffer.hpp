#pragma once
/**
 * @file buffer.hpp
 * @brief bionmda::buffer<T>: a move-only owner of uninitialised memory in host
 *        or CUDA device memory, the one owner class the library uses.
 *
 * Host memory is 64-byte aligned; device memory comes from cudaMalloc on the
 * buffer's device (at least 256-byte aligned). population::make_buffer
 * allocates where a population's state lives.
 */
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "bionmda/span.hpp"
#include "bionmda/state_view.hpp"
#include "bionmda/stream.hpp"

namespace bionmda {

namespace detail {
/// Allocates bytes in space (on device, for device memory); throws
/// bionmda::out_of_memory naming what, the bytes requested and free.
[[nodiscard]] void* allocate_bytes(std::size_t bytes, memory_space space, int device, const char* what);
/// Frees memory from allocate_bytes; never throws.
void deallocate_bytes(void* p, memory_space space, int device) noexcept;
/// Copies bytes between any two spaces and waits for the copy (stream-ordered on the GPU).
void copy_bytes(void* dst, memory_space dst_space, const void* src, memory_space src_space,
                std::size_t bytes, cudaStream_t stream);
}  // namespace detail

/**
 * @brief count elements of Element in host or device memory.
 * @tparam Element a trivially copyable type
 */
template <class Element>
class buffer {
  static_assert(std::is_trivially_copyable_v<Element>, "buffer holds trivially copyable elements");

 public:
  /** @brief An empty host buffer. */
  buffer() = default;
  /**
   * @brief Allocates count elements (uninitialised) in space.
   * @param device CUDA device ordinal (device memory only)
   * @param what   named in the out-of-memory message
   * @throw bionmda::invalid_argument for count < 0 or a byte count that overflows
   * @throw bionmda::out_of_memory naming the bytes requested and free
   * @throw bionmda::backend_unavailable for device memory in a build without CUDA
   */
  buffer(std::int64_t count, memory_space space, int device = 0, const char* what = "buffer")
      : size_(count), space_(space), device_(device) {
    data_ = static_cast<Element*>(detail::allocate_bytes(checked_bytes(count), space, device, what));
  }
  /**
   * @brief A view of memory the caller owns, never freed here (used for
   *        populations over caller-owned state).
   */
  [[nodiscard]] static buffer borrow(Element* data, std::int64_t count, memory_space space) noexcept {
    buffer b;
    b.data_ = data;
    b.size_ = count;
    b.space_ = space;
    b.owned_ = false;
    return b;
  }
  ~buffer() {
    if (owned_ && data_ != nullptr) detail::deallocate_bytes(data_, space_, device_);
  }
  buffer(buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        space_(o.space_),
        device_(o.device_),
        owned_(std::exchange(o.owned_, true)) {}
  buffer& operator=(buffer&& o) noexcept {
    buffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;

  /** @brief First element (nullptr when empty). */
  [[nodiscard]] Element* data() noexcept { return data_; }
  /** @brief First element (nullptr when empty). */
  [[nodiscard]] const Element* data() const noexcept { return data_; }
  /** @brief Number of elements. */
  [[nodiscard]] std::int64_t size() const noexcept { return size_; }
  /** @brief size() * sizeof(Element). */
  [[nodiscard]] std::size_t bytes() const noexcept { return static_cast<std::size_t>(size_) * sizeof(Element); }
  /** @brief Where the memory lives. */
  [[nodiscard]] memory_space space() const noexcept { return space_; }
  /** @brief The CUDA device of device memory. */
  [[nodiscard]] int device() const noexcept { return device_; }

  /** @brief The elements as a host span; throws bionmda::invalid_argument for device memory. */
  [[nodiscard]] host_span<Element> host() {
    require(memory_space::host);
    return {data_, size_};
  }
  /** @brief The elements as a device span; throws bionmda::invalid_argument for host memory. */
  [[nodiscard]] device_span<Element> device_view() {
    require(memory_space::device);
    return {data_, size_};
  }

  /**
   * @brief Copies all size() elements from host memory into the buffer; waits.
   * @throw bionmda::invalid_argument when from.size != size() or from.data is null
   */
  void copy_from(host_span<const Element> from, cudaStream_t stream = nullptr) {
    require_size(from.data, from.size);
    if (size_ > 0) detail::copy_bytes(data_, space_, from.data, memory_space::host, bytes(), stream);
  }
  /** @brief Copies all size() elements to host memory; waits. Same checks as copy_from. */
  void copy_to(host_span<Element> to, cudaStream_t stream = nullptr) const {
    require_size(to.data, to.size);
    if (size_ > 0) detail::copy_bytes(to.data, memory_space::host, data_, space_, bytes(), stream);
  }

  /** @brief Exchanges two buffers. */
  void swap(buffer& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(space_, o.space_);
    std::swap(device_, o.device_);
    std::swap(owned_, o.owned_);
  }

 private:
  static std::size_t checked_bytes(std::int64_t count);
  void require(memory_space s) const;
  void require_size(const void* p, std::int64_t n) const;

  Element* data_ = nullptr;
  std::int64_t size_ = 0;
  memory_space space_ = memory_space::host;
  int device_ = 0;
  bool owned_ = true;
};

namespace detail {
enum class buffer_fault { count, space, size, null };
/// Throws bionmda::invalid_argument describing fault with its two numbers.
[[noreturn]] void throw_buffer_error(buffer_fault fault, std::int64_t a, std::int64_t b);
}

template <class Element>
std::size_t buffer<Element>::checked_bytes(std::int64_t count) {
  if (count < 0 || static_cast<std::uint64_t>(count) > SIZE_MAX / sizeof(Element) / 2) {
    detail::throw_buffer_error(detail::buffer_fault::count, count, static_cast<std::int64_t>(sizeof(Element)));
  }
  return static_cast<std::size_t>(count) * sizeof(Element);
}

template <class Element>
void buffer<Element>::require(memory_space s) const {
  if (space_ != s) detail::throw_buffer_error(detail::buffer_fault::space, static_cast<int>(space_), static_cast<int>(s));
}

template <class Element>
void buffer<Element>::require_size(const void* p, std::int64_t n) const {
  if (n != size_) detail::throw_buffer_error(detail::buffer_fault::size, n, size_);
  if (p == nullptr && n > 0) detail::throw_buffer_error(detail::buffer_fault::null, n, size_);
}

static_assert(std::is_nothrow_move_constructible_v<buffer<float>>);
static_assert(std::is_nothrow_move_assignable_v<buffer<float>>);

}  // namespace bionmda
