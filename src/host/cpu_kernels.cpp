// The CPU backend's fused step: OpenMP threads over tiles, SIMD within a tile,
// calling the shared per-unit update (detail/kinetics.hpp).
//
// This translation unit is compiled with -ffast-math so that GCC vectorises
// expm1 through glibc's vector math library; nothing here validates input
// (fast-math folds NaN checks away). BIONMDA_CPU_ISA names the namespace of
// this compilation (generic or avx2).
#include <algorithm>
#include <type_traits>

#include "cpu_kernels.hpp"
#include "post_engine.hpp"

#if defined(__SSE__)
#include <immintrin.h>
#endif

#ifndef BIONMDA_CPU_ISA
#error "BIONMDA_CPU_ISA must name the instruction set of this compilation"
#endif

namespace bionmda::detail::BIONMDA_CPU_ISA {
namespace {

// Elements per tile: large enough to amortise scheduling, small enough to
// balance threads and keep a tile's arrays in L2.
constexpr std::int64_t tile = 8192;
// Below this many elements a step runs on one thread (fork/join costs more).
constexpr std::int64_t parallel_threshold = 1 << 15;

// Flushes subnormal results and operands to zero in this thread while alive.
// x decays towards 0 between spikes and reaches float32's subnormal range
// (< 1.2e-38) after ~200 ms without input; on x86, subnormal arithmetic is
// ~100x slower. Values that small are 0 for every purpose here.
class flush_subnormals {
 public:
  flush_subnormals() noexcept {
#if defined(__SSE__)
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | 0x8040u);  // FTZ | DAZ
#endif
  }
  ~flush_subnormals() {
#if defined(__SSE__)
    _mm_setcsr(saved_);
#endif
  }
  flush_subnormals(const flush_subnormals&) = delete;
  flush_subnormals& operator=(const flush_subnormals&) = delete;

 private:
  unsigned saved_ = 0;
};

// The fused update of units [i0, i1) of one batch row; spike(i) says whether
// unit i receives a spike. One SIMD loop calling the shared per-unit update.
template <class Real, bool PerUnit, class SpikeAt>
inline void update_row(Real* __restrict__ g, Real* __restrict__ x, countdown_t* __restrict__ cd,
                       std::int64_t i0, std::int64_t i1, const model_args<Real>& m,
                       SpikeAt spike_at) {
  // Local copies: loop-invariant values the vectoriser can broadcast.
  const Real dt = m.dt;
  const unit_coeffs<Real> uniform = m.coeffs;
  const countdown_t pulse_steps = m.pulse_steps;
#pragma omp simd
  for (std::int64_t i = i0; i < i1; ++i) {
    const bool spike = spike_at(i);
    Real gi = g[i];
    Real xi = x[i];
    countdown_t next;
    if constexpr (PerUnit) {
      next = advance_unit(gi, xi, cd[i], spike, m.pulse[i], m.coeffs_of(i), dt);
    } else {
      next = advance_unit(gi, xi, cd[i], spike, pulse_steps, uniform, dt);
    }
    g[i] = gi;
    x[i] = xi;
    cd[i] = next;
  }
}

template <class Real, bool PerUnit, class Spikes>
void run(const state_ptrs<Real>& s, const model_args<Real>& m, Spikes spikes) {
  const std::int64_t N = s.units;
  const std::int64_t tiles_per_row = (N + tile - 1) / tile;
  const std::int64_t tiles = tiles_per_row * s.batch;
#pragma omp parallel if (N * s.batch >= parallel_threshold)
  {
    const flush_subnormals ftz;
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < tiles; ++t) {
      const std::int64_t b = t / tiles_per_row;
      const std::int64_t i0 = (t - b * tiles_per_row) * tile;
      const std::int64_t i1 = std::min(N, i0 + tile);
      const std::int64_t row = b * N;
      Real* g = s.g + row;
      Real* x = s.x + row;
      countdown_t* cd = s.countdown + row;
      if constexpr (std::is_same_v<Spikes, no_spikes>) {
        update_row<Real, PerUnit>(g, x, cd, i0, i1, m, [](std::int64_t) { return false; });
      } else if constexpr (std::is_same_v<Spikes, dense_spikes>) {
        const std::uint8_t* __restrict__ mask = spikes.mask + row;
        update_row<Real, PerUnit>(g, x, cd, i0, i1, m, [mask](std::int64_t i) { return mask[i] != 0; });
      } else {
        // Gathers and hashes do not vectorise alongside the float update:
        // resolve this tile's spikes into a byte mask first.
        alignas(64) std::uint8_t flags[tile];
        for (std::int64_t i = i0; i < i1; ++i) flags[i - i0] = spikes(row + i, b, i) ? 1 : 0;
        const std::uint8_t* mask = flags;
        update_row<Real, PerUnit>(g, x, cd, i0, i1, m, [mask, i0](std::int64_t i) { return mask[i - i0] != 0; });
      }
    }
  }
}

