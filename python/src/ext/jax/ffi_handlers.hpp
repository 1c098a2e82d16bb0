#pragma once
// The handler symbols of bionmda.jax, one per target: bionmda_jax_{step,window}_{cpu,cuda}.
#include <xla/ffi/api/ffi.h>

XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_step_cpu);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_window_cpu);
#if BIONMDA_JAX_CUDA
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_step_cuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(bionmda_jax_window_cuda);
#endif
