// The module bionmda._jax_ffi: the XLA FFI handlers of bionmda.jax as
// capsules (a dict of capsules by stage where a target has more than the execute stage), for
// jax.ffi.register_ffi_target (bionmda/jax.py registers them).
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
  cpu["bionmda_step_units"] = handler_capsule(bionmda_jax_step_units_cpu);
  cpu["bionmda_window_units"] = handler_capsule(bionmda_jax_window_units_cpu);
  targets["cpu"] = cpu;
#if BIONMDA_JAX_CUDA
  nb::dict cuda;
  cuda["bionmda_step"] = handler_capsule(bionmda_jax_step_cuda);
  cuda["bionmda_window"] = handler_capsule(bionmda_jax_window_cuda);
  // Per-unit parameters: the initialize stage builds the population (device
  // memory for its tables) before the execute stage, outside graph capture.
  nb::dict step_units;
  step_units["initialize"] = handler_capsule(bionmda_jax_step_units_cuda_initialize);
  step_units["execute"] = handler_capsule(bionmda_jax_step_units_cuda);
  cuda["bionmda_step_units"] = step_units;
  nb::dict window_units;
  window_units["initialize"] = handler_capsule(bionmda_jax_window_units_cuda_initialize);
  window_units["execute"] = handler_capsule(bionmda_jax_window_units_cuda);
  cuda["bionmda_window_units"] = window_units;
  targets["CUDA"] = cuda;
#endif
  m.attr("targets") = targets;
  m.attr("cuda_compiled") = static_cast<bool>(BIONMDA_JAX_CUDA);
}
