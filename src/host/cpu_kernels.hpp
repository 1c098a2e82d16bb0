#pragma once
// The CPU backend's fused step. Defined in cpu_kernels.cpp, which is compiled
// once per instruction set (generic x86-64, AVX2+FMA, AVX-512) with vector math
// enabled, and chosen at run time.
#include <cstdint>

#include "bionmda/detail/step_args.hpp"
#include "engine.hpp"

namespace bionmda::detail {

/// Spike input of one CPU step (host memory).
struct cpu_input {
  step_request::kind kind = step_request::kind::none;
  const std::uint8_t* mask = nullptr;
  const std::int32_t* sources = nullptr;
  std::int64_t n_pre = 0;
  std::uint64_t key = 0;
  std::uint64_t threshold = 0;
  bool always = false;
  // Per-synapse mode (kind presynaptic): post_args<Real>* and outputs.
  const void* post = nullptr;
  void* g_post = nullptr;
  const void* V = nullptr;
  void* I = nullptr;
};

#define BIONMDA_DECLARE_CPU_STEP(isa)                                                        \
  namespace isa {                                                                           \
  void cpu_step(const state_ptrs<float>& s, const model_args<float>& m, const cpu_input& in); \
  void cpu_step(const state_ptrs<double>& s, const model_args<double>& m,                   \
                const cpu_input& in);                                                        \
  }
BIONMDA_DECLARE_CPU_STEP(generic)
BIONMDA_DECLARE_CPU_STEP(avx2)
BIONMDA_DECLARE_CPU_STEP(avx512)
#undef BIONMDA_DECLARE_CPU_STEP

/// Dispatches to the best instruction set this CPU supports.
template <class Real>
void cpu_step(const state_ptrs<Real>& s, const model_args<Real>& m, const cpu_input& in);

/// Name of the instruction set cpu_step uses on this machine ("avx512", "avx2" or "generic").
const char* cpu_isa() noexcept;

}  // namespace bionmda::detail
