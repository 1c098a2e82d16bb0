#pragma once
// The CPU backend's fused steps. Defined in cpu_kernels.cpp, which is compiled
// once per instruction set (generic x86-64, AVX2+FMA, AVX-512) with vector math
// enabled, and chosen at run time (cpu_dispatch.cpp).
#include <cstdint>

#include "bionmda/detail/post_args.hpp"
#include "bionmda/detail/step_args.hpp"
#include "bionmda/detail/window_args.hpp"
#include "cpu_team.hpp"

namespace bionmda::detail {

/// The gates the CPU step is compiled for (one entry per kind of input resolved in the step).
#define BIONMDA_CPU_GATES(X) \
  X(gate_none) X(gate_dense) X(gate_presynaptic) X(gate_poisson) X(gate_after_events) X(gate_bits) X(gate_presynaptic_bits)
/// The window gates the CPU window is compiled for (window_args.hpp).
#define BIONMDA_CPU_WINDOWS(X) \
  X(window_none) X(window_dense) X(window_bits) X(window_presynaptic) X(window_presynaptic_bits) X(window_poisson)

#define BIONMDA_DECLARE_CPU_STEP(isa)                                                                   \
  namespace isa {                                                                                      \
  template <class Real, class Gate>                                                                    \
  void cpu_step(const state_ptrs<Real>& s, const model_args<Real>& m, const Gate& gate, const cpu_exec& exec); \
  template <class Real, class Window>                                                                  \
  void cpu_window(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w, std::int64_t steps, \
                  const window_record<Real>& rec, const cpu_exec& exec);                               \
  template <class Real, class Window>                                                                  \
  void cpu_window_post(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w, std::int64_t steps, \
                       const post_args<Real>& map, Real* g_post, const cpu_exec& exec);                \
  template <class Real>                                                                                \
  void cpu_step_post(const state_ptrs<Real>& s, const model_args<Real>& m, const gate_presynaptic& gate, \
                     const post_args<Real>& map, const post_outputs<Real>& out, const cpu_exec& exec);  \
  }
BIONMDA_DECLARE_CPU_STEP(generic)
BIONMDA_DECLARE_CPU_STEP(avx2)
BIONMDA_DECLARE_CPU_STEP(avx512)
#undef BIONMDA_DECLARE_CPU_STEP

/// The best instruction set this CPU supports (BIONMDA_CPU_ISA may lower it).
enum class cpu_isa_level { generic, avx2, avx512 };
/// The highest variant compiled into the library (CMake's BIONMDA_CPU_ISA_MAX):
/// 0 generic, 1 avx2, 2 avx512.
#ifndef BIONMDA_CPU_ISA_MAX_LEVEL
#define BIONMDA_CPU_ISA_MAX_LEVEL 2
#endif
[[nodiscard]] cpu_isa_level cpu_isa_chosen() noexcept;

/// One fused step on the chosen instruction set.
template <class Real, class Gate>
void cpu_step(const state_ptrs<Real>& s, const model_args<Real>& m, const Gate& gate, const cpu_exec& exec) {
  switch (cpu_isa_chosen()) {
#if BIONMDA_CPU_ISA_MAX_LEVEL >= 2
    case cpu_isa_level::avx512: return avx512::cpu_step(s, m, gate, exec);
#endif
#if BIONMDA_CPU_ISA_MAX_LEVEL >= 1
    case cpu_isa_level::avx2: return avx2::cpu_step(s, m, gate, exec);
#endif
    default: break;
  }
  generic::cpu_step(s, m, gate, exec);
}

/// A window of fused steps on the chosen instruction set.
template <class Real, class Window>
void cpu_window(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w, std::int64_t steps,
                const window_record<Real>& rec, const cpu_exec& exec) {
  switch (cpu_isa_chosen()) {
#if BIONMDA_CPU_ISA_MAX_LEVEL >= 2
    case cpu_isa_level::avx512: return avx512::cpu_window(s, m, w, steps, rec, exec);
#endif
#if BIONMDA_CPU_ISA_MAX_LEVEL >= 1
    case cpu_isa_level::avx2: return avx2::cpu_window(s, m, w, steps, rec, exec);
#endif
    default: break;
  }
  generic::cpu_window(s, m, w, steps, rec, exec);
}

/// Per-synapse mode: a window of fused steps with the per-post sums of every
/// step, g_post [K][B][n_post], on the chosen instruction set.
template <class Real, class Window>
void cpu_window_post(const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w, std::int64_t steps,
                     const post_args<Real>& map, Real* g_post, const cpu_exec& exec) {
  switch (cpu_isa_chosen()) {
#if BIONMDA_CPU_ISA_MAX_LEVEL >= 2
    case cpu_isa_level::avx512: return avx512::cpu_window_post(s, m, w, steps, map, g_post, exec);
#endif
#if BIONMDA_CPU_ISA_MAX_LEVEL >= 1
    case cpu_isa_level::avx2: return avx2::cpu_window_post(s, m, w, steps, map, g_post, exec);
#endif
    default: break;
  }
  generic::cpu_window_post(s, m, w, steps, map, g_post, exec);
}

/// Per-synapse mode: one step with the per-post sums fused in, on the chosen instruction set.
template <class Real>
void cpu_step_post(const state_ptrs<Real>& s, const model_args<Real>& m, const gate_presynaptic& gate,
                   const post_args<Real>& map, const post_outputs<Real>& out, const cpu_exec& exec) {
  switch (cpu_isa_chosen()) {
#if BIONMDA_CPU_ISA_MAX_LEVEL >= 2
    case cpu_isa_level::avx512: return avx512::cpu_step_post(s, m, gate, map, out, exec);
#endif
#if BIONMDA_CPU_ISA_MAX_LEVEL >= 1
    case cpu_isa_level::avx2: return avx2::cpu_step_post(s, m, gate, map, out, exec);
#endif
    default: break;
  }
  generic::cpu_step_post(s, m, gate, map, out, exec);
}

/// Name of the instruction set cpu_step uses on this machine ("avx512", "avx2" or "generic").
const char* cpu_isa() noexcept;

}  // namespace bionmda::detail
