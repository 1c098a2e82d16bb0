#pragma once
/**
 * @file parameters.hpp
 * @brief Kinetic parameters and initial values of a BioNMDA population.
 *
 * Units: time in ms, rates in 1/ms, concentrations in mM. Defaults are
 * BrainPy's (brainpy.state.BioNMDA). See docs/model.md for the semantics.
 */
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
 * @brief Kinetic parameters; defaults are BrainPy's.
 *
 * Every field is one value or one value per unit. Valid: finite and >= 0.
 */
struct parameters {
  unit_value alpha1 = 2.0;   ///< rate g: closed -> open, driven by x [1/ms]
  unit_value beta1 = 0.01;   ///< rate g: open -> closed [1/ms]
  unit_value alpha2 = 1.0;   ///< rate x: inactive -> active per mM transmitter [1/(ms*mM)]
  unit_value beta2 = 0.5;    ///< rate x: active -> inactive [1/ms]
  unit_value T = 1.0;        ///< transmitter concentration during a pulse [mM]
  unit_value T_dur = 0.5;    ///< pulse duration [ms]; 0 disables the pulse
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
