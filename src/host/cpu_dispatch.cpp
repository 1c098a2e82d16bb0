// Chooses the CPU step compiled for the best instruction set available.
#include "cpu_kernels.hpp"

namespace bionmda::detail {
namespace {
bool has_avx2_fma() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}
}  // namespace

const char* cpu_isa() noexcept { return has_avx2_fma() ? "avx2" : "generic"; }

template <class Real>
void cpu_step(const state_ptrs<Real>& s, const model_args<Real>& m, const cpu_input& in) {
  if (has_avx2_fma()) {
    avx2::cpu_step(s, m, in);
  } else {
    generic::cpu_step(s, m, in);
  }
}

template void cpu_step<float>(const state_ptrs<float>&, const model_args<float>&,
                              const cpu_input&);
template void cpu_step<double>(const state_ptrs<double>&, const model_args<double>&,
                               const cpu_input&);

}  // namespace bionmda::detail
