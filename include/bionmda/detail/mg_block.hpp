#pragma once
/**
 * @file detail/mg_block.hpp
 * @brief The magnesium-blocked NMDA current, shared by the CPU and CUDA paths.
 */
#include <cmath>

#include "bionmda/detail/host_device.hpp"

namespace bionmda::detail {

/// Mg-block parameters in the computation's precision.
template <class Real>
struct mg_coeffs {
  Real E;             ///< reversal potential [mV]
  Real cc_over_beta;  ///< cc_Mg / beta [1]
  Real alpha;         ///< [1/mV]
  Real V_offset;      ///< [mV]
};

/// I = g * (E - V) / (1 + (cc_Mg / beta) * exp(alpha * (V_offset - V))).
template <class Real>
BIONMDA_HD Real mg_current(Real g, Real V, const mg_coeffs<Real>& c) {
  using std::exp;
  return g * (c.E - V) / (Real(1) + c.cc_over_beta * exp(c.alpha * (c.V_offset - V)));
}

}  // namespace bionmda::detail
