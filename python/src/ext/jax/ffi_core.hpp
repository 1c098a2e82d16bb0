#pragma once
// The XLA FFI handlers' common body (bionmda.jax): one function for both
// platforms, which checks XLA's buffers, points a cached population at them
// (population::bind_state) and runs the library's own step or window on them.
// The platform handlers (ffi_cpu.cpp, ffi_cuda.cpp) only decode the call frame
// and say where the buffers live and how to copy them.
#include <cstddef>
#include <utility>

#include <xla/ffi/api/ffi.h>

#include <bionmda/backend.hpp>
#include <bionmda/stream.hpp>

namespace bionmda::jax_ffi {

namespace ffi = xla::ffi;

/** @brief The static attributes of a call: the kinetic parameters [BrainPy units] and dt [ms]. */
struct model_attributes {
  double alpha1;  ///< 1/ms
  double beta1;   ///< 1/ms
  double alpha2;  ///< 1/(ms*mM)
  double beta2;   ///< 1/ms
  double T;       ///< mM
  double T_dur;   ///< ms
  double dt;      ///< ms
};

/** @brief Where a call runs: the backend, its device and stream, and a byte copy on that stream. */
struct platform {
  bionmda::backend backend;
  int device;
  cudaStream_t stream;
  /// Copies bytes between two buffers of this platform, ordered on stream (no wait).
  void (*copy)(void* dst, const void* src, std::size_t bytes, cudaStream_t stream);
};

/**
 * @brief One step (window = false; spikes shaped like g) or one window
 *        (window = true; spikes [K, *g.shape]) of the state (g, x, countdown)
 *        into (g_out, x_out, countdown_out), which XLA may alias to the inputs.
 *        Never throws: errors come back as ffi::Error naming the argument.
 */
ffi::Error run(const platform& where, bool window, ffi::AnyBuffer g, ffi::AnyBuffer x, ffi::AnyBuffer countdown,
               ffi::AnyBuffer spikes, const model_attributes& model, ffi::Result<ffi::AnyBuffer> g_out,
               ffi::Result<ffi::AnyBuffer> x_out, ffi::Result<ffi::AnyBuffer> countdown_out);

/** @brief The binding shared by the step and window handlers of both platforms, after the platform's context. */
template <class Binding>
auto bind_arguments(Binding b) {
  return std::move(b).template Arg<ffi::AnyBuffer>()  // g
      .template Arg<ffi::AnyBuffer>()      // x
      .template Arg<ffi::AnyBuffer>()      // countdown
      .template Arg<ffi::AnyBuffer>()      // spikes
      .template Attr<double>("alpha1")
      .template Attr<double>("beta1")
      .template Attr<double>("alpha2")
      .template Attr<double>("beta2")
      .template Attr<double>("T")
      .template Attr<double>("T_dur")
      .template Attr<double>("dt")
      .template Ret<ffi::AnyBuffer>()  // g_out
      .template Ret<ffi::AnyBuffer>()  // x_out
      .template Ret<ffi::AnyBuffer>(); // countdown_out
}

}  // namespace bionmda::jax_ffi
