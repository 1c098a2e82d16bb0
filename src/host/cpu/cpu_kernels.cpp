// The CPU backend's fused step: threads over tiles (cpu_team.hpp), SIMD within a tile,
// calling the shared per-unit update (detail/kinetics.hpp).
//
// This translation unit is compiled with -ffast-math so that GCC vectorises
// expm1 through glibc's vector math library; nothing here validates input
// (fast-math folds NaN checks away). BIONMDA_CPU_ISA names the namespace of
// this compilation (generic or avx2).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "bionmda/detail/post_args.hpp"
#include "cpu_kernels.hpp"
#include "cpu_team.hpp"

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
// Elements per block of a window: a block's g, x and countdown (10 or 18
// bytes per element) stay in L1 through the window's steps. A multiple of 64
// (every vector width) dividing tile.
constexpr std::int64_t window_block = 1024;
static_assert(tile % window_block == 0 && window_block % 64 == 0);

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
//
// Never inlined: every caller of an instantiation runs the same machine code
// (inlined copies may be vectorised or contracted differently, and then round
// differently), and its loop count is never a compile-time constant.
template <class Real, bool PerUnit, bool Wide, class SpikeAt>
__attribute__((noinline)) void update_span(Real* __restrict__ g, Real* __restrict__ x, countdown_t* __restrict__ cd,
                       std::int64_t i0, std::int64_t i1, const model_args<Real>& m,
                       SpikeAt spike_at) {
  // Local copies: loop-invariant values the vectoriser can broadcast.
  const Real dt = m.dt;
  const Real j_fast = m.j_fast;
  const unit_coeffs<Real> uniform = m.coeffs;
  const countdown_t pulse_steps = m.pulse_steps;
#pragma omp simd
  for (std::int64_t i = i0; i < i1; ++i) {
    const bool spike = spike_at(i);
    Real gi = g[i];
    Real xi = x[i];
    countdown_t next;
    if constexpr (PerUnit) {
      next = advance_unit<Real, Wide>(gi, xi, cd[i], spike, m.pulse[i], m.coeffs_of(i), dt, j_fast);
    } else {
      next = advance_unit<Real, Wide>(gi, xi, cd[i], spike, pulse_steps, uniform, dt, j_fast);
    }
    g[i] = gi;
    x[i] = xi;
    cd[i] = next;
  }
}

// Spike bytes of one row: element i spikes when p[i - offset] != 0. Every
// masked step (dense, resolved gates) runs this one instantiation of the
// SIMD loop, so they round identically.
struct byte_mask {
  const std::uint8_t* __restrict__ p;
  std::int64_t offset;
  bool operator()(std::int64_t i) const { return p[i - offset] != 0; }
};

// w * v rounded to Real before it is added anywhere: -ffast-math would fuse
// `acc += w * v` into one FMA, which rounds once where the per-presynaptic
// sum (compiled without fast-math) rounds twice. The empty asm holds the
// product in a register, so both modes sum a row to the same bits.
template <class Real>
inline Real rounded_product(Real w, Real v) {
  Real p = w * v;
#if defined(__x86_64__) || defined(__i386__)
  asm("" : "+x"(p));
#elif defined(__aarch64__)
  asm("" : "+w"(p));
#else
  volatile Real barrier = p;
  p = barrier;
#endif
  return p;
}

// A multiple of every vector width (64 bytes of float64 up to 64 float32 lanes).
constexpr std::int64_t simd_chunk = 64;

// The padded last chunk of a row, through the instantiation of update_span
// that the row's whole chunks use (the same spike type, hence the same code).
template <class Real, bool PerUnit, bool Wide, class SpikeAt>
inline void tail_span(Real* g, Real* x, countdown_t* cd, const model_args<Real>& m, const SpikeAt& spike_at,
                      const std::uint8_t* flags) {
  if constexpr (std::is_same_v<SpikeAt, byte_mask>) {
    update_span<Real, PerUnit, Wide>(g, x, cd, 0, simd_chunk, m, byte_mask{flags, 0});
  } else {
    static_assert(std::is_empty_v<SpikeAt>, "a spike source other than byte_mask must not depend on the index");
    update_span<Real, PerUnit, Wide>(g, x, cd, 0, simd_chunk, m, spike_at);
  }
}

