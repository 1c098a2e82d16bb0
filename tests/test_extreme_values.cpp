// Extreme but accepted inputs (issue 10, item 7): the step over the whole
// accepted range of dt and rates against the float64 reference, and the
// refusals at its edges. Compiled for the CPU (extreme_values_test) and CUDA
// (extreme_values_gpu_test) backends.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

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

}  // namespace
