#pragma once
/**
 * @file detail/counter_rng.hpp
 * @brief Counter-based random numbers: the same bits on every backend.
 *
 * A draw is a pure function of (seed, step, element index), so the CPU and
 * the GPU produce identical Poisson spike trains and initial values, in any
 * order and any number of threads.
 */
#include <cstdint>

#include "bionmda/detail/host_device.hpp"

namespace bionmda::detail {

/// Golden-ratio increment of splitmix64.
inline constexpr std::uint64_t golden_gamma = 0x9E3779B97F4A7C15ull;

/// splitmix64's output function (a bijective 64-bit mixer).
BIONMDA_HD std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Key of one (seed, stream, step) triple; element draws are mix64(key + (e+1)*gamma).
BIONMDA_HD std::uint64_t stream_key(std::uint64_t seed, std::uint64_t stream, std::uint64_t step) {
  return mix64(mix64(seed ^ mix64(stream + golden_gamma)) + step * golden_gamma);
}

/// 64 random bits for element e of the stream keyed by key.
BIONMDA_HD std::uint64_t draw_bits(std::uint64_t key, std::uint64_t e) {
  return mix64(key + (e + 1) * golden_gamma);
}

/// Stream identifiers, so different uses of one seed never share draws.
enum rng_stream : std::uint64_t { rng_poisson = 1, rng_init_g = 2, rng_init_x = 3 };

/// Uniform double in [0, 1) from 64 random bits (53 significant bits).
BIONMDA_HD double bits_to_unit_double(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace bionmda::detail
