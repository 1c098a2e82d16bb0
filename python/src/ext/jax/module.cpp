// The module bionmda._jax_ffi: the XLA FFI handlers of bionmda.jax as
// capsules, for jax.ffi.register_ffi_target (bionmda/jax.py registers them).
#include <nanobind/nanobind.h>

#include "ffi_handlers.hpp"

namespace nb = nanobind;

namespace {

template <class Fn>
nb::capsule handler_capsule(Fn* fn) {
  return nb::capsule(reinterpret_cast<void*>(fn));
}

}  // namespace

NB_MODULE(_jax_ffi, m) {
  m.doc() = "XLA FFI handlers of bionmda.jax (use bionmda.jax, which registers them).";
  nb::dict targets;
  nb::dict cpu;
  cpu["bionmda_step"] = handler_capsule(bionmda_jax_step_cpu);
  cpu["bionmda_window"] = handler_capsule(bionmda_jax_window_cpu);
  targets["cpu"] = cpu;
#if BIONMDA_JAX_CUDA
  nb::dict cuda;
  cuda["bionmda_step"] = handler_capsule(bionmda_jax_step_cuda);
  cuda["bionmda_window"] = handler_capsule(bionmda_jax_window_cuda);
  targets["CUDA"] = cuda;
#endif
  m.attr("targets") = targets;
  m.attr("cuda_compiled") = static_cast<bool>(BIONMDA_JAX_CUDA);
}
