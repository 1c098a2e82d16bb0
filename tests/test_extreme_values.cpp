// Extreme but accepted inputs (issue 10, items 7 and 15): the step over the
// whole accepted range of dt and rates against the float64 reference, the
// refusals at its edges, and the Poisson threshold at its edges. Compiled for
// the CPU (extreme_values_test) and CUDA (extreme_values_gpu_test) backends.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "bionmda/detail/counter_rng.hpp"
#include "bionmda/detail/step_args.hpp"
#include "support/test_support.hpp"

namespace {

using namespace bionmda;
using bionmda::test::all_in_unit_interval;
using bionmda::test::all_near_abs;

// The accepted range of one precision (model_setup.cpp, check_representable):
// dt in [1e-30, the largest finite Real] ms; every rate and alpha2*T either 0
// or in [rate_min, rate_max].
template <class Real>
struct accepted;
template <>
struct accepted<float> {
  static constexpr precision prec = precision::float32;
  static constexpr double dt_max = FLT_MAX;
  static constexpr double rate_min = 1e-30;
  static constexpr double rate_max = 1e30;
};
template <>
struct accepted<double> {
  static constexpr precision prec = precision::float64;
  static constexpr double dt_max = DBL_MAX;
  static constexpr double rate_min = 1e-290;
  static constexpr double rate_max = 1e300;
};

template <class Real>
class ExtremeValues : public ::testing::Test {
 public:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }

  static population_config config(std::int64_t n, double dt) {
    population_config c;
    c.units = n;
    c.batch = 1;
    c.dt = dt;
    c.precision = accepted<Real>::prec;
    c.backend = test::backend_under_test();
    return c;
  }
};

using RealTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ExtremeValues, RealTypes);

// n values from lo to hi, equally spaced in log10, both ends exact.
std::vector<double> log_spaced(double lo, double hi, int n) {
  std::vector<double> v;
  const double a = std::log10(lo), b = std::log10(hi);
  for (int k = 0; k < n; ++k) v.push_back(k == 0 ? lo : (k == n - 1 ? hi : std::pow(10.0, a + (b - a) * k / (n - 1))));
  return v;
}

// Steps of the sweep; unit 2k spikes at steps 0 and 4, unit 2k+1 never.
constexpr int sweep_steps = 8;

// Tolerance of the sweep, absolute, against the float64 reference.
// Every rate of a unit is the same r (alpha1 = beta1 = alpha2 = beta2 = r,
// T = 1): then x_inf = 1/2 during a pulse and 0 after, g_inf = x/(x + 1), and
// the answer is well conditioned at every r and dt (no ratio of two rates
// that rounding could tip). One update y' = y + h*f of a state in [0, 1]
// rounds f's products (|error| <= 2 eps |J|), h (computed in float64, then
// one rounding to Real: eps relative; |h f| <= |y - y_inf| <= 1) and the sum:
// at most ~6 eps per update. x's error reaches g through g_inf (slope
// 1/(1 + x)^2 <= 1) and e^(dt J) (slope dt r e^(-dt r) <= 1/e), so g gains at
// most ~6 + 1.4 * 6 ~ 15 eps per step; earlier errors are multiplied by
// e^(dt J) <= 1, never amplified. Rounding dt and the rates to Real changes
// dt*J by 2 eps relative, and e^(dt J) by at most 2 eps * |z| e^(-|z|) <=
// eps. Bound: 16 eps per step, over sweep_steps steps.
template <class Real>
constexpr double sweep_tolerance() {
  return 16.0 * sweep_steps * std::numeric_limits<Real>::epsilon() / 2;  // eps = half an ulp of 1
}

