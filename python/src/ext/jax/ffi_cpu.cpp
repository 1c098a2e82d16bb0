// The CPU platform's FFI handlers of bionmda.jax: decode, then ffi_core's run.
#include <cstring>

#include "ffi_core.hpp"
#include "ffi_handlers.hpp"

namespace bionmda::jax_ffi {
namespace {

void host_copy(void* dst, const void* src, std::size_t bytes, cudaStream_t) { std::memcpy(dst, src, bytes); }

template <bool Window>
ffi::Error cpu_call(ffi::AnyBuffer g, ffi::AnyBuffer x, ffi::AnyBuffer countdown, ffi::AnyBuffer spikes, double alpha1,
                    double beta1, double alpha2, double beta2, double T, double T_dur, double dt,
                    ffi::Result<ffi::AnyBuffer> g_out, ffi::Result<ffi::AnyBuffer> x_out,
                    ffi::Result<ffi::AnyBuffer> countdown_out) {
  const platform where{backend::cpu, 0, nullptr, &host_copy};
  return run(where, Window, g, x, countdown, spikes, {alpha1, beta1, alpha2, beta2, T, T_dur, dt}, g_out, x_out,
             countdown_out);
}

}  // namespace
}  // namespace bionmda::jax_ffi

XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_step_cpu, bionmda::jax_ffi::cpu_call<false>,
                              bionmda::jax_ffi::bind_arguments(xla::ffi::Ffi::Bind()));
XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_window_cpu, bionmda::jax_ffi::cpu_call<true>,
                              bionmda::jax_ffi::bind_arguments(xla::ffi::Ffi::Bind()));
