#pragma once
/**
 * @file detail/kinetics.hpp
 * @brief The per-unit BioNMDA update, shared by the CPU backend and the CUDA kernel.
 *
 * This is the only implementation of the step used by the fast backends (the
 * float64 reference in reference.cpp is written separately, from the model
 * contract, so that agreement between them proves something). Semantics:
 * docs/model.md. Units: dt in ms, rates in 1/ms, T in mM.
 */
#include <cmath>
#include <cstdint>

#include "bionmda/detail/host_device.hpp"

namespace bionmda::detail {

/** @brief Pulse countdown type: steps of transmitter left (pulse length <= 65535 steps). */
using countdown_t = std::uint16_t;

/**
 * @brief Per-unit coefficients of the step, in the state's precision.
 *
 * The x update only ever sees two values of the transmitter (T during a
 * pulse, 0 otherwise), so its exponential-Euler factors are fixed per unit
 * and computed once, in float64, by make_unit_coeffs. The g update depends on
 * the new x and is evaluated every step.
 */
template <class Real>
struct unit_coeffs {
  Real alpha1;  ///< 1/ms
  Real beta1;   ///< 1/ms
  Real ax_on;   ///< alpha2 * T: x's opening rate during a pulse [1/ms]
  Real beta2;   ///< 1/ms
  Real hx_on;   ///< dt * exprel(-dt * (alpha2*T + beta2)) [ms]
  Real hx_off;  ///< dt * exprel(-dt * beta2) [ms]
};

/// dt * exprel(dt*J) = (e^(dt*J) - 1) / J, with the limit dt at J = 0.
template <class Real>
BIONMDA_HD Real euler_factor(Real dt, Real J) {
  using std::expm1;
  const Real z = dt * J;
  return z == Real(0) ? dt : dt * (expm1(z) / z);
}

/// Coefficients of one unit from its parameters (float64), rounded once to Real.
template <class Real>
inline unit_coeffs<Real> make_unit_coeffs(double alpha1, double beta1, double alpha2,
                                          double beta2, double T, double dt) {
  const double ax_on = alpha2 * T;
  return unit_coeffs<Real>{static_cast<Real>(alpha1),
                           static_cast<Real>(beta1),
                           static_cast<Real>(ax_on),
                           static_cast<Real>(beta2),
                           static_cast<Real>(euler_factor(dt, -(ax_on + beta2))),
                           static_cast<Real>(euler_factor(dt, -beta2))};
}

/// Clamp to [0, 1]. Exact exponential Euler stays inside; rounding at extreme
/// rates can step one ulp outside, which would break the state's invariant.
template <class Real>
BIONMDA_HD Real clamp_unit_interval(Real v) {
  return v < Real(0) ? Real(0) : (v > Real(1) ? Real(1) : v);
}

/**
 * @brief Advance one unit by one step: spike gating, then x, then g with the new x.
 *
 * @param g           open fraction, updated in place (in [0, 1])
 * @param x           auxiliary state, updated in place (in [0, 1])
 * @param remaining   pulse steps left before this step
 * @param spike       true when a presynaptic spike arrives at this step
 * @param pulse_steps n, the pulse length in steps (0 disables the pulse)
 * @param c           the unit's coefficients (make_unit_coeffs)
 * @param dt          time step [ms]
 * @return the pulse steps left after this step
 */
template <class Real>
BIONMDA_HD countdown_t advance_unit(Real& g, Real& x, countdown_t remaining, bool spike,
                                    countdown_t pulse_steps, const unit_coeffs<Real>& c, Real dt) {
  // A spike (re)starts the pulse; this step is covered when any pulse steps remain.
  const countdown_t start = spike ? pulse_steps : remaining;
  const bool on = start != 0;

  // x: f = alpha2*TT*(1 - x) - beta2*x, x' = x + dt*exprel(dt*J)*f.
  const Real ax = on ? c.ax_on : Real(0);
  const Real hx = on ? c.hx_on : c.hx_off;
  const Real x_new = clamp_unit_interval(x + hx * (ax * (Real(1) - x) - c.beta2 * x));

  // g with the new x: f = alpha1*x'*(1 - g) - beta1*g.
  const Real ag = c.alpha1 * x_new;
  const Real fg = ag * (Real(1) - g) - c.beta1 * g;
  g = clamp_unit_interval(g + euler_factor(dt, -(ag + c.beta1)) * fg);
  x = x_new;
  return static_cast<countdown_t>(on ? start - 1 : 0);
}

}  // namespace bionmda::detail