// dt x rate over the whole accepted range: 15 x 15 log-spaced points, plus
// rate 0, with and without a pulse, against the float64 reference.
TYPED_TEST(ExtremeValues, TimeStepTimesRateSweepMatchesReference) {
  using A = accepted<TypeParam>;
  const auto dts = log_spaced(1e-30, A::dt_max, 15);
  auto rates = log_spaced(A::rate_min, A::rate_max, 15);
  rates.push_back(0.0);
  const auto n = static_cast<std::int64_t>(2 * rates.size());
  const double tol = sweep_tolerance<TypeParam>();
  for (double dt : dts) {
    SCOPED_TRACE(::testing::Message() << "dt = " << dt);
    auto cfg = TestFixture::config(n, dt);
    std::vector<double> r(static_cast<std::size_t>(n));
    for (std::size_t k = 0; k < r.size(); ++k) r[k] = rates[k / 2];
    cfg.params.alpha1 = r;
    cfg.params.beta1 = r;
    cfg.params.alpha2 = r;
    cfg.params.beta2 = r;
    cfg.params.T = 1.0;
    cfg.params.T_dur = dt;  // one step per spike
    cfg.g0 = 0.3;
    cfg.x0 = 0.7;
    population pop(cfg);
    reference_population ref = test::reference_of(pop);
    ASSERT_EQ(pop.pulse_steps(0), 1);
    for (int s = 0; s < sweep_steps; ++s) {
      std::vector<std::uint8_t> mask(static_cast<std::size_t>(n), 0);
      for (std::size_t k = 0; k < mask.size(); k += 2) mask[k] = (s == 0 || s == 4) ? 1 : 0;
      pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
      ref.step(mask.data());
      // Element 2k / 2k+1 has rate rates[k]: the message's index names it.
      ASSERT_TRUE(all_near_abs(pop.x(), ref.x(), tol)) << "x after step " << s;
      ASSERT_TRUE(all_near_abs(pop.g(), ref.g(), tol)) << "g after step " << s;
      ASSERT_TRUE(all_in_unit_interval(pop.g()));
    }
  }
}

// With a large dt every update lands on its equilibrium: check the sweep is
// not passing trivially there (the previous version gave g = 0, "no change").
TYPED_TEST(ExtremeValues, LargeTimeStepReachesEquilibrium) {
  using A = accepted<TypeParam>;
  for (double dt : {A::dt_max / 4, A::dt_max}) {
    SCOPED_TRACE(::testing::Message() << "dt = " << dt);
    auto cfg = TestFixture::config(1, dt);
    cfg.params.T_dur = dt;
    population pop(cfg);
    const std::uint8_t spike = 1;
    pop.step(dense_mask(host_span<const std::uint8_t>(&spike, 1)));
    // x_inf = alpha2 T / (alpha2 T + beta2) = 2/3; g_inf = 2 x / (2 x + 0.01).
    const double x_inf = 2.0 / 3.0;
    const double g_inf = 2 * x_inf / (2 * x_inf + 0.01);
    EXPECT_NEAR(pop.x()[0], x_inf, 1e-6);
    EXPECT_NEAR(pop.g()[0], g_inf, 1e-5);
  }
}

// The issue's three examples (and dt = 1e37, which the old factor still got
// right), default parameters otherwise, one spike at step 0.
struct issue_case {
  precision prec;
  double dt;
  double alpha1;
  double beta1;
};

