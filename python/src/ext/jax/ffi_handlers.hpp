#pragma once
// The handler symbols of bionmda.jax, one per target and stage:
// bionmda_jax_{step,window}[_units]_{cpu,cuda}, and the CUDA per-unit
// targets' initialize stage, bionmda_jax_{step,window}_units_cuda_initialize.
#include <xla/ffi/api/ffi.h>

XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_step_cpu);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_window_cpu);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_step_units_cpu);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_window_units_cpu);
#if BIONMDA_JAX_CUDA
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_step_cuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_window_cuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_step_units_cuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_window_units_cuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_step_units_cuda_initialize);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_window_units_cuda_initialize);
#endif