// update_span over [i0, i1) such that every element goes through the vector
// code: whole chunks of simd_chunk elements in place, and the last partial
// chunk in a padded copy (the padding: zero state, no spike, the last unit's
// parameters). A scalar remainder loop would call scalar libm where the vector
// body calls the vector math library, and a unit's bits would depend on where
// it sits in the population; this way they depend only on its own inputs, so
// a network split over ranks (each rank holding some of the units) steps every
// unit to the same bits as one process does.
template <class Real, bool PerUnit, bool Wide, class SpikeAt>
inline void update_row(Real* __restrict__ g, Real* __restrict__ x, countdown_t* __restrict__ cd,
                       std::int64_t i0, std::int64_t i1, const model_args<Real>& m,
                       SpikeAt spike_at) {
  const std::int64_t body = i0 + (i1 - i0) / simd_chunk * simd_chunk;
  if (body > i0) update_span<Real, PerUnit, Wide>(g, x, cd, i0, body, m, spike_at);
  const std::int64_t n = i1 - body;
  if (n == 0) return;
  alignas(64) Real tg[simd_chunk] = {};
  alignas(64) Real tx[simd_chunk] = {};
  alignas(64) countdown_t tc[simd_chunk] = {};
  alignas(64) std::uint8_t ts[simd_chunk] = {};
  for (std::int64_t j = 0; j < n; ++j) {
    tg[j] = g[body + j];
    tx[j] = x[body + j];
    tc[j] = cd[body + j];
    ts[j] = spike_at(body + j) ? 1 : 0;
  }
  if constexpr (PerUnit) {
    alignas(64) Real a1[simd_chunk], b1[simd_chunk], ax[simd_chunk], b2[simd_chunk], hon[simd_chunk], hoff[simd_chunk];
    alignas(64) countdown_t pl[simd_chunk];
    for (std::int64_t j = 0; j < simd_chunk; ++j) {
      const std::int64_t k = body + std::min(j, n - 1);
      a1[j] = m.alpha1[k];
      b1[j] = m.beta1[k];
      ax[j] = m.ax_on[k];
      b2[j] = m.beta2[k];
      hon[j] = m.hx_on[k];
      hoff[j] = m.hx_off[k];
      pl[j] = m.pulse[k];
    }
    model_args<Real> tm = m;
    tm.alpha1 = a1;
    tm.beta1 = b1;
    tm.ax_on = ax;
    tm.beta2 = b2;
    tm.hx_on = hon;
    tm.hx_off = hoff;
    tm.pulse = pl;
    tail_span<Real, PerUnit, Wide>(tg, tx, tc, tm, spike_at, ts);
  } else {
    tail_span<Real, PerUnit, Wide>(tg, tx, tc, m, spike_at, ts);
  }
  for (std::int64_t j = 0; j < n; ++j) {
    g[body + j] = tg[j];
    x[body + j] = tx[j];
    cd[body + j] = tc[j];
  }
}

// The 8 flag bytes (0 or 1, least significant bit first) of each byte of a
// bit mask, as one little-endian 64-bit word: a 32-bit word of spikes becomes
// 32 flags in four loads and four stores.
struct byte_flag_table {
  std::uint64_t of[256];
  constexpr byte_flag_table() : of() {
    for (unsigned v = 0; v < 256; ++v) {
      std::uint64_t word = 0;
      for (unsigned j = 0; j < 8; ++j) word |= static_cast<std::uint64_t>((v >> j) & 1u) << (8 * j);
      of[v] = word;
    }
  }
};
constexpr byte_flag_table byte_flags{};
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "byte_flags assumes little-endian bytes");

// No spike at any element.
struct no_spike {
  bool operator()(std::int64_t) const { return false; }
};

