// The CPU platform's FFI handlers of bionmda.jax: decode, then ffi_core's run.
#include <cstring>

#include "ffi_core.hpp"
#include "ffi_handlers.hpp"

namespace bionmda::jax_ffi {
namespace {

void host_copy(void* dst, const void* src, std::size_t bytes, cudaStream_t) { std::memcpy(dst, src, bytes); }

constexpr platform cpu{backend::cpu, 0, nullptr, &host_copy, nullptr};

template <bool Window>
ffi::Error cpu_call(ffi::AnyBuffer g, ffi::AnyBuffer x, ffi::AnyBuffer countdown, ffi::AnyBuffer spikes, double alpha1,
                    double beta1, double alpha2, double beta2, double T, double T_dur, double dt,
                    ffi::Result<ffi::AnyBuffer> g_out, ffi::Result<ffi::AnyBuffer> x_out,
                    ffi::Result<ffi::AnyBuffer> countdown_out) {
  const scalar_attributes attrs{{alpha1, beta1, alpha2, beta2, T, T_dur}, dt};
  return run(cpu, stage::execute, Window, g, x, countdown, spikes, attrs.model(), g_out, x_out, countdown_out);
}

// Per-unit parameters: the CPU backend's tables are host memory, so the
// execute stage builds the population itself (no initialize stage needed).
template <bool Window>
ffi::Error cpu_units_call(ffi::AnyBuffer g, ffi::AnyBuffer x, ffi::AnyBuffer countdown, ffi::AnyBuffer spikes,
                          ffi::Span<const double> alpha1, ffi::Span<const double> beta1,
                          ffi::Span<const double> alpha2, ffi::Span<const double> beta2, ffi::Span<const double> T,
                          ffi::Span<const double> T_dur, double dt, std::int64_t params_key,
                          ffi::Result<ffi::AnyBuffer> g_out, ffi::Result<ffi::AnyBuffer> x_out,
                          ffi::Result<ffi::AnyBuffer> countdown_out) {
  const model_attributes model{{alpha1, beta1, alpha2, beta2, T, T_dur}, dt, true, params_key};
  return run(cpu, stage::execute, Window, g, x, countdown, spikes, model, g_out, x_out, countdown_out);
}

}  // namespace
}  // namespace bionmda::jax_ffi

XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_step_cpu, bionmda::jax_ffi::cpu_call<false>,
                              bionmda::jax_ffi::bind_arguments(xla::ffi::Ffi::Bind()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_window_cpu, bionmda::jax_ffi::cpu_call<true>,
                              bionmda::jax_ffi::bind_arguments(xla::ffi::Ffi::Bind()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_step_units_cpu, bionmda::jax_ffi::cpu_units_call<false>,
                              bionmda::jax_ffi::bind_unit_arguments(xla::ffi::Ffi::Bind()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_window_units_cpu, bionmda::jax_ffi::cpu_units_call<true>,
                              bionmda::jax_ffi::bind_unit_arguments(xla::ffi::Ffi::Bind()));
