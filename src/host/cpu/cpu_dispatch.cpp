// Chooses the CPU step compiled for the best instruction set available.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "bionmda/backend.hpp"
#include "cpu_kernels.hpp"

namespace bionmda::detail {
namespace {

cpu_isa_level detect() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")) {
    return cpu_isa_level::avx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return cpu_isa_level::avx2;
#endif
  return cpu_isa_level::generic;
}

}  // namespace

// BIONMDA_CPU_ISA=generic|avx2|avx512 lowers the choice (for testing every
// variant on one machine); it never raises it above what the CPU supports,
// nor above the variants compiled in (BIONMDA_CPU_ISA_MAX_LEVEL).
cpu_isa_level cpu_isa_chosen() noexcept {
  static const cpu_isa_level chosen = [] {
    const cpu_isa_level supported =
        std::min(detect(), static_cast<cpu_isa_level>(BIONMDA_CPU_ISA_MAX_LEVEL));
    const char* env = std::getenv("BIONMDA_CPU_ISA");
    if (env == nullptr) return supported;
    const std::string want(env);
    const cpu_isa_level requested = want == "generic" ? cpu_isa_level::generic
                                    : want == "avx2"  ? cpu_isa_level::avx2
                                                      : cpu_isa_level::avx512;
    return std::min(requested, supported);
  }();
  return chosen;
}

const char* cpu_isa() noexcept {
  switch (cpu_isa_chosen()) {
    case cpu_isa_level::avx512: return "avx512";
    case cpu_isa_level::avx2: return "avx2";
    case cpu_isa_level::generic: break;
  }
  return "generic";
}

}  // namespace bionmda::detail

const char* bionmda::cpu_instruction_set() noexcept { return bionmda::detail::cpu_isa(); }