// Step one tile [i0, i1) of batch row b (element offset row = b * N) with the
// spikes of one step's gate. The step and every step of a window go through
// here, so they run the same instantiations of the SIMD loop and round
// identically. flags: scratch of tile bytes.
template <class Real, bool PerUnit, bool Wide, class Spikes>
inline void step_tile(const state_ptrs<Real>& s, const model_args<Real>& m, const Spikes& spikes, std::int64_t b,
                      std::int64_t i0, std::int64_t i1, std::uint8_t* __restrict__ flags) {
  const std::int64_t row = b * s.units;
  Real* g = s.g + row;
  Real* x = s.x + row;
  countdown_t* cd = s.countdown + row;
  if constexpr (std::is_same_v<Spikes, gate_none>) {
    update_row<Real, PerUnit, Wide>(g, x, cd, i0, i1, m, no_spike{});
  } else if constexpr (std::is_same_v<Spikes, gate_dense>) {
    update_row<Real, PerUnit, Wide>(g, x, cd, i0, i1, m, byte_mask{spikes.mask + row, 0});
  } else {
    // Gathers, bits and hashes do not vectorise alongside the float update:
    // resolve this tile's spikes into a byte mask first. After spike events
    // (their pulses already started) the mask is empty, and the step rounds
    // exactly as the dense step with those spikes would.
    if constexpr (std::is_same_v<Spikes, gate_after_events>) {
      std::fill(flags, flags + (i1 - i0), std::uint8_t{0});
    } else if constexpr (std::is_same_v<Spikes, gate_bits>) {
      // i0 is a multiple of 32: whole words, 32 flags at a time (flags has
      // room for the last word's bits past i1).
      const std::uint32_t* words = spikes.words + b * spikes.words_per_row;
      for (std::int64_t w = i0 >> 5; w * 32 < i1; ++w) {
        const std::uint32_t v = words[w];
        std::uint8_t* f = flags + (w * 32 - i0);
        for (int q = 0; q < 4; ++q) {
          const std::uint64_t eight = byte_flags.of[(v >> (8 * q)) & 0xffu];
          std::memcpy(f + 8 * q, &eight, sizeof eight);
        }
      }
    } else {
      for (std::int64_t i = i0; i < i1; ++i) flags[i - i0] = spikes(row + i, b, i) ? 1 : 0;
    }
    update_row<Real, PerUnit, Wide>(g, x, cd, i0, i1, m, byte_mask{flags, i0});
  }
}

// Calls body(b, i0, i1, flags) for every tile [i0, i1) of every batch row b,
// spread over the team, with subnormals flushed and tile bytes of scratch.
template <class Real, class Body>
void for_each_tile(const state_ptrs<Real>& s, const cpu_exec& exec, Body body) {
  const std::int64_t N = s.units;
  const std::int64_t tiles_per_row = (N + tile - 1) / tile;
  parallel_for(exec, tiles_per_row * s.batch, [&](std::int64_t t) {
      const flush_subnormals ftz;
      const std::int64_t b = t / tiles_per_row;
      const std::int64_t i0 = (t - b * tiles_per_row) * tile;
      alignas(64) std::uint8_t flags[tile];
      body(b, i0, std::min(N, i0 + tile), flags);
  });
}

template <class Real, bool PerUnit, bool Wide, class Spikes>
void run(const state_ptrs<Real>& s, const model_args<Real>& m, Spikes spikes, const cpu_exec& exec) {
  for_each_tile(s, exec, [&](std::int64_t b, std::int64_t i0, std::int64_t i1, std::uint8_t* flags) {
    step_tile<Real, PerUnit, Wide>(s, m, spikes, b, i0, i1, flags);
  });
}

// A window of steps: each tile goes through all of them while it stays in
// cache, so the state moves through memory once per window; the recorded
// elements of the tile are written after each step.
template <class Real, bool PerUnit, bool Wide, class Window>
void run_window(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w, std::int64_t steps,
                const window_record<Real>& rec, const cpu_exec& exec) {
  const std::int64_t N = s.units;
  const bool recording = rec.active();
  for_each_tile(s, exec, [&](std::int64_t b, std::int64_t i0, std::int64_t i1, std::uint8_t* flags) {
      // The tile in blocks that stay in L1 through all the steps. A block
      // starts at a multiple of window_block from the tile's start, so the
      // SIMD loop groups the same elements into vectors as the step does
      // (only the row's last elements are left to the loop's remainder).
      for (std::int64_t s0 = i0; s0 < i1; s0 += window_block) {
        const std::int64_t s1 = std::min(i1, s0 + window_block);
        const std::int64_t q0 = recording ? rec.lower_bound(b * N + s0) : 0;
        const std::int64_t q1 = recording ? rec.lower_bound(b * N + s1) : 0;
        for (std::int64_t k = 0; k < steps; ++k) {
          // The next step's spikes of this block lie a whole step's mask
          // away, where no hardware prefetcher looks: fetch them now.
          if (k + 1 < steps) {
            if constexpr (std::is_same_v<Window, window_bits>) {
              const std::uint32_t* next = w.words + (k + 1) * w.step_stride + b * w.words_per_row + (s0 >> 5);
              for (std::int64_t q = 0; q < (s1 - s0 + 31) / 32; q += 16) __builtin_prefetch(next + q);
            } else if constexpr (std::is_same_v<Window, window_dense>) {
              const std::uint8_t* next = w.mask + (k + 1) * w.step_stride + b * N + s0;
              for (std::int64_t q = 0; q < s1 - s0; q += 64) __builtin_prefetch(next + q);
            }
          }
          step_tile<Real, PerUnit, Wide>(s, m, w.at(k), b, s0, s1, flags);
          if (rec.history != nullptr) {
            if (rec.history_by_element) {  // [B*N][K]
              Real* h = rec.history + (b * N) * steps + k;
              for (std::int64_t i = s0; i < s1; ++i) h[i * steps] = s.g[b * N + i];
            } else {  // [K][B*N]
              std::copy(s.g + b * N + s0, s.g + b * N + s1, rec.history + k * N * s.batch + b * N + s0);
            }
          }
          for (std::int64_t r = q0; r < q1; ++r) rec.put(k, r, s.g[rec.element[r]], s.x[rec.element[r]]);
        }
      }
  });
}