// Per-synapse mode: units are synapses sorted by postsynaptic neuron. Work
// is split into tiles of contiguous synapses; a tile owns the rows that start
// in it (a long row is finished by its owner, chunk by chunk). Each chunk is
// updated by the SIMD loop and summed into its rows while still in L1, so g
// goes from the update into g_post = sum gmax * g and the Mg-blocked current.
template <class Real, bool PerUnit>
void run_fused_post(const state_ptrs<Real>& s, const model_args<Real>& m, const cpu_input& in) {
  const post_args<Real> a = *static_cast<const post_args<Real>*>(in.post);
  auto* g_post = static_cast<Real*>(in.g_post);
  const auto* V = static_cast<const Real*>(in.V);
  auto* I = static_cast<Real*>(in.I);
  const std::int64_t N = s.units;  // synapses, = row_offsets[n_post]
  const std::int64_t n_post = a.n_post;
  const std::int64_t* offsets = a.row_offsets;
  const std::int64_t tiles = std::max<std::int64_t>(1, (N + tile - 1) / tile);
  // First row starting at or after synapse k.
  auto first_row_from = [&](std::int64_t k) {
    return static_cast<std::int64_t>(std::lower_bound(offsets, offsets + n_post, k) - offsets);
  };
#pragma omp parallel if (N * s.batch >= parallel_threshold)
  {
    const flush_subnormals ftz;
#pragma omp for schedule(static)
    for (std::int64_t w = 0; w < tiles * s.batch; ++w) {
      const std::int64_t b = w / tiles;
      const std::int64_t t = w - b * tiles;
      const std::int64_t j0 = t == 0 ? 0 : first_row_from(t * tile);
      const std::int64_t j1 = t + 1 == tiles ? n_post : first_row_from((t + 1) * tile);
      if (j0 >= j1) continue;
      const std::int64_t row = b * N;
      const std::uint8_t* pre = in.mask + b * in.n_pre;
      Real* g = s.g + row;
      const std::int64_t k_end = offsets[j1];
      std::int64_t j = j0;
      Real acc = 0;
      auto finish_rows_until = [&](std::int64_t k) {  // close every row ending at or before k
        while (j < j1 && offsets[j + 1] <= k) {
          const std::int64_t r = b * n_post + j;
          g_post[r] = acc;
          if (V != nullptr) I[r] = mg_current(acc, V[r], a.mg);
          acc = 0;
          ++j;
        }
      };
      finish_rows_until(offsets[j0]);  // leading empty rows
      for (std::int64_t c0 = offsets[j0]; c0 < k_end; c0 += tile) {
        const std::int64_t c1 = std::min(k_end, c0 + tile);
        alignas(64) std::uint8_t flags[tile];
        for (std::int64_t k = c0; k < c1; ++k) flags[k - c0] = pre[a.source[k]] != 0;
        const std::uint8_t* mask = flags;
        update_row<Real, PerUnit>(g, s.x + row, s.countdown + row, c0, c1, m,
                                  [mask, c0](std::int64_t k) { return mask[k - c0] != 0; });
        for (std::int64_t k = c0; k < c1; ++k) {
          acc += a.gmax[k] * g[k];
          if (k + 1 == offsets[j + 1]) finish_rows_until(k + 1);
        }
      }
      finish_rows_until(k_end);
    }
  }
}

template <class Real, bool PerUnit>
void run_input(const state_ptrs<Real>& s, const model_args<Real>& m, const cpu_input& in) {
  switch (in.kind) {
    case step_request::kind::none:
      return run<Real, PerUnit>(s, m, no_spikes{});
    case step_request::kind::dense:
      return run<Real, PerUnit>(s, m, dense_spikes{in.mask});
    case step_request::kind::presynaptic:
      if (in.post != nullptr) return run_fused_post<Real, PerUnit>(s, m, in);
      return run<Real, PerUnit>(s, m, presynaptic_spikes{in.mask, in.sources, in.n_pre});
    case step_request::kind::poisson:
      return run<Real, PerUnit>(s, m, poisson_spikes{in.key, in.threshold, in.always});
  }
}

template <class Real>
void dispatch(const state_ptrs<Real>& s, const model_args<Real>& m, const cpu_input& in) {
  if (m.per_unit) {
    run_input<Real, true>(s, m, in);
  } else {
    run_input<Real, false>(s, m, in);
  }
}

}  // namespace

void cpu_step(const state_ptrs<float>& s, const model_args<float>& m, const cpu_input& in) {
  dispatch(s, m, in);
}
void cpu_step(const state_ptrs<double>& s, const model_args<double>& m, const cpu_input& in) {
  dispatch(s, m, in);
}

}  // namespace bionmda::detail::BIONMDA_CPU_ISA