class ExtremeIssueExamples : public ::testing::TestWithParam<issue_case> {
 public:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

TEST_P(ExtremeIssueExamples, MatchReferenceAndAreNotZero) {
  const issue_case c = GetParam();
  population_config cfg;
  cfg.units = 3;
  cfg.dt = c.dt;
  cfg.precision = c.prec;
  cfg.backend = test::backend_under_test();
  cfg.params.alpha1 = c.alpha1;
  cfg.params.beta1 = c.beta1;
  population pop(cfg);
  reference_population ref = test::reference_of(pop);
  const double tol = c.prec == precision::float32 ? 1e-5 : 1e-13;
  std::vector<std::uint8_t> mask = {1, 0, 1};
  for (int s = 0; s < 3; ++s) {
    pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    ref.step(mask.data());
    EXPECT_TRUE(all_near_abs(pop.g(), ref.g(), tol)) << "step " << s;
    EXPECT_TRUE(all_near_abs(pop.x(), ref.x(), tol)) << "step " << s;
    if (s == 0) {
      // Every update reaches its equilibrium: x = alpha2 T / (alpha2 T +
      // beta2) = 2/3, g = alpha1 x / (alpha1 x + beta1) (0.9926 with the
      // defaults; 0.4 with alpha1 = beta1). The old factor gave g = 0.
      const double x = 2.0 / 3.0;
      EXPECT_NEAR(pop.g()[0], c.alpha1 * x / (c.alpha1 * x + c.beta1), 1e-5) << "the factor overflowed";
      EXPECT_NEAR(pop.g()[2], pop.g()[0], 0.0);
    }
    mask = {0, 0, 0};
  }
}

INSTANTIATE_TEST_SUITE_P(Issue10, ExtremeIssueExamples,
                         ::testing::Values(issue_case{precision::float32, 1e38, 2.0, 0.01},
                                           issue_case{precision::float32, 1e37, 2.0, 0.01},
                                           issue_case{precision::float64, 5e307, 2.0, 0.01},
                                           issue_case{precision::float32, 1e10, 1e30, 1e30}));

// Beyond the accepted range: refused, naming the value and the precision.
template <class Exception>
void expect_refused(const population_config& cfg, const std::vector<std::string>& words) {
  try {
    population p(cfg);
    FAIL() << "accepted; expected an error mentioning " << words.front();
  } catch (const Exception& e) {
    const std::string msg = e.what();
    for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "message: " << msg;
  }
}

TEST(ExtremeRefusals, TimeStepBeyondTheLargestFloat) {
  if (!test::skip_reason().empty()) GTEST_SKIP() << test::skip_reason();
  population_config cfg;
  cfg.units = 2;
  cfg.backend = test::backend_under_test();
  cfg.precision = precision::float32;
  cfg.params.T_dur = 0.0;
  cfg.dt = 1e39;  // finite in double, inf in float
  expect_refused<invalid_argument>(cfg, {"dt", "e+38", "too large for float32"});
  cfg.dt = FLT_MAX;
  EXPECT_NO_THROW(population{cfg});
  cfg.precision = precision::float64;
  cfg.dt = 1e39;
  EXPECT_NO_THROW(population{cfg});
}

TEST(ExtremeRefusals, NonZeroRatesBelowTheSmallestAccepted) {
  if (!test::skip_reason().empty()) GTEST_SKIP() << test::skip_reason();
  population_config cfg;
  cfg.units = 2;
  cfg.backend = test::backend_under_test();
  cfg.precision = precision::float32;
  cfg.params.beta1 = 1e-35;  // flushed to 0 by the CPU step's products
  expect_refused<invalid_argument>(cfg, {"beta1", "e-35", "too small for float32"});
  cfg.params.beta1 = 0.0;  // zero is exact
  EXPECT_NO_THROW(population{cfg});
  cfg.params.alpha2 = 1e-20;
  cfg.params.T = 1e-20;  // alpha2 * T = 1e-40
  expect_refused<invalid_argument>(cfg, {"alpha2 * T", "e-41", "too small for float32"});
  cfg.precision = precision::float64;
  EXPECT_NO_THROW(population{cfg});
  cfg.params.beta2 = std::vector<double>{0.5, 1e-300};
  expect_refused<invalid_argument>(cfg, {"beta2[1]", "e-300", "too small for float64"});
}

// --- Poisson input at the edges of its threshold (item 15) -------------------
//
// The rule (spike_input.hpp): with p = rate_hz * dt / 1000, element e spikes
// when draw_bits(key, e) < p * 2^64, compared exactly; p >= 1, or within
// rounding of 1 (1 - 2^-51 <= p), spikes every step.

// Countdowns after one Poisson step of a fresh population: pulse_len - 1
// where an element spiked, 0 where not.
std::vector<std::uint16_t> poisson_countdowns(std::int64_t n, std::int64_t b, double dt, double rate,
                                              std::uint64_t seed, int steps_before = 0) {
  population_config cfg;
  cfg.units = n;
  cfg.batch = b;
  cfg.dt = dt;
  cfg.params.T_dur = 4.5 * dt;  // 5 steps
  cfg.backend = test::backend_under_test();
  population pop(cfg);
  for (int s = 0; s < steps_before; ++s) pop.step();
  pop.step(poisson{rate, seed});
  return pop.countdown();
}

class PoissonEdges : public ::testing::Test {
 public:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

TEST_F(PoissonEdges, ProbabilityOneAndAboveSpikeEveryElementEveryStep) {
  // 10 kHz at 0.1 ms is p = 1 (the issue's example); 1 MHz is p = 100.
  for (double rate : {10000.0, 1e6, 1e300}) {
    SCOPED_TRACE(::testing::Message() << "rate " << rate);
    population_config cfg;
    cfg.units = 1000;
    cfg.batch = 3;
    cfg.backend = test::backend_under_test();
    population pop(cfg);  // T_dur 0.5 ms at 0.1 ms: 5 steps
    for (int s = 0; s < 6; ++s) {
      pop.step(poisson{rate, 7});
      for (std::uint16_t c : pop.countdown()) ASSERT_EQ(c, 4) << "step " << s;
    }
  }
}

TEST_F(PoissonEdges, WithinRoundingOfOneSpikesEveryElement) {
  // A rate one ulp below 10 kHz: p comes out one or two ulps below 1.
  const double dt = 0.1;
  const double rate = std::nextafter(10000.0, 0.0);
  const double p = rate * dt / 1000.0;
  ASSERT_LT(p, 1.0);
  ASSERT_GE(p, 1.0 - 0x1p-51);
  for (std::uint16_t c : poisson_countdowns(5000, 2, dt, rate, 3)) ASSERT_EQ(c, 4);
  EXPECT_TRUE(test::poisson_spike(rate, dt, 3, 0, 0));
}

TEST_F(PoissonEdges, JustBelowOneFollowsTheRule) {
  // dt = 1000/1024 ms makes p = rate/1024 exactly for a rate with few bits.
  const double dt = 1000.0 / 1024.0;
  const double p = 1.0 - 0x1p-9;
  const double rate = p * 1024.0;
  ASSERT_EQ(rate * dt / 1000.0, p);
  const std::int64_t n = 20000;
  const auto cd = poisson_countdowns(n, 1, dt, rate, 11);
  const auto rule = test::poisson_mask(rate, dt, 11, 0, n);
  std::int64_t silent = 0;
  for (std::int64_t e = 0; e < n; ++e) {
    ASSERT_EQ(cd[static_cast<std::size_t>(e)] != 0, rule[static_cast<std::size_t>(e)] != 0) << "element " << e;
    silent += rule[static_cast<std::size_t>(e)] == 0 ? 1 : 0;
  }
  // 20000 * 2^-9 = 39 expected silent elements; 5 sigma bounds.
  EXPECT_GT(silent, 8);
  EXPECT_LT(silent, 70);
}

TEST_F(PoissonEdges, TinyProbabilityFollowsTheRule) {
  for (double rate : {1e-12, 1e-300, 0.0}) {
    const auto cd = poisson_countdowns(4000, 1, 0.1, rate, 5);
    const auto rule = test::poisson_mask(rate, 0.1, 5, 0, 4000);
    for (std::size_t e = 0; e < cd.size(); ++e) ASSERT_EQ(cd[e] != 0, rule[e] != 0) << "element " << e;
  }
}

// A draw exactly equal to p * 2^64 does not spike (the comparison is <, not
// <=); one step of the draw's precision above it does. Found by searching
// seeds for a draw with at most 46 significant bits, so that p = draw / 2^64
// and rate = p * 1024 give rate * dt / 1000 = p exactly at dt = 1000/1024.
TEST_F(PoissonEdges, DrawEqualToTheThresholdDoesNotSpike) {
  const double dt = 1000.0 / 1024.0;
  std::uint64_t seed = 0, draw = 0, step_bits = 0;
  for (std::uint64_t s = 1; s < (std::uint64_t{1} << 26); ++s) {
    const std::uint64_t d = detail::draw_bits(detail::stream_key(s, detail::rng_poisson, 0), 0);
    if (d < (std::uint64_t{1} << 50)) continue;  // keep p well above tiny
    int bits = 64;
    while (!(d >> (bits - 1))) --bits;
    const std::uint64_t unit = std::uint64_t{1} << (bits - 46);
    if (d % unit == 0) {
      seed = s;
      draw = d;
      step_bits = unit;
      break;
    }
  }
  ASSERT_NE(seed, 0u) << "no seed found";
  SCOPED_TRACE(::testing::Message() << "seed " << seed << " draw " << draw);
  const double p = std::ldexp(static_cast<double>(draw), -64);
  const double rate = p * 1024.0;
  ASSERT_EQ(rate * dt / 1000.0, p) << "p must be exactly the draw / 2^64";
  ASSERT_EQ(std::ldexp(p, 64), static_cast<double>(draw));
  EXPECT_FALSE(test::poisson_spike(rate, dt, seed, 0, 0)) << "the documented rule: draw < p * 2^64";
  EXPECT_EQ(poisson_countdowns(1, 1, dt, rate, seed)[0], 0) << "a draw equal to the threshold spiked";

  const double p_up = std::ldexp(static_cast<double>(draw + step_bits), -64);
  const double rate_up = p_up * 1024.0;
  ASSERT_EQ(rate_up * dt / 1000.0, p_up);
  EXPECT_TRUE(test::poisson_spike(rate_up, dt, seed, 0, 0));
  EXPECT_EQ(poisson_countdowns(1, 1, dt, rate_up, seed)[0], 4) << "a draw below the threshold did not spike";
}

// The gate's threshold is the rule's p * 2^64 rounded up (draws are integers:
// d < P exactly when d < ceil(P)), never a conversion out of range.
TEST(PoissonGate, ThresholdIsTheRuleRoundedUp) {
  // rate * dt / 1000 = p exactly for p with at most 46 significant bits.
  auto gate = [](double p) { return detail::make_gate_poisson(p * 1024.0, 1000.0 / 1024.0, 1, 0); };
  EXPECT_EQ(gate(0.0).threshold, 0u);
  EXPECT_FALSE(gate(0.0).always);
  EXPECT_EQ(gate(0x1p-70).threshold, 1u);    // P = 2^-6: only a draw of 0 spikes
  EXPECT_EQ(gate(0x1.6p-62).threshold, 6u);  // P = 5.5
  EXPECT_EQ(gate(0.5).threshold, std::uint64_t{1} << 63);
  EXPECT_EQ(gate(1.0 - 0x1p-46).threshold, ~std::uint64_t{0} - (std::uint64_t{1} << 18) + 1);
  EXPECT_FALSE(gate(1.0 - 0x1p-46).always);
  for (double p : {1.0, 1.5, 1e300}) EXPECT_TRUE(gate(p).always) << "p = " << p;
  // Within rounding of 1: one ulp below 10 kHz at 0.1 ms.
  const double rate = std::nextafter(10000.0, 0.0);
  ASSERT_LT(rate * 0.1 / 1000.0, 1.0);
  EXPECT_TRUE(detail::make_gate_poisson(rate, 0.1, 0, 0).always);
  // rate * dt / 1000 at exactly 1: the issue's example.
  EXPECT_TRUE(detail::make_gate_poisson(10000.0, 0.1, 0, 0).always);
}

}  // namespace
