#pragma once
/**
 * @file detail/window_args.hpp
 * @brief Trivially copyable spike sources of a window of K steps, and the
 *        recording of chosen elements at each step; passed by value to the
 *        CPU loop and the CUDA kernel alike.
 *
 * A window gate W gives the gate of step k of the window, W.at(k), one of the
 * step's gates (step_args.hpp) or a bit-mask gate defined here, so that a
 * window runs the update of a step with the same spikes, bit for bit.
 */
#include <cstdint>

#include "bionmda/detail/counter_rng.hpp"
#include "bionmda/detail/host_device.hpp"
#include "bionmda/detail/step_args.hpp"

namespace bionmda::detail {

/// Bit i % 32 of word i / 32 of a row of 32-bit words.
BIONMDA_HD bool bit_at(const std::uint32_t* __restrict__ row, std::int64_t i) {
  return ((row[i >> 5] >> (i & 31)) & 1u) != 0;
}

/// Words per bit-mask row of n entries.
BIONMDA_HD std::int64_t bit_words(std::int64_t n) { return (n + 31) / 32; }

/// One step's bits [B][W] (W = bit_words(N)).
struct gate_bits {
  const std::uint32_t* __restrict__ words;
  std::int64_t words_per_row;
  BIONMDA_HD bool operator()(std::int64_t, std::int64_t b, std::int64_t i) const {
    return bit_at(words + b * words_per_row, i);
  }
};

/// One step's presynaptic bits [B][W_pre], gathered through the sources.
struct gate_presynaptic_bits {
  const std::uint32_t* __restrict__ words;
  const std::int32_t* __restrict__ sources;  ///< [N], each in [0, N_pre)
  std::int64_t words_per_row;                ///< W_pre
  BIONMDA_HD bool operator()(std::int64_t, std::int64_t b, std::int64_t i) const {
    return bit_at(words + b * words_per_row, sources[i]);
  }
};

/// No spikes in any step.
struct window_none {
  BIONMDA_HD gate_none at(std::int64_t) const { return {}; }
};

/// Bytes [K][B][N].
struct window_dense {
  const std::uint8_t* __restrict__ mask;
  std::int64_t step_stride;  ///< B * N
  BIONMDA_HD gate_dense at(std::int64_t k) const { return gate_dense{mask + k * step_stride}; }
};

/// Bits [K][B][W].
struct window_bits {
  const std::uint32_t* __restrict__ words;
  std::int64_t words_per_row;  ///< W
  std::int64_t step_stride;    ///< B * W
  BIONMDA_HD gate_bits at(std::int64_t k) const { return gate_bits{words + k * step_stride, words_per_row}; }
};

/// Presynaptic bytes [K][B][N_pre].
struct window_presynaptic {
  const std::uint8_t* __restrict__ mask;
  const std::int32_t* __restrict__ sources;
  std::int64_t n_pre;
  std::int64_t step_stride;  ///< B * N_pre
  BIONMDA_HD gate_presynaptic at(std::int64_t k) const {
    return gate_presynaptic{mask + k * step_stride, sources, n_pre};
  }
};

/// Presynaptic bits [K][B][W_pre].
struct window_presynaptic_bits {
  const std::uint32_t* __restrict__ words;
  const std::int32_t* __restrict__ sources;
  std::int64_t words_per_row;  ///< W_pre
  std::int64_t step_stride;    ///< B * W_pre
  BIONMDA_HD gate_presynaptic_bits at(std::int64_t k) const {
    return gate_presynaptic_bits{words + k * step_stride, sources, words_per_row};
  }
};

/// One step as a window of one: the gate of a single step (e.g. the per-synapse step).
template <class Gate>
struct window_single {
  Gate gate;
  BIONMDA_HD Gate at(std::int64_t) const { return gate; }
};

/// Poisson: step k of the window is step first_step + k of the run, keyed as a single step.
struct window_poisson {
  std::uint64_t seed;
  std::int64_t first_step;
  std::uint64_t threshold;  ///< make_gate_poisson's, the same every step
  bool always;
  BIONMDA_HD gate_poisson at(std::int64_t k) const {
    return gate_poisson{stream_key(seed, rng_poisson, static_cast<std::uint64_t>(first_step + k)), threshold, always};
  }
};

inline window_poisson make_window_poisson(double rate_hz, double dt, std::uint64_t seed, std::int64_t first_step) {
  const gate_poisson g = make_gate_poisson(rate_hz, dt, seed, first_step);
  return window_poisson{seed, first_step, g.threshold, g.always};
}

/// The recorded elements, sorted, and where each goes in a step's row of the
/// trace: after step k, trace_g[k * count + slot[r]] = g[element[r]].
template <class Real>
struct window_record {
  const std::int64_t* __restrict__ element;  ///< [count], ascending
  const std::int64_t* __restrict__ slot;     ///< [count]: position in the caller's list
  std::int64_t count;                        ///< n_rec (0: nothing recorded)
  Real* __restrict__ g;                      ///< [K][count], or null
  Real* __restrict__ x;                      ///< [K][count], or null
  /// g of every element after each step, or null: element-major [B*N][K] on
  /// the CPU while the history fits in cache (a synapse's K values are
  /// contiguous for the per-post sums), else step-major [K][B*N] (always on
  /// the GPU: coalesced stores).
  Real* __restrict__ history = nullptr;
  /// The history's layout: element-major [B*N][K] when true, else step-major
  /// [K][B*N] (the backend's choice: Backend::history_by_element).
  bool history_by_element = false;

  BIONMDA_HD bool active() const { return count > 0 && (g != nullptr || x != nullptr); }
  /// Writes the values of sorted record r after step k.
  BIONMDA_HD void put(std::int64_t k, std::int64_t r, Real g_value, Real x_value) const {
    const std::int64_t at = k * count + slot[r];
    if (g != nullptr) g[at] = g_value;
    if (x != nullptr) x[at] = x_value;
  }
  /// First sorted record whose element is >= e (count if none).
  BIONMDA_HD std::int64_t lower_bound(std::int64_t e) const {
    std::int64_t lo = 0, hi = count;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (element[mid] < e) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
};

}  // namespace bionmda::detail