// Per-synapse mode: units are synapses sorted by postsynaptic neuron. Work
// is split into tiles of contiguous synapses; a tile owns the rows that start
// in it (a long row is finished by its owner, chunk by chunk). Each chunk is
// updated by the SIMD loop and summed into its rows while still in L1, so g
// goes from the update into g_post = sum gmax * g and the Mg-blocked current.
// A window runs its steps one after another on each tile: step k with the
// gates of window.at(k), its sums into out_at(k).
template <class Real, bool PerUnit, bool Wide, class Window, class OutAt>
void run_fused_post(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& window, std::int64_t steps,
                    const post_args<Real>& a, OutAt out_at, const cpu_exec& exec) {
  const std::int64_t N = s.units;  // synapses, = row_offsets[n_post]
  const std::int64_t n_post = a.n_post;
  const std::int64_t* offsets = a.row_offsets;
  const std::int64_t tiles = std::max<std::int64_t>(1, (N + tile - 1) / tile);
  // First row starting at or after synapse k.
  auto first_row_from = [&](std::int64_t k) {
    return static_cast<std::int64_t>(std::lower_bound(offsets, offsets + n_post, k) - offsets);
  };
  parallel_for(exec, tiles * s.batch, [&](std::int64_t w) {
      const flush_subnormals ftz;
      const std::int64_t b = w / tiles;
      const std::int64_t t = w - b * tiles;
      const std::int64_t j0 = t == 0 ? 0 : first_row_from(t * tile);
      const std::int64_t j1 = t + 1 == tiles ? n_post : first_row_from((t + 1) * tile);
      if (j0 >= j1) return;
      const std::int64_t row = b * N;
      Real* g = s.g + row;
      const std::int64_t k_end = offsets[j1];
      for (std::int64_t step = 0; step < steps; ++step) {
        const auto gate = window.at(step);
        const post_outputs<Real> out = out_at(step);
        std::int64_t j = j0;
        Real acc = 0;
        auto finish_rows_until = [&](std::int64_t k) {  // close every row ending at or before k
          while (j < j1 && offsets[j + 1] <= k) {
            finish_post_row(out, a.mg, b * n_post + j, acc);
            acc = 0;
            ++j;
          }
        };
        finish_rows_until(offsets[j0]);  // leading empty rows
        for (std::int64_t c0 = offsets[j0]; c0 < k_end; c0 += tile) {
          const std::int64_t c1 = std::min(k_end, c0 + tile);
          alignas(64) std::uint8_t flags[tile];
          for (std::int64_t k = c0; k < c1; ++k) flags[k - c0] = gate(row + k, b, k) ? 1 : 0;
          // byte_mask: the instantiation of every other masked step, so a
          // synapse's g has the bits of its presynaptic unit in per-presynaptic mode.
          update_row<Real, PerUnit, Wide>(g, s.x + row, s.countdown + row, c0, c1, m, byte_mask{flags, c0});
          for (std::int64_t k = c0; k < c1; ++k) {
            acc += rounded_product(a.gmax[k], g[k]);
            if (k + 1 == offsets[j + 1]) finish_rows_until(k + 1);
          }
        }
        finish_rows_until(k_end);
      }
  });
}

}  // namespace

template <class Real, class Gate>
void cpu_step(const state_ptrs<Real>& s, const model_args<Real>& m, const Gate& gate, const cpu_exec& exec) {
  // Populations far from the large-|dt*J| range run the shorter update.
  if (m.per_unit) {
    m.wide_range ? run<Real, true, true>(s, m, gate, exec) : run<Real, true, false>(s, m, gate, exec);
  } else {
    m.wide_range ? run<Real, false, true>(s, m, gate, exec) : run<Real, false, false>(s, m, gate, exec);
  }
}

