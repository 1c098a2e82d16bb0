// The CUDA platform's FFI handlers of bionmda.jax: XLA's stream and device,
// then ffi_core's run. Command-buffer compatible (CUDA graphs): a call only
// enqueues on XLA's stream (a device-to-device copy when XLA did not alias an
// output, then the library's kernel), never allocates, never waits.
#include <cuda_runtime_api.h>

#include <bionmda/error.hpp>

#include "ffi_core.hpp"
#include "ffi_handlers.hpp"

namespace bionmda::jax_ffi {
namespace {

void device_copy(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  const cudaError_t status = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream);
  if (status != cudaSuccess) {
    throw bionmda::cuda_error(std::string("bionmda.jax: copying the state into XLA's output buffer failed: ") +
                              cudaGetErrorName(status));
  }
}

template <bool Window>
ffi::Error cuda_call(cudaStream_t stream, std::int32_t device, ffi::AnyBuffer g, ffi::AnyBuffer x,
                     ffi::AnyBuffer countdown, ffi::AnyBuffer spikes, double alpha1, double beta1, double alpha2,
                     double beta2, double T, double T_dur, double dt, ffi::Result<ffi::AnyBuffer> g_out,
                     ffi::Result<ffi::AnyBuffer> x_out, ffi::Result<ffi::AnyBuffer> countdown_out) {
  const platform where{backend::cuda, static_cast<int>(device), stream, &device_copy};
  return run(where, Window, g, x, countdown, spikes, {alpha1, beta1, alpha2, beta2, T, T_dur, dt}, g_out, x_out,
             countdown_out);
}

auto cuda_binding() {
  return bind_arguments(
      xla::ffi::Ffi::Bind().Ctx<xla::ffi::PlatformStream<cudaStream_t>>().Ctx<xla::ffi::DeviceOrdinal>());
}

}  // namespace
}  // namespace bionmda::jax_ffi

XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_step_cuda, bionmda::jax_ffi::cuda_call<false>,
                              bionmda::jax_ffi::cuda_binding(), {xla::ffi::Traits::kCmdBufferCompatible});
XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_window_cuda, bionmda::jax_ffi::cuda_call<true>,
                              bionmda::jax_ffi::cuda_binding(), {xla::ffi::Traits::kCmdBufferCompatible});
