// The float64 reference, transcribed from docs/model.md ("One time step").
// Deliberately independent of detail/kinetics.hpp and model_setup.cpp.
#include "bionmda/reference.hpp"

#include <cmath>

#include "bionmda/detail/error_macros.hpp"

namespace bionmda {
namespace {

// exprel(z) = (e^z - 1) / z, exprel(0) = 1.
double exprel(double z) {
  if (z == 0.0) return 1.0;
  return std::expm1(z) / z;
}

// The exponential-Euler step size dt * exprel(dt*J) = (e^(dt*J) - 1) / J for
// J <= 0. Written as dt * exprel(z) while |z| < 1, where (e^z - 1) / J would
// lose dt when z underflows; otherwise as (e^z - 1) / J, which stays exact
// when z overflows to -inf (e^z - 1 = -1) and never divides by a z whose
// reciprocal is below the smallest normal number.
double euler_step(double dt, double J) {
  const double z = dt * J;
  if (z > -1.0) return dt * exprel(z);
  return std::expm1(z) / J;
}

// Number of integers k >= 0 with k*dt < T_dur, where k*dt counts as equal to
// T_dur when T_dur/dt is within 1e-9 (relative) of k. Counted one k at a time.
std::int64_t count_pulse_steps(double T_dur, double dt) {
  const double ratio = T_dur / dt;
  std::int64_t n = 0;
  for (std::int64_t k = 0;; ++k) {
    const double kd = static_cast<double>(k);
    const bool below = kd < ratio;
    const bool same_as_end = std::fabs(kd - ratio) <= 1e-9 * ratio;
    if (!below || same_as_end) break;
    ++n;
  }
  return n;
}

double value_of(const unit_value& v, std::int64_t i) {
  return v.is_per_unit() ? v.per_unit()[static_cast<std::size_t>(i)] : v.uniform();
}

}  // namespace

reference_population::reference_population(std::int64_t units, std::int64_t batch, double dt,
                                           parameters params, std::vector<double> g0,
                                           std::vector<double> x0)
    : units_(units),
      batch_(batch),
      dt_(dt),
      params_(std::move(params)),
      g_(std::move(g0)),
      x_(std::move(x0)) {
  const auto total = static_cast<std::size_t>(units * batch);
  BIONMDA_EXPECTS(g_.size() == total && x_.size() == total,
                  "reference: g0 and x0 must hold N*B = " << total << " values, got "
                                                          << g_.size() << " and " << x_.size());
  pulse_len_.resize(static_cast<std::size_t>(units));
  for (std::int64_t i = 0; i < units; ++i) {
    pulse_len_[static_cast<std::size_t>(i)] = count_pulse_steps(value_of(params_.T_dur, i), dt_);
  }
  pulse_left_.assign(total, 0);
}

std::int64_t reference_population::pulse_steps(std::int64_t unit) const {
  return pulse_len_.at(static_cast<std::size_t>(unit));
}

void reference_population::step(const std::uint8_t* spikes) {
  for (std::int64_t b = 0; b < batch_; ++b) {
    for (std::int64_t i = 0; i < units_; ++i) {
      const auto e = static_cast<std::size_t>(b * units_ + i);
      const double alpha1 = value_of(params_.alpha1, i);
      const double beta1 = value_of(params_.beta1, i);
      const double alpha2 = value_of(params_.alpha2, i);
      const double beta2 = value_of(params_.beta2, i);
      const double T = value_of(params_.T, i);

      // 1. Spike gating: a spike makes the pulse cover this step and the next n-1.
      if (spikes != nullptr && spikes[e] != 0) pulse_left_[e] = pulse_len_[static_cast<std::size_t>(i)];
      const bool covered = pulse_left_[e] > 0;
      if (covered) pulse_left_[e] -= 1;
      const double TT = covered ? T : 0.0;

      // 2. x first, exponential Euler.
      double x = x_[e];
      {
        const double f = alpha2 * TT * (1.0 - x) - beta2 * x;
        const double J = -(alpha2 * TT + beta2);
        x = x + euler_step(dt_, J) * f;
      }
      // 3. g with the new x.
      double g = g_[e];
      {
        const double f = alpha1 * x * (1.0 - g) - beta1 * g;
        const double J = -(alpha1 * x + beta1);
        g = g + euler_step(dt_, J) * f;
      }
      x_[e] = x;
      g_[e] = g;
    }
  }
}

}  // namespace bionmda
