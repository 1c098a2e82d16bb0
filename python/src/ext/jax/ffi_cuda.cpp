// The CUDA platform's FFI handlers of bionmda.jax: XLA's stream and device,
// then ffi_core's run. Command-buffer compatible (CUDA graphs): a call only
// enqueues on XLA's stream (a device-to-device copy when XLA did not alias an
// output, then the library's kernel), never allocates, never waits.
//
// The per-unit targets also have an initialize-stage handler: XLA runs it
// before every execution, outside any graph capture, with the call's stream,
// device and (placed, unfilled) buffers; it builds the call's population,
// whose per-unit coefficient tables need device memory, so that the execute
// stage stays allocation-free. Once built, it only finds it again.
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

bool stream_capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  // An error here (e.g. a capture already invalidated) counts as capturing:
  // the caller then refuses to allocate.
  return cudaStreamIsCapturing(stream, &status) != cudaSuccess || status != cudaStreamCaptureStatusNone;
}

platform on(cudaStream_t stream, std::int32_t device) {
  return platform{backend::cuda, static_cast<int>(device), stream, &device_copy, &stream_capturing};
}

template <bool Window>
ffi::Error cuda_call(cudaStream_t stream, std::int32_t device, ffi::AnyBuffer g, ffi::AnyBuffer x,
                     ffi::AnyBuffer countdown, ffi::AnyBuffer spikes, double alpha1, double beta1, double alpha2,
                     double beta2, double T, double T_dur, double dt, ffi::Result<ffi::AnyBuffer> g_out,
                     ffi::Result<ffi::AnyBuffer> x_out, ffi::Result<ffi::AnyBuffer> countdown_out) {
  const scalar_attributes attrs{{alpha1, beta1, alpha2, beta2, T, T_dur}, dt};
  return run(on(stream, device), stage::execute, Window, g, x, countdown, spikes, attrs.model(), g_out, x_out,
             countdown_out);
}

template <stage What, bool Window>
ffi::Error cuda_units_call(cudaStream_t stream, std::int32_t device, ffi::AnyBuffer g, ffi::AnyBuffer x,
                           ffi::AnyBuffer countdown, ffi::AnyBuffer spikes, ffi::Span<const double> alpha1,
                           ffi::Span<const double> beta1, ffi::Span<const double> alpha2,
                           ffi::Span<const double> beta2, ffi::Span<const double> T, ffi::Span<const double> T_dur,
                           double dt, std::int64_t params_key, ffi::Result<ffi::AnyBuffer> g_out,
                           ffi::Result<ffi::AnyBuffer> x_out, ffi::Result<ffi::AnyBuffer> countdown_out) {
  const model_attributes model{{alpha1, beta1, alpha2, beta2, T, T_dur}, dt, true, params_key};
  return run(on(stream, device), What, Window, g, x, countdown, spikes, model, g_out, x_out, countdown_out);
}

template <xla::ffi::ExecutionStage Stage>
auto cuda_context() {
  return xla::ffi::Ffi::Bind<Stage>().template Ctx<xla::ffi::PlatformStream<cudaStream_t>>().template Ctx<
      xla::ffi::DeviceOrdinal>();
}

auto cuda_binding() { return bind_arguments(cuda_context<xla::ffi::ExecutionStage::kExecute>()); }
template <xla::ffi::ExecutionStage Stage>
auto cuda_units_binding() {
  return bind_unit_arguments(cuda_context<Stage>());
}

}  // namespace
}  // namespace bionmda::jax_ffi

XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_step_cuda, bionmda::jax_ffi::cuda_call<false>,
                              bionmda::jax_ffi::cuda_binding(), {xla::ffi::Traits::kCmdBufferCompatible});
XLA_FFI_DEFINE_HANDLER_SYMBOL(bionmda_jax_window_cuda, bionmda::jax_ffi::cuda_call<true>,
                              bionmda::jax_ffi::cuda_binding(), {xla::ffi::Traits::kCmdBufferCompatible});

XLA_FFI_DEFINE_HANDLER_SYMBOL(
    bionmda_jax_step_units_cuda_initialize,
    (bionmda::jax_ffi::cuda_units_call<bionmda::jax_ffi::stage::prepare, false>),
    bionmda::jax_ffi::cuda_units_binding<xla::ffi::ExecutionStage::kInitialize>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    bionmda_jax_step_units_cuda, (bionmda::jax_ffi::cuda_units_call<bionmda::jax_ffi::stage::execute, false>),
    bionmda::jax_ffi::cuda_units_binding<xla::ffi::ExecutionStage::kExecute>(),
    {xla::ffi::Traits::kCmdBufferCompatible});
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    bionmda_jax_window_units_cuda_initialize,
    (bionmda::jax_ffi::cuda_units_call<bionmda::jax_ffi::stage::prepare, true>),
    bionmda::jax_ffi::cuda_units_binding<xla::ffi::ExecutionStage::kInitialize>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(
    bionmda_jax_window_units_cuda, (bionmda::jax_ffi::cuda_units_call<bionmda::jax_ffi::stage::execute, true>),
    bionmda::jax_ffi::cuda_units_binding<xla::ffi::ExecutionStage::kExecute>(),
    {xla::ffi::Traits::kCmdBufferCompatible});
