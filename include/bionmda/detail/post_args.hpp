#pragma once
/**
 * @file detail/post_args.hpp
 * @brief Typed arguments of the per-post sums (postsynaptic_map), passed by
 *        value to the CPU loops and the CUDA kernels, and the one epilogue
 *        that writes a row's result.
 */
#include <cstdint>

#include "bionmda/detail/host_device.hpp"
#include "bionmda/detail/mg_block.hpp"

namespace bionmda::detail {

/// Post-major CSR connectivity in the population's memory and precision.
template <class Real>
struct post_args {
  const std::int64_t* __restrict__ row_offsets;  ///< [n_post + 1]
  const std::int32_t* __restrict__ source;       ///< [nnz]: population unit (per-presynaptic mode)
  const Real* __restrict__ gmax;                 ///< [nnz], conductance unit
  std::int64_t n_post;
  std::int64_t units;  ///< N of the population (row stride of g)
  std::int64_t batch;
  mg_coeffs<Real> mg;
};

/// Outputs of a per-post sum, [B][n_post]; V and I null for no current.
template <class Real>
struct post_outputs {
  Real* __restrict__ g_post;
  const Real* __restrict__ V;  ///< mV, or null
  Real* __restrict__ I;        ///< or null (null exactly when V is)
};

/// Writes row r's summed conductance and, where V is given, its Mg-blocked current.
template <class Real>
BIONMDA_HD void finish_post_row(const post_outputs<Real>& out, const mg_coeffs<Real>& mg, std::int64_t r,
                                Real g_sum) {
  out.g_post[r] = g_sum;
  if (out.V != nullptr) out.I[r] = mg_current(g_sum, out.V[r], mg);
}

}  // namespace bionmda::detail
