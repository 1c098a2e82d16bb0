// Chooses the CPU step compiled for the best instruction set available.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "bionmda/backend.hpp"
#include "cpu_kernels.hpp"

namespace bionmda::detail {
namespace {
enum class isa { generic, avx2, avx512 };

isa detect() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")) {
    return isa::avx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return isa::avx2;
#endif
  return isa::generic;
}

// BIONMDA_CPU_ISA=generic|avx2|avx512 lowers the choice (for testing every
// variant on one machine); it never raises it above what the CPU supports.
isa best() noexcept {
  static const isa chosen = [] {
    const isa supported = detect();
    const char* env = std::getenv("BIONMDA_CPU_ISA");
    if (env == nullptr) return supported;
    const std::string want(env);
    const isa requested = want == "generic" ? isa::generic
                          : want == "avx2"  ? isa::avx2
                                            : isa::avx512;
    return std::min(requested, supported);
  }();
  return chosen;
}
}  // namespace

}  // namespace bionmda::detail

const char* bionmda::cpu_instruction_set() noexcept { return bionmda::detail::cpu_isa(); }

namespace bionmda::detail {

const char* cpu_isa() noexcept {
  switch (best()) {
    case isa::avx512: return "avx512";
    case isa::avx2: return "avx2";
    case isa::generic: break;
  }
  return "generic";
}

template <class Real>
void cpu_step(const state_ptrs<Real>& s, const model_args<Real>& m, const cpu_input& in) {
  switch (best()) {
    case isa::avx512: return avx512::cpu_step(s, m, in);
    case isa::avx2: return avx2::cpu_step(s, m, in);
    case isa::generic: return generic::cpu_step(s, m, in);
  }
}

template void cpu_step<float>(const state_ptrs<float>&, const model_args<float>&,
                              const cpu_input&);
template void cpu_step<double>(const state_ptrs<double>&, const model_args<double>&,
                               const cpu_input&);

}  // namespace bionmda::detail
