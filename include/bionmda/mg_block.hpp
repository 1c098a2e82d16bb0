#pragma once
/**
 * @file mg_block.hpp
 * @brief The magnesium block of the NMDA current, for host and device code.
 *
 * A neuron integrator that takes g_post from a window (postsynaptic_map::
 * step_window) computes the current at each step with its own V, on the host
 * or in its CUDA kernel, with the function the library uses itself:
 *
 *     const auto mg = bionmda::make_mg_coefficients<float>(bionmda::mg_block{});
 *     float I = bionmda::mg_current(g_post, V, mg);   // __host__ __device__
 *
 * Units: g in the caller's conductance unit (e.g. nS), V, E and V_offset in
 * mV, cc_Mg and beta in mM, alpha in 1/mV; I in conductance unit times mV
 * (nS * mV = pA). Positive I depolarises.
 */
#include "bionmda/detail/mg_block.hpp"

namespace bionmda {

/** @brief Mg-block parameters; defaults from BrainPy's MgBlock (docs/model.md). */
struct mg_block {
  double E = 0.0;         ///< reversal potential [mV]
  double cc_Mg = 1.2;     ///< extracellular Mg2+ [mM], >= 0
  double alpha = 0.062;   ///< voltage sensitivity [1/mV]
  double beta = 3.57;     ///< [mM], > 0
  double V_offset = 0.0;  ///< [mV]
};

/** @brief The Mg-block parameters in the computation's precision (E, cc_Mg/beta, alpha, V_offset). */
template <class Real>
using mg_coefficients = detail::mg_coeffs<Real>;

/** @brief mg_block rounded once to Real. */
template <class Real>
inline mg_coefficients<Real> make_mg_coefficients(const mg_block& m) {
  return mg_coefficients<Real>{static_cast<Real>(m.E), static_cast<Real>(m.cc_Mg / m.beta),
                               static_cast<Real>(m.alpha), static_cast<Real>(m.V_offset)};
}

/**
 * @brief I = g * (E - V) / (1 + (cc_Mg / beta) * exp(alpha * (V_offset - V))),
 *        __host__ __device__; the same function as the library's per-post current.
 */
using detail::mg_current;

}  // namespace bionmda
