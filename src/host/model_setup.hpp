#pragma once
// Validation of parameters and their conversion into what the engines consume.
#include <cstdint>
#include <vector>

#include "bionmda/backend.hpp"
#include "bionmda/detail/kinetics.hpp"
#include "bionmda/parameters.hpp"

namespace bionmda::detail {

/// Parameters after validation, in float64 (engines convert to their precision).
struct prepared_model {
  double dt = 0;
  std::int64_t units = 0;
  bool per_unit = false;  ///< some parameter was given per unit: engines read arrays
  // Uniform values (per_unit == false).
  double alpha1 = 0, beta1 = 0, alpha2 = 0, beta2 = 0, T = 0;
  countdown_t pulse_steps = 0;
  // Per-unit values, length units (per_unit == true).
  std::vector<double> alpha1_u, beta1_u, alpha2_u, beta2_u, T_u;
  std::vector<countdown_t> pulse_u;

  /// Pulse steps of unit i in either mode.
  [[nodiscard]] countdown_t pulse_of(std::int64_t i) const {
    return per_unit ? pulse_u[static_cast<std::size_t>(i)] : pulse_steps;
  }
};

/// n = #{k >= 0 : k*dt < T_dur}, with T_dur/dt within 1e-9 (relative) of an
/// integer taken as that integer. Throws when n exceeds the countdown's range.
[[nodiscard]] countdown_t pulse_steps_for(double T_dur, double dt);

/// Validates dt, sizes and every parameter (naming the first bad one) and
/// prepares them. Throws bionmda::invalid_argument; touches no state.
[[nodiscard]] prepared_model prepare_model(const parameters& p, double dt, std::int64_t units);

/// Checks that parameters and dt stay finite and usable in the state's
/// precision: every rate, T and alpha2*T 0 or in [1e-30, 1e30] (float32),
/// [1e-290, 1e300] (float64), so that sums of rates cannot overflow and no
/// product that matters is flushed to zero; dt in [1e-30 ms, the largest
/// finite number of the precision].
void check_representable(const parameters& p, double dt, std::int64_t units, bionmda::precision prec);

/// Validates an initial value for a population of units x batch.
void validate_initial_value(const initial_value& v, const char* name, std::int64_t units,
                            std::int64_t batch);

}  // namespace bionmda::detail
