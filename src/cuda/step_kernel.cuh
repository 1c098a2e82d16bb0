#pragma once
// The fused step kernel: spike gating plus the exponential-Euler update of x
// then g, for every element, in one pass over the state.
//
// Each thread owns chunks of 4 consecutive elements and moves them with wide
// loads (16 bytes of g, 16 of x for float32, 8 of countdown, 4 of mask), so a
// float32 step with a dense mask reads 11 and writes 8 bytes per element,
// plus the countdown where a pulse starts, runs or ends.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "bionmda/detail/kinetics.hpp"
#include "bionmda/detail/post_args.hpp"
#include "bionmda/detail/step_args.hpp"

namespace bionmda::detail {

inline constexpr int step_block_size = 256;
inline constexpr int chunk = 4;

// Wide loads and stores. Streaming = true uses the evict-first cache hints
// (ld.global.cs / st.global.cs); off by default (cuda_engine.cu says why).
template <bool Streaming, class V>
__device__ __forceinline__ V load(const V* p) {
  if constexpr (Streaming) {
    return __ldcs(p);
  } else {
    return *p;
  }
}
template <bool Streaming, class V>
__device__ __forceinline__ void store(V* p, const V& v) {
  if constexpr (Streaming) {
    __stcs(p, v);
  } else {
    *p = v;
  }
}

template <bool Streaming>
__device__ __forceinline__ void load4(const float* p, float (&out)[4]) {
  const float4 a = load<Streaming>(reinterpret_cast<const float4*>(p));
  out[0] = a.x; out[1] = a.y; out[2] = a.z; out[3] = a.w;
}
template <bool Streaming>
__device__ __forceinline__ void load4(const double* p, double (&out)[4]) {
  const double2 a = load<Streaming>(reinterpret_cast<const double2*>(p));
  const double2 b = load<Streaming>(reinterpret_cast<const double2*>(p) + 1);
  out[0] = a.x; out[1] = a.y; out[2] = b.x; out[3] = b.y;
}
template <bool Streaming>
__device__ __forceinline__ void store4(float* p, const float (&v)[4]) {
  store<Streaming>(reinterpret_cast<float4*>(p), make_float4(v[0], v[1], v[2], v[3]));
}
template <bool Streaming>
__device__ __forceinline__ void store4(double* p, const double (&v)[4]) {
  store<Streaming>(reinterpret_cast<double2*>(p), make_double2(v[0], v[1]));
  store<Streaming>(reinterpret_cast<double2*>(p) + 1, make_double2(v[2], v[3]));
}

/// Whether a gate needs (batch, unit) indices rather than the flat element.
template <class Gate>
inline constexpr bool needs_unit_index = std::is_same_v<Gate, gate_presynaptic>;

/// (batch, unit) of the chunk's elements e0 .. e0+3.
__device__ __forceinline__ void chunk_indices(std::int64_t e0, std::int64_t n_units, std::int64_t (&unit)[chunk],
                                              std::int64_t (&row)[chunk]) {
  std::int64_t b = e0 / n_units;
  std::int64_t i = e0 - b * n_units;
#pragma unroll
  for (int k = 0; k < chunk; ++k) {
    unit[k] = i;
    row[k] = b;
    if (++i == n_units) {
      i = 0;
      ++b;
    }
  }
}

/// g, x and the countdown of the chunk at e0 (zeros past the last element);
/// full: all four exist, read with wide loads.
template <bool Streaming, class Real>
__device__ __forceinline__ void load_chunk(const state_ptrs<Real>& s, std::int64_t e0, std::int64_t elements, bool full,
                                           Real (&g)[chunk], Real (&x)[chunk], countdown_t (&cd)[chunk]) {
  if (full) {
    load4<Streaming>(s.g + e0, g);
    load4<Streaming>(s.x + e0, x);
    const ushort4 c4 = load<Streaming>(reinterpret_cast<const ushort4*>(s.countdown + e0));
    cd[0] = c4.x; cd[1] = c4.y; cd[2] = c4.z; cd[3] = c4.w;
  } else {
#pragma unroll
    for (int k = 0; k < chunk; ++k) {
      const bool in = e0 + k < elements;
      g[k] = in ? s.g[e0 + k] : Real(0);
      x[k] = in ? s.x[e0 + k] : Real(0);
      cd[k] = in ? s.countdown[e0 + k] : countdown_t{0};
    }
  }
}

/// Stores g and x of the chunk, and the countdown where it changed from before
/// (it changes only while a pulse starts, runs or ends).
template <bool Streaming, class Real>
__device__ __forceinline__ void store_chunk(const state_ptrs<Real>& s, std::int64_t e0, std::int64_t elements,
                                            bool full, const Real (&g)[chunk], const Real (&x)[chunk],
                                            const countdown_t (&next)[chunk], const countdown_t (&before)[chunk]) {
  if (full) {
    store4<Streaming>(s.g + e0, g);
    store4<Streaming>(s.x + e0, x);
    if (next[0] != before[0] || next[1] != before[1] || next[2] != before[2] || next[3] != before[3]) {
      *reinterpret_cast<ushort4*>(s.countdown + e0) = make_ushort4(next[0], next[1], next[2], next[3]);
    }
  } else {
#pragma unroll
    for (int k = 0; k < chunk; ++k) {
      if (e0 + k < elements) {
        s.g[e0 + k] = g[k];
        s.x[e0 + k] = x[k];
        if (next[k] != before[k]) s.countdown[e0 + k] = next[k];
      }
    }
  }
}

/**
 * @tparam PerUnit   parameters are per-unit arrays (else uniform values)
 * @tparam Streaming evict-first cache hints on the state (BIONMDA_CUDA_STREAMING=1)
 * @tparam Spikes    a gate (detail/step_args.hpp): gate_none, gate_dense, gate_presynaptic or gate_poisson
 * @param mask_vec   dense input only: the mask may be read 4 bytes at a time
 */
template <class Real, bool PerUnit, bool Streaming, class Spikes>
__global__ void __launch_bounds__(step_block_size)
    step_kernel(state_ptrs<Real> s, model_args<Real> m, Spikes spikes, bool mask_vec) {
  constexpr bool with_index = PerUnit || needs_unit_index<Spikes>;
  const std::int64_t n_units = s.units;
  const std::int64_t elements = n_units * s.batch;
  const std::int64_t chunks = (elements + chunk - 1) / chunk;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;

  for (std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       c < chunks; c += stride) {
    const std::int64_t e0 = c * chunk;
    const bool full = e0 + chunk <= elements;

    // (batch, unit) of each element, only where parameters or input need them.
    std::int64_t unit[chunk] = {};
    std::int64_t row[chunk] = {};
    if constexpr (with_index) chunk_indices(e0, n_units, unit, row);

    Real g[chunk], x[chunk];
    countdown_t cd[chunk];
    bool spike[chunk];
    load_chunk<Streaming>(s, e0, elements, full, g, x, cd);
    if constexpr (std::is_same_v<Spikes, gate_dense>) {
      if (full && mask_vec) {
        const uchar4 m4 = load<Streaming>(reinterpret_cast<const uchar4*>(spikes.mask + e0));
        spike[0] = m4.x != 0; spike[1] = m4.y != 0; spike[2] = m4.z != 0; spike[3] = m4.w != 0;
      } else {
#pragma unroll
        for (int k = 0; k < chunk; ++k) spike[k] = e0 + k < elements && spikes(e0 + k, 0, 0);
      }
    } else {
#pragma unroll
      for (int k = 0; k < chunk; ++k) spike[k] = e0 + k < elements && spikes(e0 + k, row[k], unit[k]);
    }

    countdown_t next[chunk];
#pragma unroll
    for (int k = 0; k < chunk; ++k) {
      if constexpr (PerUnit) {
        next[k] = advance_unit(g[k], x[k], cd[k], spike[k], m.pulse[unit[k]],
                               m.coeffs_of(unit[k]), m.dt, m.j_fast);
      } else {
        next[k] = advance_unit(g[k], x[k], cd[k], spike[k], m.pulse_steps, m.coeffs, m.dt, m.j_fast);
      }
    }

    store_chunk<Streaming>(s, e0, elements, full, g, x, next, cd);
  }
}

/// Sum over the 32 lanes of a warp (the same bits in every lane): a butterfly
/// of xor shuffles at distances 16, 8, 4, 2, 1, an order of our own (not a
/// library's), so that warp_tree_sum can repeat it from values one thread
/// holds. Deterministic run to run.
template <class Real>
__device__ __forceinline__ Real warp_sum(Real v) {
#pragma unroll
  for (int level = 0; level < 5; ++level) v += __shfl_xor_sync(0xffffffffu, v, 16 >> level);
  return v;
}

/// warp_sum of lane values part[0..31] held by one thread: the same pairs
/// added in the same order (lane i's value after distance d is
/// part[i] + part[i + d]), so the same bits. Overwrites part.
template <class Real>
__device__ __forceinline__ Real warp_tree_sum(Real (&part)[32]) {
  // Constant trip counts, so that both loops unroll and part stays in registers.
#pragma unroll
  for (int level = 0; level < 5; ++level) {
    const int distance = 16 >> level;
#pragma unroll
    for (int i = 0; i < 16; ++i) {
      if (i < distance) part[i] = part[i] + part[i + distance];
    }
  }
  return part[0];
}

/// One term of a per-post sum, written once for every kernel that sums:
/// acc + w * g with one rounding.
template <class Real>
__device__ __forceinline__ Real post_term(Real acc, Real w, Real g) {
  return fma(w, g, acc);
}

/// Global warp index and warp count of a grid-stride loop over rows.
struct warp_rows {
  std::int64_t first;
  std::int64_t stride;
  int lane;
  __device__ warp_rows()
      : first((static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32),
        stride(static_cast<std::int64_t>(gridDim.x) * (blockDim.x / 32)),
        lane(static_cast<int>(threadIdx.x % 32)) {}
};

/// Per-presynaptic mode: one warp per (batch, post) row sums gmax * g[source].
template <class Real>
__global__ void __launch_bounds__(step_block_size)
    post_sum_kernel(post_args<Real> a, const Real* __restrict__ g, post_outputs<Real> out) {
  const warp_rows w;
  const std::int64_t rows = a.n_post * a.batch;
  for (std::int64_t r = w.first; r < rows; r += w.stride) {
    const std::int64_t b = r / a.n_post;
    const std::int64_t j = r - b * a.n_post;
    const Real* gb = g + b * a.units;
    Real acc = 0;
    for (std::int64_t k = a.row_offsets[j] + w.lane; k < a.row_offsets[j + 1]; k += 32) {
      acc = post_term(acc, a.gmax[k], gb[a.source[k]]);
    }
    const Real sum = warp_sum(acc);
    if (w.lane == 0) finish_post_row(out, a.mg, r, sum);
  }
}

/// Spike events: countdown[e] = the pulse length of e's unit (the step then
/// runs without spikes). Indices outside [0, N*B) are skipped.
template <class Real>
__global__ void __launch_bounds__(step_block_size)
    start_pulses_kernel(state_ptrs<Real> s, model_args<Real> m, const std::int64_t* __restrict__ events,
                        std::int64_t count) {
  const std::int64_t n = s.units * s.batch;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count; k += stride) {
    const std::int64_t e = events[k];
    if (e < 0 || e >= n) continue;
    s.countdown[e] = m.per_unit ? m.pulse[e % s.units] : m.pulse_steps;
  }
}

/// g and x of selected elements (indices checked on the host).
template <class Real>
__global__ void __launch_bounds__(step_block_size)
    gather_kernel(state_ptrs<Real> s, const std::int64_t* __restrict__ elements, std::int64_t count,
                  Real* __restrict__ g, Real* __restrict__ x) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count; k += stride) {
    g[k] = s.g[elements[k]];
    x[k] = s.x[elements[k]];
  }
}

template <class T>
__global__ void __launch_bounds__(step_block_size) fill_kernel(T* p, std::int64_t n, T v) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    p[i] = v;
  }
}

/// Element e = uniform_initial(key, e, low, high): the same values as the CPU.
template <class Real>
__global__ void __launch_bounds__(step_block_size)
    fill_uniform_kernel(Real* p, std::int64_t n, std::uint64_t key, double low, double high) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    p[i] = static_cast<Real>(uniform_initial(key, static_cast<std::uint64_t>(i), low, high));
  }
}

}  // namespace bionmda::detail
