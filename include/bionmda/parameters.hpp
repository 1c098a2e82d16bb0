#pragma once
/**
 * @file parameters.hpp
 * @brief Kinetic parameters and initial values of a BioNMDA population.
 *
 * Units: time in ms, rates in 1/ms, concentrations in mM. Defaults are
 * BrainPy's (brainpy.state.BioNMDA). See docs/model.md for the semantics.
 */
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bionmda {

/**
 * @brief One value for every unit, or one value per unit (shared by the batch).
 *
 * Implicitly constructible from a double (uniform) or a std::vector<double>
 * (per unit; its length must equal the population size).
 */
class unit_value {
 public:
  /** @brief The same value for every unit. */
  unit_value(double value) : uniform_(value) {}  // NOLINT(google-explicit-constructor)
  /** @brief One value per unit; length must equal the population size N. */
  unit_value(std::vector<double> values)  // NOLINT(google-explicit-constructor)
      : uniform_(0.0), per_unit_(std::move(values)), is_per_unit_(true) {}

  /** @brief True when one value per unit was given. */
  [[nodiscard]] bool is_per_unit() const noexcept { return is_per_unit_; }
  /** @brief The uniform value (meaningful only when !is_per_unit()). */
  [[nodiscard]] double uniform() const noexcept { return uniform_; }
  /** @brief The per-unit values (empty when uniform). */
  [[nodiscard]] const std::vector<double>& per_unit() const noexcept { return per_unit_; }
  /** @brief Value of unit i (either form). */
  [[nodiscard]] double at(std::int64_t i) const noexcept {
    return is_per_unit_ ? per_unit_[static_cast<std::size_t>(i)] : uniform_;
  }

 private:
  double uniform_;
  std::vector<double> per_unit_;
  bool is_per_unit_ = false;
};

/**
 * @brief The kinetic parameters, listed once; everything else is generated from this list.
 *
 * One row per parameter:
 * `X(field, cli_name, default_value, unit, minimum, kind, meaning)`:
 * - `field`: the name of the parameters member, as in BrainPy;
 * - `cli_name`: the `bionmda simulate` option, without its leading `--`;
 * - `default_value`: BrainPy's default, in `unit`;
 * - `unit`: the parameter's unit (time in ms, concentration in mM);
 * - `minimum`: valid values are finite and >= minimum;
 * - `kind`: a parameter_kind enumerator: `coefficient` enters the update
 *   equations as is, `duration` is counted in whole steps of dt;
 * - `meaning`: one line for documentation and `--help`.
 *
 * The order of the rows is the order of the parameters in checkpoint files:
 * append new parameters at the end and change the checkpoint format version.
 *
 * Expand it with a macro of seven arguments, e.g.
 * `#define NAME_OF(field, ...) #field,` then `BIONMDA_KINETIC_PARAMETERS(NAME_OF)`.
 */
#define BIONMDA_KINETIC_PARAMETERS(X)                                                                \
  X(alpha1, "alpha1", 2.0, "1/ms", 0.0, coefficient, "g opening rate (closed -> open, driven by x)") \
  X(beta1, "beta1", 0.01, "1/ms", 0.0, coefficient, "g closing rate (open -> closed)")               \
  X(alpha2, "alpha2", 1.0, "1/(ms*mM)", 0.0, coefficient,                                            \
    "x activation rate per mM of transmitter (inactive -> active)")                                 \
  X(beta2, "beta2", 0.5, "1/ms", 0.0, coefficient, "x inactivation rate (active -> inactive)")       \
  X(T, "T", 1.0, "mM", 0.0, coefficient, "transmitter concentration during a pulse")                 \
  X(T_dur, "T-dur", 0.5, "ms", 0.0, duration, "pulse duration (0: no pulse)")

/**
 * @brief Kinetic parameters; defaults are BrainPy's.
 *
 * One unit_value member per row of BIONMDA_KINETIC_PARAMETERS above: named
 * by the row's first column (alpha1, beta1, alpha2, beta2, T, T_dur, as in
 * BrainPy), initialised to its default, in its unit, valid when finite and
 * >= its minimum. Every field is one value or one value per unit.
 * kinetic_parameters describes the fields at run time.
 */
struct parameters {
#define BIONMDA_PARAMETER_FIELD_(field, cli_name, default_value, unit, minimum, kind, meaning) \
  unit_value field = default_value;
  BIONMDA_KINETIC_PARAMETERS(BIONMDA_PARAMETER_FIELD_)
#undef BIONMDA_PARAMETER_FIELD_
};

/** @brief How a kinetic parameter enters the model. */
enum class parameter_kind {
  coefficient,  ///< a rate or concentration used as is in the update equations
  duration      ///< a time, converted once into a whole number of steps of dt
};

/**
 * @brief Pointer to one kinetic parameter of parameters, e.g. `&parameters::T`.
 *
 * An alias rather than a spelled-out member pointer in declarations: nvcc
 * rewrites those with parentheses that g++ then warns about (-Wparentheses).
 */
using parameter_member = unit_value parameters::*;

/** @brief Description of one kinetic parameter (one row of BIONMDA_KINETIC_PARAMETERS). */
struct parameter_info {
  const char* name;              ///< field name, as in BrainPy, e.g. "T_dur"
  const char* cli_name;          ///< `bionmda simulate` option without its `--`, e.g. "T-dur"
  double default_value;          ///< BrainPy's default, in unit
  const char* unit;              ///< unit of the value, e.g. "1/ms"
  double minimum;                ///< valid values are finite and >= minimum, in unit
  parameter_kind kind;           ///< how the value enters the model
  const char* meaning;           ///< one-line description
  parameter_member member;       ///< the field of parameters that holds it
};

/**
 * @brief Every kinetic parameter, in the order of BIONMDA_KINETIC_PARAMETERS
 *        (which is also their order in checkpoint files).
 */
inline constexpr std::array kinetic_parameters{
#define BIONMDA_PARAMETER_INFO_(field, cli_name, default_value, unit, minimum, kind, meaning) \
  parameter_info{#field, cli_name, default_value, unit, minimum, parameter_kind::kind, meaning, &parameters::field},
    BIONMDA_KINETIC_PARAMETERS(BIONMDA_PARAMETER_INFO_)
#undef BIONMDA_PARAMETER_INFO_
};

/**
 * @brief Initial value of g or x: a constant, one value per unit, or uniform random.
 *
 * Values are dimensionless fractions and must lie in [0, 1].
 */
class initial_value {
 public:
  /** @brief Kind of initialiser. */
  enum class kind { constant, per_unit, uniform_random };

  /** @brief Every unit and batch entry starts at v (in [0, 1]). */
  static initial_value constant(double v) { return initial_value(kind::constant, v, v, 0, {}); }
  /**
   * @brief One value per unit, length N (shared by every batch entry) or
   *        N*B (laid out [batch][unit]).
   */
  static initial_value per_unit(std::vector<double> values) {
    return initial_value(kind::per_unit, 0, 0, 0, std::move(values));
  }
  /**
   * @brief Independent uniform draws in [low, high) per unit and batch entry,
   *        reproducible from seed and identical on every backend.
   */
  static initial_value uniform(double low, double high, std::uint64_t seed) {
    return initial_value(kind::uniform_random, low, high, seed, {});
  }
  /** @brief Constant 0 (BrainPy's default). */
  initial_value() : initial_value(kind::constant, 0, 0, 0, {}) {}
  /** @brief Implicit constant. */
  initial_value(double v) : initial_value(kind::constant, v, v, 0, {}) {}  // NOLINT

  [[nodiscard]] kind get_kind() const noexcept { return kind_; }
  [[nodiscard]] double low() const noexcept { return low_; }    ///< constant value or lower bound
  [[nodiscard]] double high() const noexcept { return high_; }  ///< constant value or upper bound
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  [[nodiscard]] const std::vector<double>& values() const noexcept { return values_; }

 private:
  initial_value(kind k, double lo, double hi, std::uint64_t seed, std::vector<double> v)
      : kind_(k), low_(lo), high_(hi), seed_(seed), values_(std::move(v)) {}
  kind kind_;
  double low_;
  double high_;
  std::uint64_t seed_;
  std::vector<double> values_;
};

}  // namespace bionmda
