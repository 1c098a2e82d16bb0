#pragma once
// Helpers shared by the tests: the backend under test, tolerance checks that
// name the first bad index, and independent generators of inputs.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bionmda/bionmda.hpp"

namespace bionmda::test {

#ifndef BIONMDA_TEST_CUDA
#define BIONMDA_TEST_CUDA 0
#endif

/// The backend a test binary exercises: cpu, or cuda in the *_gpu binaries
/// (compiled with BIONMDA_TEST_CUDA=1).
[[nodiscard]] inline backend backend_under_test() {
  return BIONMDA_TEST_CUDA ? backend::cuda : backend::cpu;
}

/// Empty when the backend under test can run here, else why not.
[[nodiscard]] inline std::string skip_reason() {
  if (backend_under_test() == backend::cpu) return {};
  if (!cuda_compiled()) return "CUDA backend not compiled in";
  if (cuda_devices().empty()) return "no usable CUDA device: " + cuda_unavailable_reason();
  return {};
}

/// GTEST_SKIP with the reason when the backend under test cannot run here.
#define BIONMDA_SKIP_IF_UNAVAILABLE()                          \
  do {                                                        \
    const std::string bionmda_reason_ = ::bionmda::test::skip_reason(); \
    if (!bionmda_reason_.empty()) GTEST_SKIP() << bionmda_reason_;      \
  } while (0)

/// |actual[k] - expected[k]| <= tol for all k; names the first violation.
::testing::AssertionResult all_near_abs(const std::vector<double>& actual,
                                        const std::vector<double>& expected, double tol);

/// |actual[k] - expected[k]| <= rel * |expected[k]| for all k (exact match
/// required where expected is 0); names the first violation.
::testing::AssertionResult all_near_rel(const std::vector<double>& actual,
                                        const std::vector<double>& expected, double rel);

/// All values finite and in [0, 1].
::testing::AssertionResult all_in_unit_interval(const std::vector<double>& v);

/// Bernoulli(p) spike mask of n bytes.
[[nodiscard]] std::vector<std::uint8_t> random_mask(std::mt19937_64& rng, std::int64_t n, double p);

/// n uniform values in [lo, hi).
[[nodiscard]] std::vector<double> random_values(std::mt19937_64& rng, std::int64_t n, double lo,
                                                double hi);

/// Random heterogeneous parameters for n units, T_dur on a grid of dt so
/// that pulse lengths are unambiguous, some of them 0.
[[nodiscard]] parameters random_parameters(std::mt19937_64& rng, std::int64_t n, double dt);

/// The dense [B][N] mask equivalent to a presynaptic mask [B][N_pre].
[[nodiscard]] std::vector<std::uint8_t> gather_mask(const std::vector<std::uint8_t>& pre,
                                                    const std::vector<std::int32_t>& sources,
                                                    std::int64_t n_pre, std::int64_t batch);

/// The dense mask that step(poisson{rate_hz, seed}) draws at step `step`
/// (its documented rule: element e spikes when draw_bits(key, e) < p * 2^64,
/// exactly; p >= 1 - 2^-51, within rounding of 1, spikes every step).
[[nodiscard]] std::vector<std::uint8_t> poisson_mask(double rate_hz, double dt, std::uint64_t seed,
                                                     std::int64_t step, std::int64_t elements);

/// Whether element e spikes at step `step` under step(poisson{rate_hz, seed}).
[[nodiscard]] bool poisson_spike(double rate_hz, double dt, std::uint64_t seed, std::int64_t step,
                                 std::int64_t e);

/// Builds a reference population from a population's current state.
[[nodiscard]] reference_population reference_of(const population& p);

}  // namespace bionmda::test
