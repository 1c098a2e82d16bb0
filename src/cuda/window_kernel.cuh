#pragma once
// The window kernel: K fused steps in one launch. Each thread loads its chunk
// of 4 elements once, keeps g, x and the countdown in registers through the K
// steps of the window (spike gating of step k, then the update of the step
// kernel, advance_unit), writes the recorded elements after each step, and
// stores the state once: the state moves through memory once per window.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "bionmda/detail/kinetics.hpp"
#include "bionmda/detail/step_args.hpp"
#include "bionmda/detail/window_args.hpp"
#include "step_kernel.cuh"

namespace bionmda::detail {

/// Whether a window gate's steps need (batch, unit) indices.
template <class Window>
inline constexpr bool window_needs_unit_index =
    std::is_same_v<Window, window_presynaptic> || std::is_same_v<Window, window_presynaptic_bits> ||
    std::is_same_v<Window, window_bits>;

/**
 * @tparam PerUnit parameters are per-unit arrays (else uniform values)
 * @tparam Window  a window gate (detail/window_args.hpp)
 */
template <class Real, bool PerUnit, class Window>
__global__ void __launch_bounds__(step_block_size)
    window_kernel(state_ptrs<Real> s, model_args<Real> m, Window w, std::int64_t steps, window_record<Real> rec) {
  constexpr bool with_index = PerUnit || window_needs_unit_index<Window>;
  const std::int64_t n_units = s.units;
  const std::int64_t elements = n_units * s.batch;
  const std::int64_t chunks = (elements + chunk - 1) / chunk;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;

  for (std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < chunks;
       c += stride) {
    const std::int64_t e0 = c * chunk;
    const bool full = e0 + chunk <= elements;

    std::int64_t unit[chunk] = {};
    std::int64_t row[chunk] = {};
    if constexpr (with_index) chunk_indices(e0, n_units, unit, row);

    Real g[chunk], x[chunk];
    countdown_t cd[chunk], cd0[chunk];
    load_chunk<false>(s, e0, elements, full, g, x, cd);
#pragma unroll
    for (int k = 0; k < chunk; ++k) cd0[k] = cd[k];

    // Unit parameters, read once per window.
    countdown_t pulse[chunk];
    unit_coeffs<Real> coeffs[PerUnit ? chunk : 1];
    if constexpr (PerUnit) {
#pragma unroll
      for (int k = 0; k < chunk; ++k) {
        const std::int64_t u = e0 + k < elements ? unit[k] : 0;
        pulse[k] = m.pulse[u];
        coeffs[k] = m.coeffs_of(u);
      }
    }

    // The sorted records inside this chunk.
    std::int64_t r0 = 0, r1 = 0;
    if (rec.active()) {
      r0 = rec.lower_bound(e0);
      r1 = rec.lower_bound(e0 + chunk);
    }

    for (std::int64_t step = 0; step < steps; ++step) {
      const auto gate = w.at(step);
      bool spike[chunk];
      if constexpr (std::is_same_v<Window, window_dense>) {
        // 4 mask bytes at once where the chunk's bytes are 4-byte aligned.
        if (full && reinterpret_cast<std::uintptr_t>(gate.mask + e0) % 4 == 0) {
          const uchar4 m4 = *reinterpret_cast<const uchar4*>(gate.mask + e0);
          spike[0] = m4.x != 0; spike[1] = m4.y != 0; spike[2] = m4.z != 0; spike[3] = m4.w != 0;
        } else {
#pragma unroll
          for (int k = 0; k < chunk; ++k) spike[k] = e0 + k < elements && gate(e0 + k, 0, 0);
        }
      } else {
#pragma unroll
        for (int k = 0; k < chunk; ++k) spike[k] = e0 + k < elements && gate(e0 + k, row[k], unit[k]);
      }
#pragma unroll
      for (int k = 0; k < chunk; ++k) {
        if constexpr (PerUnit) {
          cd[k] = advance_unit(g[k], x[k], cd[k], spike[k], pulse[k], coeffs[k], m.dt, m.j_fast);
        } else {
          cd[k] = advance_unit(g[k], x[k], cd[k], spike[k], m.pulse_steps, m.coeffs, m.dt, m.j_fast);
        }
      }
      if (rec.history != nullptr) {
        Real* h = rec.history + step * elements + e0;
        if (full) {
          store4<false>(h, g);
        } else {
#pragma unroll
          for (int k = 0; k < chunk; ++k) {
            if (e0 + k < elements) h[k] = g[k];
          }
        }
      }
      for (std::int64_t r = r0; r < r1; ++r) {
        const std::int64_t j = rec.element[r] - e0;
        // Select from registers without indexing them (which would spill the arrays to local memory).
#pragma unroll
        for (int k = 0; k < chunk; ++k) {
          if (j == k) rec.put(step, r, g[k], x[k]);
        }
      }
    }

    store_chunk<false>(s, e0, elements, full, g, x, cd, cd0);
  }
}

/// Where the per-post sums of step k go: the same outputs every step (a
/// single step, with the Mg current where V is given) ...
template <class Real>
struct post_outputs_fixed {
  post_outputs<Real> out;
  __device__ post_outputs<Real> at(std::int64_t) const { return out; }
};
/// ... or g_post[k] of a window, [K][B][n_post], without current.
template <class Real>
struct post_outputs_steps {
  Real* g_post;
  std::int64_t rows;  ///< B * n_post
  __device__ post_outputs<Real> at(std::int64_t k) const { return post_outputs<Real>{g_post + k * rows, nullptr, nullptr}; }
};

/**
 * Per-synapse mode: units are synapses sorted by postsynaptic neuron; one warp
 * per (batch, post) row updates the row's synapses (lanes take every 32nd)
 * and sums gmax * g from registers, so g goes from the update into the
 * reduction without a round trip through memory. No atomics: deterministic.
 * A window runs its steps one after another on the row (its state stays in
 * cache between them), step k with the gates of w.at(k), its sums into
 * outs.at(k); or, with rows_in_registers, rows of up to 128 synapses keep
 * their state in registers through the window (post_row_in_registers). A
 * single step is the window window_single.
 */
/// Synapses per lane that a window keeps in registers: rows of up to 128.
inline constexpr int post_row_registers = 4;

/// Whether a window gate is a single step (no window to keep in registers).
template <class Window>
inline constexpr bool is_window_single = false;
template <class Gate>
inline constexpr bool is_window_single<window_single<Gate>> = true;

/**
 * A window over one row whose synapses fit in registers (at most
 * 32 * post_row_registers): each lane loads its synapses begin + lane + 32q
 * once, runs the K steps on them in registers (the gates of step k, the
 * update, the term of the sum, in post_window_kernel's order) and stores
 * once: the same bits as the steps one after another.
 */
template <class Real, bool PerUnit, class Window, class Outputs>
__device__ __forceinline__ void post_row_in_registers(const state_ptrs<Real>& s, const model_args<Real>& m,
                                                      const Window& w, std::int64_t steps, const post_args<Real>& a,
                                                      const Outputs& outs, std::int64_t r, std::int64_t b,
                                                      std::int64_t row, std::int64_t begin, std::int64_t end,
                                                      int lane) {
  constexpr int M = post_row_registers;
  Real g[M], x[M], wk[M];
  countdown_t cd[M], cd0[M], pulse[M];
  unit_coeffs<Real> coeffs[PerUnit ? M : 1];
#pragma unroll
  for (int q = 0; q < M; ++q) {
    const std::int64_t k = begin + lane + 32 * q;
    g[q] = x[q] = wk[q] = Real(0);
    cd[q] = cd0[q] = pulse[q] = 0;
    if (k < end) {
      g[q] = s.g[row + k];
      x[q] = s.x[row + k];
      cd[q] = cd0[q] = s.countdown[row + k];
      wk[q] = a.gmax[k];
      if constexpr (PerUnit) {
        pulse[q] = m.pulse[k];
        coeffs[q] = m.coeffs_of(k);
      }
    }
  }
  for (std::int64_t step = 0; step < steps; ++step) {
    const auto gate = w.at(step);
    Real acc = 0;
#pragma unroll
    for (int q = 0; q < M; ++q) {
      const std::int64_t k = begin + lane + 32 * q;
      if (k < end) {
        const bool spike = gate(row + k, b, k);
        if constexpr (PerUnit) {
          cd[q] = advance_unit(g[q], x[q], cd[q], spike, pulse[q], coeffs[q], m.dt, m.j_fast);
        } else {
          cd[q] = advance_unit(g[q], x[q], cd[q], spike, m.pulse_steps, m.coeffs, m.dt, m.j_fast);
        }
        acc = post_term(acc, wk[q], g[q]);
      }
    }
    const Real sum = warp_sum(acc);
    if (lane == 0) finish_post_row(outs.at(step), a.mg, r, sum);
  }
#pragma unroll
  for (int q = 0; q < M; ++q) {
    const std::int64_t k = begin + lane + 32 * q;
    if (k < end) {
      s.g[row + k] = g[q];
      s.x[row + k] = x[q];
      if (cd[q] != cd0[q]) s.countdown[row + k] = cd[q];
    }
  }
}

template <class Real, bool PerUnit, class Window, class Outputs>
__global__ void __launch_bounds__(step_block_size)
    post_window_kernel(state_ptrs<Real> s, model_args<Real> m, Window w, std::int64_t steps, post_args<Real> a,
                       Outputs outs, bool rows_in_registers) {
  const warp_rows wr;
  const std::int64_t rows = a.n_post * s.batch;
  for (std::int64_t r = wr.first; r < rows; r += wr.stride) {
    const std::int64_t b = r / a.n_post;
    const std::int64_t j = r - b * a.n_post;
    const std::int64_t row = b * s.units;
    if constexpr (!is_window_single<Window>) {
      const std::int64_t begin = a.row_offsets[j], end = a.row_offsets[j + 1];
      if (rows_in_registers && steps > 1 && end - begin <= 32 * post_row_registers) {
        post_row_in_registers<Real, PerUnit>(s, m, w, steps, a, outs, r, b, row, begin, end, wr.lane);
        continue;
      }
    }
    for (std::int64_t step = 0; step < steps; ++step) {
      const auto gate = w.at(step);
      Real acc = 0;
      for (std::int64_t k = a.row_offsets[j] + wr.lane; k < a.row_offsets[j + 1]; k += 32) {
        const std::int64_t e = row + k;
        Real g = s.g[e];
        Real x = s.x[e];
        const countdown_t cd = s.countdown[e];
        const bool spike = gate(e, b, k);
        countdown_t next;
        if constexpr (PerUnit) {
          next = advance_unit(g, x, cd, spike, m.pulse[k], m.coeffs_of(k), m.dt, m.j_fast);
        } else {
          next = advance_unit(g, x, cd, spike, m.pulse_steps, m.coeffs, m.dt, m.j_fast);
        }
        s.g[e] = g;
        s.x[e] = x;
        if (next != cd) s.countdown[e] = next;
        acc = post_term(acc, a.gmax[k], g);
      }
      const Real sum = warp_sum(acc);
      if (wr.lane == 0) finish_post_row(outs.at(step), a.mg, r, sum);
    }
  }
}

/// Per-presynaptic mode, a window: one warp per (batch, post) row sums each
/// step's g from the history [K][B*N] into g_post[k], as post_sum_kernel does.
template <class Real>
__global__ void __launch_bounds__(step_block_size)
    post_sum_window_kernel(post_args<Real> a, const Real* __restrict__ history, std::int64_t steps,
                           Real* __restrict__ g_post) {
  const warp_rows wr;
  const std::int64_t rows = a.n_post * a.batch;
  const std::int64_t per_step = a.units * a.batch;
  for (std::int64_t r = wr.first; r < rows; r += wr.stride) {
    const std::int64_t b = r / a.n_post;
    const std::int64_t j = r - b * a.n_post;
    for (std::int64_t step = 0; step < steps; ++step) {
      const Real* gb = history + step * per_step + b * a.units;
      Real acc = 0;
      for (std::int64_t k = a.row_offsets[j] + wr.lane; k < a.row_offsets[j + 1]; k += 32) {
        acc = post_term(acc, a.gmax[k], gb[a.source[k]]);
      }
      const Real sum = warp_sum(acc);
      if (wr.lane == 0) g_post[step * rows + r] = sum;
    }
  }
}

/// Steps of a window rounded up to a multiple of 8: the row length of the
/// element-major history (each row starts on a 32-byte sector).
inline std::int64_t padded_steps(std::int64_t steps) { return (steps + 7) / 8 * 8; }

/// The step-major history [K][E] as element-major [E][kp] (kp >= K): tiles
/// of 32 steps x 32 elements through shared memory, both sides coalesced.
template <class Real>
__global__ void __launch_bounds__(step_block_size)
    history_transpose_kernel(const Real* __restrict__ history, std::int64_t steps, std::int64_t elements,
                             std::int64_t kp, Real* __restrict__ by_element) {
  static_assert(step_block_size == 256, "8 rows of 32 threads per tile");
  __shared__ Real tile[32][33];
  const int tx = static_cast<int>(threadIdx.x % 32), ty = static_cast<int>(threadIdx.x / 32);
  const std::int64_t tiles_e = (elements + 31) / 32, tiles = tiles_e * ((steps + 31) / 32);
  for (std::int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    const std::int64_t e0 = (t % tiles_e) * 32, k0 = (t / tiles_e) * 32;
    for (int i = ty; i < 32; i += 8) {
      const std::int64_t k = k0 + i, e = e0 + tx;
      if (k < steps && e < elements) tile[i][tx] = history[k * elements + e];
    }
    __syncthreads();
    for (int i = ty; i < 32; i += 8) {
      const std::int64_t e = e0 + i, k = k0 + tx;
      if (k < steps && e < elements) by_element[e * kp + k] = tile[tx][i];
    }
    __syncthreads();
  }
}

/// Per-presynaptic mode, a window, from the element-major history [B*N][kp]:
/// one warp per (batch, post) row, lane l takes steps s0 + l. Each thread
/// keeps 32 partial sums, part[q] over the synapses begin + q, begin + 32 + q,
/// ... (the synapses of lane q in post_sum_kernel, in its order), and adds
/// them up in warp_sum's tree: the bits of a step and a sum. A synapse's
/// values for 32 steps are one 128-byte line (float32), and the connectivity
/// is read once per 32 steps instead of once per step.
template <class Real>
__global__ void __launch_bounds__(step_block_size)
    post_sum_window_lanes_kernel(post_args<Real> a, const Real* __restrict__ by_element, std::int64_t steps,
                                 std::int64_t kp, Real* __restrict__ g_post) {
  const warp_rows wr;
  const std::int64_t rows = a.n_post * a.batch;
  for (std::int64_t r = wr.first; r < rows; r += wr.stride) {
    const std::int64_t b = r / a.n_post;
    const std::int64_t j = r - b * a.n_post;
    const std::int64_t begin = a.row_offsets[j], end = a.row_offsets[j + 1];
    const Real* hb = by_element + b * a.units * kp;
    for (std::int64_t s0 = 0; s0 < steps; s0 += 32) {
      const std::int64_t s = s0 + wr.lane;
      const bool active = s < steps;
      Real part[32];
#pragma unroll
      for (int q = 0; q < 32; ++q) part[q] = 0;
      for (std::int64_t base = begin; base < end; base += 32) {
        // Lane q loads synapse base + q; every lane then takes each in turn.
        const bool have = base + wr.lane < end;
        const std::int32_t src = have ? a.source[base + wr.lane] : 0;
        const Real w = have ? a.gmax[base + wr.lane] : Real(0);
        const std::int64_t count = end - base;
#pragma unroll
        for (int q = 0; q < 32; ++q) {
          const std::int32_t src_q = __shfl_sync(0xffffffffu, src, q);
          const Real w_q = __shfl_sync(0xffffffffu, w, q);
          if (q < count && active) part[q] = post_term(part[q], w_q, hb[static_cast<std::int64_t>(src_q) * kp + s]);
        }
      }
      const Real sum = warp_tree_sum(part);
      if (active) g_post[s * rows + r] = sum;
    }
  }
}

/// Window events to bits [K][B][W] (zeroed before): blocks take steps, the
/// threads of a block its events. A step whose offsets decrease or leave
/// [0, count] has no events; indices outside [0, N*B) are skipped.
__global__ void __launch_bounds__(step_block_size)
    events_to_bits_kernel(const std::int64_t* __restrict__ offsets, const std::int64_t* __restrict__ events,
                          std::int64_t count, std::int64_t steps, std::int64_t units, std::int64_t batch,
                          std::uint32_t* __restrict__ bits) {
  const std::int64_t w = bit_words(units);
  const std::int64_t n = units * batch;
  for (std::int64_t k = blockIdx.x; k < steps; k += gridDim.x) {
    const std::int64_t from = offsets[k], to = offsets[k + 1];
    if (from < 0 || to > count || to < from) continue;
    std::uint32_t* step_bits = bits + k * batch * w;
    for (std::int64_t q = from + threadIdx.x; q < to; q += blockDim.x) {
      const std::int64_t e = events[q];
      if (e < 0 || e >= n) continue;
      const std::int64_t b = e / units, i = e - b * units;
      atomicOr(step_bits + b * w + (i >> 5), 1u << (i & 31));
    }
  }
}

}  // namespace bionmda::detail
