#include "model_setup.hpp"

#include <cmath>
#include <iterator>
#include <limits>
#include <string>

#include "bionmda/detail/error_macros.hpp"

namespace bionmda::detail {

countdown_t pulse_steps_for(double T_dur, double dt) {
  const double ratio = T_dur / dt;
  if (ratio <= 0) return 0;
  const double nearest = std::round(ratio);
  const double n = std::abs(ratio - nearest) <= 1e-9 * ratio ? nearest : std::ceil(ratio);
  BIONMDA_EXPECTS(n <= std::numeric_limits<countdown_t>::max(),
                  "T_dur / dt = " << T_dur << " / " << dt << " gives a pulse of " << n
                                  << " steps; at most "
                                  << std::numeric_limits<countdown_t>::max() << " are supported");
  return static_cast<countdown_t>(n);
}

namespace {

void check_minimum(double v, const parameter_info& info, std::int64_t unit) {
  if (std::isfinite(v) && v >= info.minimum) return;
  if (unit < 0) {
    BIONMDA_FAIL_AS(invalid_argument,
                    "parameter " << info.name << " must be finite and >= " << info.minimum << ", got " << v);
  }
  BIONMDA_FAIL_AS(invalid_argument, "parameter " << info.name << "[" << unit << "] must be finite and >= "
                                                 << info.minimum << ", got " << v);
}

void check_value(const parameters& p, const parameter_info& info, std::int64_t units) {
  const unit_value& v = p.*info.member;
  if (!v.is_per_unit()) {
    check_minimum(v.uniform(), info, -1);
    return;
  }
  const auto& a = v.per_unit();
  BIONMDA_EXPECTS(static_cast<std::int64_t>(a.size()) == units,
                  "parameter " << info.name << " has " << a.size()
                               << " per-unit values but the population has " << units
                               << " units");
  for (std::size_t i = 0; i < a.size(); ++i) check_minimum(a[i], info, static_cast<std::int64_t>(i));
}

std::vector<double> expand(const unit_value& v, std::int64_t units) {
  if (v.is_per_unit()) return v.per_unit();
  return std::vector<double>(static_cast<std::size_t>(units), v.uniform());
}

// Where prepare_model puts each coefficient (the fields the engines read).
struct prepared_slot {
  parameter_member param;
  double prepared_model::*uniform;
  std::vector<double> prepared_model::*per_unit;
};
constexpr prepared_slot prepared_slots[] = {
    {&parameters::alpha1, &prepared_model::alpha1, &prepared_model::alpha1_u},
    {&parameters::beta1, &prepared_model::beta1, &prepared_model::beta1_u},
    {&parameters::alpha2, &prepared_model::alpha2, &prepared_model::alpha2_u},
    {&parameters::beta2, &prepared_model::beta2, &prepared_model::beta2_u},
    {&parameters::T, &prepared_model::T, &prepared_model::T_u},
};

constexpr const prepared_slot* find_slot(const parameter_info& info) {
  for (const prepared_slot& s : prepared_slots) {
    if (s.param == info.member) return &s;
  }
  return nullptr;
}

constexpr bool one_slot_per_coefficient() {
  std::size_t coefficients = 0, durations = 0;
  for (const parameter_info& info : kinetic_parameters) {
    if (info.kind == parameter_kind::coefficient) {
      if (find_slot(info) == nullptr) return false;
      ++coefficients;
    } else {
      ++durations;
    }
  }
  return coefficients == std::size(prepared_slots) && durations == 1;
}
// A new coefficient needs fields in prepared_model and a slot above; a second
// duration would need its own pulse fields.
static_assert(one_slot_per_coefficient(), "prepared_slots must match kinetic_parameters");

}  // namespace

prepared_model prepare_model(const parameters& p, double dt, std::int64_t units) {
  BIONMDA_EXPECTS(std::isfinite(dt) && dt > 0, "dt must be finite and > 0 ms, got " << dt);
  BIONMDA_EXPECTS(units >= 0, "units (N) must be >= 0, got " << units);
  for (const parameter_info& info : kinetic_parameters) check_value(p, info, units);

  prepared_model m;
  m.dt = dt;
  m.units = units;
  for (const parameter_info& info : kinetic_parameters) m.per_unit = m.per_unit || (p.*info.member).is_per_unit();
  for (const parameter_info& info : kinetic_parameters) {
    const unit_value& v = p.*info.member;
    if (info.kind == parameter_kind::coefficient) {
      const prepared_slot* s = find_slot(info);
      if (m.per_unit) {
        m.*(s->per_unit) = expand(v, units);
      } else {
        m.*(s->uniform) = v.uniform();
      }
      continue;
    }
    // The duration: a whole number of steps, per unit or for all.
    if (!m.per_unit) {
      m.pulse_steps = pulse_steps_for(v.uniform(), dt);
      continue;
    }
    m.pulse_u.resize(static_cast<std::size_t>(units));
    for (std::int64_t i = 0; i < units; ++i) {
      try {
        m.pulse_u[static_cast<std::size_t>(i)] = pulse_steps_for(v.at(i), dt);
      } catch (const invalid_argument& e) {
        throw invalid_argument(std::string(e.what()) + " (parameter " + info.name + "[" + std::to_string(i) + "])");
      }
    }
  }
  return m;
}

void check_representable(const parameters& p, double dt, std::int64_t units, bionmda::precision prec) {
  const bool f32 = prec == bionmda::precision::float32;
  // Rates (and T, alpha2*T) are 0 or in [smallest, limit]. The upper limit
  // leaves room for sums of rates. The lower one keeps every product of a
  // rate with a state value in [0, 1] that matters normal: the CPU step
  // flushes subnormal numbers to zero, and a flushed product below the
  // smallest normal number (FLT_MIN ~ 1.2e-38, DBL_MIN ~ 2.2e-308) must stay
  // below one rounding of the rate (smallest * eps > FLT_MIN: 1e-30 * 6e-8,
  // 1e-290 * 1.1e-16), or an accepted rate 1e-35 at dt 1e38 would act as 0.
  const double limit = f32 ? 1e30 : 1e300;
  const double smallest = f32 ? 1e-30 : 1e-290;
  // dt's largest value is the precision's largest finite number: the step
  // computes in Real, where a larger dt is infinite.
  const double dt_most = f32 ? static_cast<double>(std::numeric_limits<float>::max())
                             : std::numeric_limits<double>::max();
  const char* pname = f32 ? "float32" : "float64";
  BIONMDA_EXPECTS(dt >= 1e-30, "dt = " << dt << " ms is too small to represent in " << pname);
  BIONMDA_EXPECTS(dt <= dt_most, "dt = " << dt << " ms is too large for " << pname << " (at most " << dt_most
                                         << " ms)");
  auto check = [&](double value, const std::string& name) {
    BIONMDA_EXPECTS(value <= limit, name << " = " << value << " is too large for " << pname << " (at most " << limit
                                         << ")");
    BIONMDA_EXPECTS(value == 0 || value >= smallest, name << " = " << value << " is too small for " << pname
                                                          << " (0, or at least " << smallest << ")");
  };
  for (const parameter_info& info : kinetic_parameters) {
    // A duration only becomes a step count (bounded by pulse_steps_for).
    if (info.kind != parameter_kind::coefficient) continue;
    const unit_value& v = p.*info.member;
    for (std::int64_t i = 0; i < (v.is_per_unit() ? units : 1); ++i) {
      check(v.at(i), std::string("parameter ") + info.name + (v.is_per_unit() ? "[" + std::to_string(i) + "]" : ""));
    }
  }
  // The x update's rate during a pulse (ax_on in unit_coeffs).
  const std::int64_t count = (p.alpha2.is_per_unit() || p.T.is_per_unit()) ? units : 1;
  for (std::int64_t i = 0; i < count; ++i) {
    check(p.alpha2.at(i) * p.T.at(i),
          std::string("alpha2 * T") + (count > 1 ? " (unit " + std::to_string(i) + ")" : ""));
  }
}

void validate_initial_value(const initial_value& v, const char* name, std::int64_t units,
                            std::int64_t batch) {
  auto in_range = [](double a) { return std::isfinite(a) && a >= 0 && a <= 1; };
  switch (v.get_kind()) {
    case initial_value::kind::constant:
      BIONMDA_EXPECTS(in_range(v.low()),
                      "initial " << name << " must be finite and in [0, 1], got " << v.low());
      break;
    case initial_value::kind::uniform_random:
      BIONMDA_EXPECTS(in_range(v.low()) && in_range(v.high()) && v.low() <= v.high(),
                      "initial " << name << " uniform range must satisfy 0 <= low <= high <= 1, got ["
                                 << v.low() << ", " << v.high() << "]");
      break;
    case initial_value::kind::per_unit: {
      const auto& a = v.values();
      const auto n = static_cast<std::int64_t>(a.size());
      BIONMDA_EXPECTS(n == units || n == units * batch,
                      "initial " << name << " has " << n << " values; expected N = " << units
                                 << " or N*B = " << units * batch);
      for (std::size_t i = 0; i < a.size(); ++i) {
        BIONMDA_EXPECTS(in_range(a[i]), "initial " << name << "[" << i
                                                   << "] must be finite and in [0, 1], got "
                                                   << a[i]);
      }
      break;
    }
  }
}

}  // namespace bionmda::detail
