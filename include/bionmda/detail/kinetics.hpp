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

/**
 * @brief |dt*J| beyond which the exponential-Euler factor is taken as -1/J.
 *
 * (e^z - 1)/J with z = dt*J <= -C equals -1/J * (1 - e^z), and e^-C must be
 * negligible next to 1 in either precision: e^-64 ~ 1.6e-28, far below
 * float64's half ulp of 1 (2^-54 ~ 5.6e-17), so at the switch expm1(z) is
 * exactly -1 and both formulas give 1/|J| to their last rounding. C is also
 * small enough that everything around the switch stays finite and normal for
 * every accepted dt (1e-30 to the largest finite Real; model_setup.cpp):
 * C/dt lies in [64/FLT_MAX ~ 1.9e-37, 6.4e31] in float32 and
 * [64/DBL_MAX ~ 3.6e-307, 6.4e31] in float64, and 1/C is far from underflow,
 * where the old formula dt * (expm1(z)/z) failed: z = dt*J overflowed to -inf
 * (float32 dt 1e38), or 1/z fell below the smallest normal number and was
 * flushed to 0 on the CPU (float64 dt 5e307), giving a factor of 0. Below
 * |z| = 64 the factor is computed exactly as before, bit for bit: the steps of
 * any ordinary simulation (|z| of order 1) do not change.
 */
inline constexpr double euler_fast_decay_z = 64.0;

/// J below which euler_factor returns -1/J for a step dt (model_args::j_fast).
inline double euler_fast_decay_rate(double dt) { return -euler_fast_decay_z / dt; }

/**
 * @brief dt * exprel(dt*J) = (e^(dt*J) - 1) / J, with the limit dt at J = 0.
 *
 * j_fast = euler_fast_decay_rate(dt), computed once outside the step (host
 * code, no fast-math): the CPU step is compiled with -ffast-math, which may
 * fold any test for infinity away, so the branch is decided from finite
 * quantities only, and J is clamped before the product so that no lane of a
 * vector computes an infinite z.
 */
template <class Real>
BIONMDA_HD Real euler_factor(Real dt, Real J, Real j_fast) {
  using std::expm1;
  const bool fast = J < j_fast;
  const Real z = dt * (fast ? j_fast : J);
  // One division for both branches (the step is compute-bound in cache):
  // -1/J when fast, else expm1(z)/z times dt, as it always was.
  const Real q = (fast ? Real(-1) : expm1(z)) / (fast ? J : z);
  return fast ? q : (z == Real(0) ? dt : dt * q);
}

/// The factor without the large-|dt*J| branch: exactly euler_factor's value
/// wherever J >= j_fast (a population whose dt * (alpha1 + beta1) stays far
/// below euler_fast_decay_z never reaches that branch; the CPU step then runs
/// this shorter form, see model_args::wide_range).
template <class Real>
BIONMDA_HD Real euler_factor_narrow(Real dt, Real J) {
  using std::expm1;
  const Real z = dt * J;
  return z == Real(0) ? dt : dt * (expm1(z) / z);
}

/// Coefficients of one unit from its parameters (float64), rounded once to Real.
template <class Real>
inline unit_coeffs<Real> make_unit_coeffs(double alpha1, double beta1, double alpha2,
                                          double beta2, double T, double dt) {
  const double ax_on = alpha2 * T;
  const double j_fast = euler_fast_decay_rate(dt);
  return unit_coeffs<Real>{static_cast<Real>(alpha1),
                           static_cast<Real>(beta1),
                           static_cast<Real>(ax_on),
                           static_cast<Real>(beta2),
                           static_cast<Real>(euler_factor(dt, -(ax_on + beta2), j_fast)),
                           static_cast<Real>(euler_factor(dt, -beta2, j_fast))};
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
 * @param j_fast      euler_fast_decay_rate(dt) in Real [1/ms]
 * @tparam Wide       false only where J >= j_fast always holds (model_args::wide_range)
 * @return the pulse steps left after this step
 */
template <class Real, bool Wide = true>
BIONMDA_HD countdown_t advance_unit(Real& g, Real& x, countdown_t remaining, bool spike,
                                    countdown_t pulse_steps, const unit_coeffs<Real>& c, Real dt,
                                    Real j_fast) {
  // A spike (re)starts the pulse; this step is covered when any pulse steps remain.
  const countdown_t start = spike ? pulse_steps : remaining;
  const bool on = start != 0;

  // x: f = alpha2*TT*(1 - x) - beta2*x, x' = x + dt*exprel(dt*J)*f.
  const Real ax = on ? c.ax_on : Real(0);
  const Real hx = on ? c.hx_on : c.hx_off;
  const Real x_new = clamp_unit_interval(x + hx * (ax * (Real(1) - x) - c.beta2 * x));

  // g with the new x: f = alpha1*x'*(1 - g) - beta1*g. With every rate at
  // most the precision's limit (1e30 float32, 1e300 float64), |f| <= |J| <=
  // 2e30 (2e300) is finite, and |factor * f| <= |f| / |J| <= 1.
  const Real ag = c.alpha1 * x_new;
  const Real fg = ag * (Real(1) - g) - c.beta1 * g;
  Real factor;
  if constexpr (Wide) {
    factor = euler_factor(dt, -(ag + c.beta1), j_fast);
  } else {
    factor = euler_factor_narrow(dt, -(ag + c.beta1));
  }
  g = clamp_unit_interval(g + factor * fg);
  x = x_new;
  return static_cast<countdown_t>(on ? start - 1 : 0);
}

}  // namespace bionmda::detail