template <class Real, class Window, class OutAt>
void post_window(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w, std::int64_t steps,
                 const post_args<Real>& map, OutAt out_at, const cpu_exec& exec) {
  if (m.per_unit) {
    m.wide_range ? run_fused_post<Real, true, true>(s, m, w, steps, map, out_at, exec)
                 : run_fused_post<Real, true, false>(s, m, w, steps, map, out_at, exec);
  } else {
    m.wide_range ? run_fused_post<Real, false, true>(s, m, w, steps, map, out_at, exec)
                 : run_fused_post<Real, false, false>(s, m, w, steps, map, out_at, exec);
  }
}

template <class Real, class Window>
void cpu_window_post(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w, std::int64_t steps,
                     const post_args<Real>& map, Real* g_post, const cpu_exec& exec) {
  const std::int64_t rows = map.n_post * s.batch;
  post_window(s, m, w, steps, map,
              [g_post, rows](std::int64_t k) { return post_outputs<Real>{g_post + k * rows, nullptr, nullptr}; }, exec);
}

template <class Real, class Window>
void cpu_window(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w, std::int64_t steps,
                const window_record<Real>& rec, const cpu_exec& exec) {
  if (m.per_unit) {
    m.wide_range ? run_window<Real, true, true>(s, m, w, steps, rec, exec)
                 : run_window<Real, true, false>(s, m, w, steps, rec, exec);
  } else {
    m.wide_range ? run_window<Real, false, true>(s, m, w, steps, rec, exec)
                 : run_window<Real, false, false>(s, m, w, steps, rec, exec);
  }
}

template <class Real>
void cpu_step_post(const state_ptrs<Real>& s, const model_args<Real>& m, const gate_presynaptic& gate,
                   const post_args<Real>& map, const post_outputs<Real>& out, const cpu_exec& exec) {
  post_window(s, m, window_single<gate_presynaptic>{gate}, 1, map, [&out](std::int64_t) { return out; }, exec);
}

#define BIONMDA_INSTANTIATE_CPU_STEP(Real, Gate) \
  template void cpu_step<Real, Gate>(const state_ptrs<Real>&, const model_args<Real>&, const Gate&, const cpu_exec&);
#define BIONMDA_INSTANTIATE_CPU_STEPS(Gate) \
  BIONMDA_INSTANTIATE_CPU_STEP(float, Gate) BIONMDA_INSTANTIATE_CPU_STEP(double, Gate)
BIONMDA_CPU_GATES(BIONMDA_INSTANTIATE_CPU_STEPS)
#define BIONMDA_INSTANTIATE_CPU_WINDOW(Real, Window)                                                    \
  template void cpu_window<Real, Window>(const state_ptrs<Real>&, const model_args<Real>&, const Window&, \
                                         std::int64_t, const window_record<Real>&, const cpu_exec&);
#define BIONMDA_INSTANTIATE_CPU_WINDOWS(Window) \
  BIONMDA_INSTANTIATE_CPU_WINDOW(float, Window) BIONMDA_INSTANTIATE_CPU_WINDOW(double, Window)
BIONMDA_CPU_WINDOWS(BIONMDA_INSTANTIATE_CPU_WINDOWS)
#define BIONMDA_INSTANTIATE_CPU_WINDOW_POST(Real, Window)                                                   \
  template void cpu_window_post<Real, Window>(const state_ptrs<Real>&, const model_args<Real>&, const Window&, \
                                              std::int64_t, const post_args<Real>&, Real*, const cpu_exec&);
#define BIONMDA_INSTANTIATE_CPU_WINDOWS_POST(Window) \
  BIONMDA_INSTANTIATE_CPU_WINDOW_POST(float, Window) BIONMDA_INSTANTIATE_CPU_WINDOW_POST(double, Window)
BIONMDA_INSTANTIATE_CPU_WINDOWS_POST(window_presynaptic)
BIONMDA_INSTANTIATE_CPU_WINDOWS_POST(window_presynaptic_bits)
template void cpu_step_post<float>(const state_ptrs<float>&, const model_args<float>&, const gate_presynaptic&,
                                   const post_args<float>&, const post_outputs<float>&, const cpu_exec&);
template void cpu_step_post<double>(const state_ptrs<double>&, const model_args<double>&, const gate_presynaptic&,
                                    const post_args<double>&, const post_outputs<double>&, const cpu_exec&);

}  // namespace bionmda::detail::BIONMDA_CPU_ISA
