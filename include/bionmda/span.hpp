#pragma once
/**
 * @file span.hpp
 * @brief Non-owning views that say in their type where the memory lives.
 *
 * A host_span points into host memory, a device_span into CUDA device memory.
 * The library never guesses: passing the wrong kind to a backend is an error.
 */
#include <cstdint>
#include <utility>
#include <vector>

namespace bionmda {

/**
 * @brief A pointer and an element count, in host memory.
 * @tparam Element element type (const-qualify for inputs)
 */
template <class Element>
struct host_span {
  Element* data = nullptr;  ///< first element (host memory)
  std::int64_t size = 0;    ///< number of elements

  constexpr host_span() = default;
  constexpr host_span(Element* d, std::int64_t n) : data(d), size(n) {}
  /** @brief View of a vector (const view of a const vector). */
  template <class Vector, class = decltype(std::declval<Vector&>().data())>
  host_span(Vector& v) : data(v.data()), size(static_cast<std::int64_t>(v.size())) {}  // NOLINT
  /** @brief Implicit conversion from a span of non-const to a span of const. */
  template <class Other>
  host_span(host_span<Other> other) : data(other.data), size(other.size) {}  // NOLINT
};

/**
 * @brief A pointer and an element count, in CUDA device memory.
 * @tparam Element element type (const-qualify for inputs)
 */
template <class Element>
struct device_span {
  Element* data = nullptr;  ///< first element (device memory)
  std::int64_t size = 0;    ///< number of elements

  constexpr device_span() = default;
  constexpr device_span(Element* d, std::int64_t n) : data(d), size(n) {}
  /** @brief Implicit conversion from a span of non-const to a span of const. */
  template <class Other>
  device_span(device_span<Other> other) : data(other.data), size(other.size) {}  // NOLINT
};

}  // namespace bionmda
