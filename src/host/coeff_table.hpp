#pragma once
// Per-unit step coefficients in an engine's precision, built from the
// validated model; both backends upload the same table.
#include <vector>

#include "bionmda/detail/kinetics.hpp"
#include "model_setup.hpp"

namespace bionmda::detail {

template <class Real>
struct coeff_table {
  unit_coeffs<Real> uniform{};  ///< when !per_unit
  // Per unit (empty when uniform), one array per field of unit_coeffs.
  std::vector<Real> alpha1, beta1, ax_on, beta2, hx_on, hx_off;
};

template <class Real>
coeff_table<Real> make_coeff_table(const prepared_model& m) {
  coeff_table<Real> t;
  if (!m.per_unit) {
    t.uniform = make_unit_coeffs<Real>(m.alpha1, m.beta1, m.alpha2, m.beta2, m.T, m.dt);
    return t;
  }
  const auto n = static_cast<std::size_t>(m.units);
  for (auto* v : {&t.alpha1, &t.beta1, &t.ax_on, &t.beta2, &t.hx_on, &t.hx_off}) v->resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const unit_coeffs<Real> c = make_unit_coeffs<Real>(m.alpha1_u[i], m.beta1_u[i], m.alpha2_u[i],
                                                       m.beta2_u[i], m.T_u[i], m.dt);
    t.alpha1[i] = c.alpha1;
    t.beta1[i] = c.beta1;
    t.ax_on[i] = c.ax_on;
    t.beta2[i] = c.beta2;
    t.hx_on[i] = c.hx_on;
    t.hx_off[i] = c.hx_off;
  }
  return t;
}

}  // namespace bionmda::detail
