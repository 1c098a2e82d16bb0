#pragma once
/**
 * @file reference.hpp
 * @brief The float64 scalar reference: the yardstick for every backend.
 *
 * Written for clarity, straight from docs/model.md, sharing no code with the
 * fast backends (not even the pulse-length rule), so that agreement between
 * them is evidence. Slow by design: one unit at a time, one thread.
 */
#include <cstdint>
#include <vector>

#include "bionmda/parameters.hpp"

namespace bionmda {

/** @brief N units x B batch entries of BioNMDA kinetics in float64, scalar code. */
class reference_population {
 public:
  /**
   * @param units  N
   * @param batch  B
   * @param dt     time step [ms]
   * @param params kinetic parameters (uniform or per unit)
   * @param g0     initial g, N*B values laid out [batch][unit]
   * @param x0     initial x, N*B values laid out [batch][unit]
   * @throw bionmda::invalid_argument if sizes do not match
   */
  reference_population(std::int64_t units, std::int64_t batch, double dt, parameters params,
                       std::vector<double> g0, std::vector<double> x0);

  /**
   * @brief One step. spikes: N*B bytes [batch][unit] (non-zero = spike), or
   *        nullptr for no spikes.
   */
  void step(const std::uint8_t* spikes);

  /** @brief g after the last step, [batch][unit]. */
  [[nodiscard]] const std::vector<double>& g() const noexcept { return g_; }
  /** @brief x after the last step, [batch][unit]. */
  [[nodiscard]] const std::vector<double>& x() const noexcept { return x_; }
  /** @brief Pulse length of unit i in steps. */
  [[nodiscard]] std::int64_t pulse_steps(std::int64_t unit) const;
  /** @brief N. */
  [[nodiscard]] std::int64_t units() const noexcept { return units_; }
  /** @brief B. */
  [[nodiscard]] std::int64_t batch() const noexcept { return batch_; }

 private:
  std::int64_t units_;
  std::int64_t batch_;
  double dt_;
  parameters params_;
  std::vector<std::int64_t> pulse_len_;   // per unit
  std::vector<double> g_, x_;
  std::vector<std::int64_t> pulse_left_;  // per element
};

}  // namespace bionmda
