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

/** @brief Kinetic rates of one unit, in the state's precision. */
template <class Real>
struct unit_rates {
  Real alpha1;  ///< 1/ms
  Real beta1;   ///< 1/ms
  Real alpha2;  ///< 1/(ms*mM)
  Real beta2;   ///< 1/ms
  Real T;       ///< mM
};

/// dt * exprel(dt*J) = (e^(dt*J) - 1) / J, with the limit dt at J = 0.
template <class Real>
BIONMDA_HD Real euler_factor(Real dt, Real J) {
  using std::expm1;
  const Real z = dt * J;
  return z == Real(0) ? dt : dt * (expm1(z) / z);
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
 * @param g          open fraction, updated in place (in [0, 1])
 * @param x          auxiliary state, updated in place (in [0, 1])
 * @param remaining  pulse steps left before this step
 * @param spike      true when a presynaptic spike arrives at this step
 * @param pulse_steps n, the pulse length in steps (0 disables the pulse)
 * @param r          the unit's rates
 * @param dt         time step [ms]
 * @return the pulse steps left after this step
 */
template <class Real>
BIONMDA_HD countdown_t advance_unit(Real& g, Real& x, countdown_t remaining, bool spike,
                                    countdown_t pulse_steps, const unit_rates<Real>& r, Real dt) {
  // A spike (re)starts the pulse; this step is covered when any pulse steps remain.
  const countdown_t start = spike ? pulse_steps : remaining;
  const bool on = start != 0;
  const Real TT = on ? r.T : Real(0);

  const Real ax = r.alpha2 * TT;
  const Real fx = ax * (Real(1) - x) - r.beta2 * x;
  const Real x_new = clamp_unit_interval(x + euler_factor(dt, -(ax + r.beta2)) * fx);

  const Real ag = r.alpha1 * x_new;
  const Real fg = ag * (Real(1) - g) - r.beta1 * g;
  g = clamp_unit_interval(g + euler_factor(dt, -(ag + r.beta1)) * fg);
  x = x_new;
  return static_cast<countdown_t>(on ? start - 1 : 0);
}

}  // namespace bionmda::detail
