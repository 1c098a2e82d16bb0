#include "test_support.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "bionmda/detail/counter_rng.hpp"

namespace bionmda::test {

namespace {
::testing::AssertionResult size_mismatch(std::size_t a, std::size_t b) {
  return ::testing::AssertionFailure() << "size mismatch: actual " << a << " vs expected " << b;
}
}  // namespace

::testing::AssertionResult all_near_abs(const std::vector<double>& actual,
                                        const std::vector<double>& expected, double tol) {
  if (actual.size() != expected.size()) return size_mismatch(actual.size(), expected.size());
  double worst = 0;
  for (std::size_t k = 0; k < actual.size(); ++k) {
    const double d = std::fabs(actual[k] - expected[k]);
    if (!(d <= tol)) {
      return ::testing::AssertionFailure()
             << "element " << k << ": actual " << actual[k] << " expected " << expected[k]
             << " |diff| " << d << " > tol " << tol;
    }
    worst = std::max(worst, d);
  }
  return ::testing::AssertionSuccess() << "max |diff| " << worst;
}

::testing::AssertionResult all_near_rel(const std::vector<double>& actual,
                                        const std::vector<double>& expected, double rel) {
  if (actual.size() != expected.size()) return size_mismatch(actual.size(), expected.size());
  for (std::size_t k = 0; k < actual.size(); ++k) {
    const double d = std::fabs(actual[k] - expected[k]);
    if (!(d <= rel * std::fabs(expected[k]))) {
      return ::testing::AssertionFailure()
             << std::setprecision(17) << "element " << k << ": actual " << actual[k]
             << " expected " << expected[k] << " relative diff "
             << d / std::fabs(expected[k]) << " > " << rel;
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult all_in_unit_interval(const std::vector<double>& v) {
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (!(v[k] >= 0.0 && v[k] <= 1.0)) {
      return ::testing::AssertionFailure() << "element " << k << " = " << v[k]
                                           << " is outside [0, 1]";
    }
  }
  return ::testing::AssertionSuccess();
}

std::vector<std::uint8_t> random_mask(std::mt19937_64& rng, std::int64_t n, double p) {
  std::bernoulli_distribution d(p);
  std::vector<std::uint8_t> m(static_cast<std::size_t>(n));
  for (auto& b : m) b = d(rng) ? 1 : 0;
  return m;
}

std::vector<double> random_values(std::mt19937_64& rng, std::int64_t n, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& a : v) a = d(rng);
  return v;
}

parameters random_parameters(std::mt19937_64& rng, std::int64_t n, double dt) {
  parameters p;
  p.alpha1 = random_values(rng, n, 0.5, 4.0);
  p.beta1 = random_values(rng, n, 0.005, 0.05);
  p.alpha2 = random_values(rng, n, 0.5, 2.0);
  p.beta2 = random_values(rng, n, 0.2, 1.0);
  p.T = random_values(rng, n, 0.5, 2.0);
  std::uniform_int_distribution<int> steps(0, 12);
  std::vector<double> T_dur(static_cast<std::size_t>(n));
  // Mid-way between grid points, so the pulse length is unambiguous: k steps.
  for (auto& t : T_dur) {
    const int k = steps(rng);
    t = k == 0 ? 0.0 : (k - 0.5) * dt;
  }
  p.T_dur = T_dur;
  return p;
}

std::vector<std::uint8_t> gather_mask(const std::vector<std::uint8_t>& pre,
                                      const std::vector<std::int32_t>& sources,
                                      std::int64_t n_pre, std::int64_t batch) {
  const auto n = static_cast<std::int64_t>(sources.size());
  std::vector<std::uint8_t> dense(static_cast<std::size_t>(n * batch));
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t i = 0; i < n; ++i) {
      dense[static_cast<std::size_t>(b * n + i)] =
          pre[static_cast<std::size_t>(b * n_pre + sources[static_cast<std::size_t>(i)])];
    }
  }
  return dense;
}

bool poisson_spike(double rate_hz, double dt, std::uint64_t seed, std::int64_t step,
                   std::int64_t e) {
  // The documented rule: p = rate_hz * dt / 1000; certain from 1 - 2^-51 on
  // (within rounding of 1); otherwise a spike when the draw d < p * 2^64,
  // compared exactly here in integers: p = m * 2^(k - 53) with m a 53-bit
  // integer, so p * 2^64 = m * 2^(k + 11).
  const double p = rate_hz * dt / 1000.0;
  if (p >= 1.0 - 0x1p-51) return true;
  if (p <= 0.0) return false;
  const std::uint64_t key =
      detail::stream_key(seed, detail::rng_poisson, static_cast<std::uint64_t>(step));
  const std::uint64_t d = detail::draw_bits(key, static_cast<std::uint64_t>(e));
  int k = 0;
  const auto m = static_cast<std::uint64_t>(std::ldexp(std::frexp(p, &k), 53));
  const int shift = k + 11;  // <= 11 since p < 1: m << shift < 2^64
  if (shift >= 0) return d < (m << shift);
  // d < m / 2^s  <=>  d * 2^s < m  <=>  d * 2^s <= m - 1  <=>  d <= (m - 1) / 2^s
  const int s = -shift;
  if (s >= 64) return d == 0;  // m / 2^s < 2^-11: only a draw of 0 is below
  return d <= ((m - 1) >> s);
}

std::vector<std::uint8_t> poisson_mask(double rate_hz, double dt, std::uint64_t seed,
                                       std::int64_t step, std::int64_t elements) {
  std::vector<std::uint8_t> m(static_cast<std::size_t>(elements));
  for (std::int64_t e = 0; e < elements; ++e) {
    m[static_cast<std::size_t>(e)] = poisson_spike(rate_hz, dt, seed, step, e) ? 1 : 0;
  }
  return m;
}

reference_population reference_of(const population& p) {
  return reference_population(p.units(), p.batch(), p.dt(), p.config().params, p.g(), p.x());
}

}  // namespace bionmda::test
