#include "model_setup.hpp"

#include <cmath>
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

void check_rate(double v, const char* name, std::int64_t unit) {
  if (std::isfinite(v) && v >= 0) return;
  if (unit < 0) {
    BIONMDA_FAIL_AS(invalid_argument, "parameter " << name << " must be finite and >= 0, got " << v);
  }
  BIONMDA_FAIL_AS(invalid_argument, "parameter " << name << "[" << unit
                                                 << "] must be finite and >= 0, got " << v);
}

void check_value(const unit_value& v, const char* name, std::int64_t units) {
  if (!v.is_per_unit()) {
    check_rate(v.uniform(), name, -1);
    return;
  }
  const auto& a = v.per_unit();
  BIONMDA_EXPECTS(static_cast<std::int64_t>(a.size()) == units,
                  "parameter " << name << " has " << a.size()
                               << " per-unit values but the population has " << units
                               << " units");
  for (std::size_t i = 0; i < a.size(); ++i) check_rate(a[i], name, static_cast<std::int64_t>(i));
}

std::vector<double> expand(const unit_value& v, std::int64_t units) {
  if (v.is_per_unit()) return v.per_unit();
  return std::vector<double>(static_cast<std::size_t>(units), v.uniform());
}

}  // namespace

prepared_model prepare_model(const parameters& p, double dt, std::int64_t units) {
  BIONMDA_EXPECTS(std::isfinite(dt) && dt > 0, "dt must be finite and > 0 ms, got " << dt);
  BIONMDA_EXPECTS(units >= 0, "units (N) must be >= 0, got " << units);
  check_value(p.alpha1, "alpha1", units);
  check_value(p.beta1, "beta1", units);
  check_value(p.alpha2, "alpha2", units);
  check_value(p.beta2, "beta2", units);
  check_value(p.T, "T", units);
  check_value(p.T_dur, "T_dur", units);

  prepared_model m;
  m.dt = dt;
  m.units = units;
  m.per_unit = p.alpha1.is_per_unit() || p.beta1.is_per_unit() || p.alpha2.is_per_unit() ||
               p.beta2.is_per_unit() || p.T.is_per_unit() || p.T_dur.is_per_unit();
  if (!m.per_unit) {
    m.alpha1 = p.alpha1.uniform();
    m.beta1 = p.beta1.uniform();
    m.alpha2 = p.alpha2.uniform();
    m.beta2 = p.beta2.uniform();
    m.T = p.T.uniform();
    m.pulse_steps = pulse_steps_for(p.T_dur.uniform(), dt);
    return m;
  }
  m.alpha1_u = expand(p.alpha1, units);
  m.beta1_u = expand(p.beta1, units);
  m.alpha2_u = expand(p.alpha2, units);
  m.beta2_u = expand(p.beta2, units);
  m.T_u = expand(p.T, units);
  m.pulse_u.resize(static_cast<std::size_t>(units));
  for (std::int64_t i = 0; i < units; ++i) {
    try {
      m.pulse_u[static_cast<std::size_t>(i)] = pulse_steps_for(p.T_dur.at(i), dt);
    } catch (const invalid_argument& e) {
      throw invalid_argument(std::string(e.what()) + " (parameter T_dur[" + std::to_string(i) + "])");
    }
  }
  return m;
}

void check_representable(const parameters& p, double dt, std::int64_t units, bionmda::precision prec) {
  const bool f32 = prec == bionmda::precision::float32;
  const double limit = f32 ? 1e30 : 1e300;
  const char* pname = f32 ? "float32" : "float64";
  BIONMDA_EXPECTS(dt >= 1e-30, "dt = " << dt << " ms is too small to represent in " << pname);
  struct named {
    const unit_value* v;
    const char* name;
  };
  for (const named& n : {named{&p.alpha1, "alpha1"}, named{&p.beta1, "beta1"}, named{&p.alpha2, "alpha2"},
                         named{&p.beta2, "beta2"}, named{&p.T, "T"}}) {
    for (std::int64_t i = 0; i < (n.v->is_per_unit() ? units : 1); ++i) {
      const double v = n.v->at(i);
      BIONMDA_EXPECTS(v <= limit, "parameter " << n.name << (n.v->is_per_unit() ? "[" + std::to_string(i) + "]" : "")
                                               << " = " << v << " is too large for " << pname << " (at most "
                                               << limit << ")");
    }
  }
  const std::int64_t count = (p.alpha2.is_per_unit() || p.T.is_per_unit()) ? units : 1;
  for (std::int64_t i = 0; i < count; ++i) {
    const double product = p.alpha2.at(i) * p.T.at(i);
    BIONMDA_EXPECTS(product <= limit, "alpha2 * T = " << product << (count > 1 ? " (unit " + std::to_string(i) + ")" : "")
                                                      << " is too large for " << pname << " (at most " << limit << ")");
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
