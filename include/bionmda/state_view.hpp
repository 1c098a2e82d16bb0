#pragma once
/**
 * @file state_view.hpp
 * @brief Zero-copy view of a population's state buffers.
 */
#include <cstdint>

namespace bionmda {

/** @brief Where the memory behind a view lives. */
enum class memory_space { host, device };

/**
 * @brief Raw pointers to a population's structure-of-arrays state.
 *
 * Element e = b * units + i holds batch entry b of unit i. The pointers are
 * in host memory for the CPU backend and device memory for the CUDA backend
 * (see space). Valid until the population is destroyed or moved from.
 * Writing values outside [0, 1] through a view is undefined behaviour.
 *
 * @tparam Real float or double, matching the population's precision.
 */
template <class Real>
struct state_view {
  Real* g = nullptr;                   ///< open fraction [batch][unit]
  Real* x = nullptr;                   ///< auxiliary state [batch][unit]
  std::uint16_t* countdown = nullptr;  ///< pulse steps left [batch][unit]
  std::int64_t units = 0;              ///< N
  std::int64_t batch = 0;              ///< B
  memory_space space = memory_space::host;
  /** @brief N * B, the length of every array. */
  [[nodiscard]] std::int64_t elements() const noexcept { return units * batch; }
};

}  // namespace bionmda
