#pragma once
// The XLA FFI handlers' common body (bionmda.jax): one function for both
// platforms, which checks XLA's buffers, points a cached population at them
// (population::bind_state) and runs the library's own step or window on them.
// The platform handlers (ffi_cpu.cpp, ffi_cuda.cpp) only decode the call frame
// and say where the buffers live and how to copy them.
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <xla/ffi/api/ffi.h>

#include <bionmda/backend.hpp>
#include <bionmda/stream.hpp>

namespace bionmda::jax_ffi {

namespace ffi = xla::ffi;

/** @brief The number of kinetic parameters (bionmda::kinetic_parameters), in its order. */
inline constexpr std::size_t parameter_count = 6;

/**
 * @brief The static attributes of a call: the kinetic parameters [BrainPy units] and dt [ms].
 *
 * The scalar targets (bionmda_step, bionmda_window) give one value per
 * parameter. The per-unit targets (bionmda_step_units, bionmda_window_units)
 * give each parameter as 1 value (the same for every unit) or N values (one
 * per unit), plus params_key, a 64-bit hash of all the values that keys the
 * population cache without reading them on every call.
 */
struct model_attributes {
  /// alpha1, beta1, alpha2, beta2, T, T_dur: 1/ms, 1/ms, 1/(ms*mM), 1/ms, mM, ms.
  std::array<ffi::Span<const double>, parameter_count> params;
  double dt;                   ///< ms
  bool per_unit;               ///< a per-unit target (params may hold N values each)
  std::int64_t params_key;     ///< per-unit targets: the caller's hash of the values, as an i64 (0 otherwise)
};

/** @brief Where a call runs: the backend, its device and stream, and a byte copy on that stream. */
struct platform {
  bionmda::backend backend;
  int device;
  cudaStream_t stream;
  /// Copies bytes between two buffers of this platform, ordered on stream (no wait).
  void (*copy)(void* dst, const void* src, std::size_t bytes, cudaStream_t stream);
  /// Whether stream is being captured into a CUDA graph (nullptr: never).
  bool (*capturing)(cudaStream_t stream);
};

/** @brief What a call does: check and build the population only, or also step it. */
enum class stage {
  prepare,  ///< the initialize stage: build the population (allocations allowed), run nothing
  execute   ///< the execute stage: step (builds the population first if no earlier stage did)
};

/**
 * @brief One step (window = false; spikes shaped like g) or one window
 *        (window = true; spikes [K, *g.shape]) of the state (g, x, countdown)
 *        into (g_out, x_out, countdown_out), which XLA may alias to the inputs.
 *        With stage::prepare, only checks the call and builds its population.
 *        Never throws: errors come back as ffi::Error naming the argument.
 */
ffi::Error run(const platform& where, stage what, bool window, ffi::AnyBuffer g, ffi::AnyBuffer x,
               ffi::AnyBuffer countdown, ffi::AnyBuffer spikes, const model_attributes& model,
               ffi::Result<ffi::AnyBuffer> g_out, ffi::Result<ffi::AnyBuffer> x_out,
               ffi::Result<ffi::AnyBuffer> countdown_out);

/** @brief The binding of the scalar step and window handlers of both platforms, after the platform's context. */
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

/**
 * @brief The binding of the per-unit step and window handlers (any stage),
 *        after the platform's context: each parameter an F64 array of 1 or N
 *        values, dt, and the values' 64-bit key.
 */
template <class Binding>
auto bind_unit_arguments(Binding b) {
  using values = ffi::Span<const double>;
  return std::move(b).template Arg<ffi::AnyBuffer>()  // g
      .template Arg<ffi::AnyBuffer>()      // x
      .template Arg<ffi::AnyBuffer>()      // countdown
      .template Arg<ffi::AnyBuffer>()      // spikes
      .template Attr<values>("alpha1")
      .template Attr<values>("beta1")
      .template Attr<values>("alpha2")
      .template Attr<values>("beta2")
      .template Attr<values>("T")
      .template Attr<values>("T_dur")
      .template Attr<double>("dt")
      .template Attr<std::int64_t>("params_key")
      .template Ret<ffi::AnyBuffer>()  // g_out
      .template Ret<ffi::AnyBuffer>()  // x_out
      .template Ret<ffi::AnyBuffer>(); // countdown_out
}

/** @brief model_attributes of a scalar call; the spans point at the handler's own arguments. */
struct scalar_attributes {
  std::array<double, parameter_count> values;
  double dt;
  [[nodiscard]] model_attributes model() const {
    model_attributes m{};
    for (std::size_t i = 0; i < parameter_count; ++i) m.params[i] = ffi::Span<const double>(&values[i], 1);
    m.dt = dt;
    m.per_unit = false;
    m.params_key = 0;
    return m;
  }
};

}  // namespace bionmda::jax_ffi
