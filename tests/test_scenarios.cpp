// Each scenario runs the backend under test (CPU, or CUDA in scenarios_gpu)
// against the independent float64 reference. The CUDA build also compares
// with the CPU backend. Float and double are typed tests.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bionmda/detail/kinetics.hpp"
#include "support/test_support.hpp"

namespace {

using namespace bionmda;
using bionmda::test::all_in_unit_interval;
using bionmda::test::all_near_abs;
using bionmda::test::all_near_rel;

template <class Real>
class Scenarios : public ::testing::Test {
 public:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }

  static constexpr precision prec =
      std::is_same_v<Real, float> ? precision::float32 : precision::float64;

  // Tolerances against the float64 reference.
  // float64: both compute the same formulas in double; the backends' vector
  // expm1 and contractions differ by a few ulp per step, and the dynamics is
  // contractive, so errors stay near 1e-13 relative over thousands of steps.
  // float32: rounding of ~6e-8 per operation, contracted by the dynamics,
  // stays under 1e-5 absolute over 2000 steps (the bound).
  static ::testing::AssertionResult close(const std::vector<double>& actual,
                                          const std::vector<double>& ref) {
    if constexpr (std::is_same_v<Real, double>) {
      return all_near_rel(actual, ref, 1e-12);
    } else {
      return all_near_abs(actual, ref, 1e-5);
    }
  }

  static population_config config(std::int64_t n, std::int64_t b, double dt, backend be) {
    population_config c;
    c.units = n;
    c.batch = b;
    c.dt = dt;
    c.precision = prec;
    c.backend = be;
    return c;
  }
};

using RealTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Scenarios, RealTypes);

struct case_spec {
  std::int64_t units;
  std::int64_t batch;
  int steps;
  int check_every;
  double spike_p;
};

// Random spikes, random heterogeneous parameters, random initial state.
template <class Fixture>
void run_dense_case(const case_spec& cs, std::uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "N=" << cs.units << " B=" << cs.batch
                                    << " steps=" << cs.steps << " seed=" << seed);
  std::mt19937_64 rng(seed);
  const double dt = 0.1;
  auto cfg = Fixture::config(cs.units, cs.batch, dt, test::backend_under_test());
  cfg.params = test::random_parameters(rng, cs.units, dt);
  cfg.g0 = initial_value::uniform(0.0, 1.0, seed + 1);
  cfg.x0 = initial_value::uniform(0.0, 1.0, seed + 2);
  population pop(cfg);
  reference_population ref = test::reference_of(pop);
  for (int s = 0; s < cs.steps; ++s) {
    const auto mask = test::random_mask(rng, pop.elements(), cs.spike_p);
    pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    ref.step(mask.data());
    if ((s + 1) % cs.check_every == 0 || s + 1 == cs.steps) {
      ASSERT_TRUE(Fixture::close(pop.g(), ref.g())) << "g after step " << s;
      ASSERT_TRUE(Fixture::close(pop.x(), ref.x())) << "x after step " << s;
    }
  }
  EXPECT_EQ(pop.step_count(), cs.steps);
}

TYPED_TEST(Scenarios, DenseRandomSmallSizes) {
  for (std::int64_t n : {0, 1, 31, 33, 255, 257}) {
    run_dense_case<TestFixture>({n, 3, 300, 10, 0.05}, 100 + static_cast<std::uint64_t>(n));
  }
}

TYPED_TEST(Scenarios, DenseRandomTenThousandUnitsTwoThousandSteps) {
  run_dense_case<TestFixture>({10000, 2, 2000, 100, 0.01}, 7);
}

TYPED_TEST(Scenarios, DenseRandomMillionUnits) {
  run_dense_case<TestFixture>({1000003, 1, 12, 4, 0.05}, 11);
}

TYPED_TEST(Scenarios, UniformParametersDefaultInit) {
  // The uniform-parameter path is a different code path (no per-unit arrays).
  std::mt19937_64 rng(3);
  auto cfg = TestFixture::config(4099, 2, 0.125, test::backend_under_test());
  population pop(cfg);
  reference_population ref = test::reference_of(pop);
  for (int s = 0; s < 1000; ++s) {
    const auto mask = test::random_mask(rng, pop.elements(), 0.02);
    pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    ref.step(mask.data());
  }
  EXPECT_TRUE(TestFixture::close(pop.g(), ref.g()));
  EXPECT_TRUE(TestFixture::close(pop.x(), ref.x()));
}

TYPED_TEST(Scenarios, PresynapticGatherEqualsDenseEquivalent) {
  std::mt19937_64 rng(5);
  const std::int64_t n = 5003, n_pre = 97, batch = 3;
  auto cfg = TestFixture::config(n, batch, 0.1, test::backend_under_test());
  cfg.params = test::random_parameters(rng, n, 0.1);
  population pop(cfg);
  std::vector<std::int32_t> sources(static_cast<std::size_t>(n));
  std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
  for (auto& s : sources) s = pick(rng);
  pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre);
  EXPECT_EQ(pop.presynaptic_size(), n_pre);
  reference_population ref = test::reference_of(pop);
  for (int s = 0; s < 400; ++s) {
    const auto pre = test::random_mask(rng, n_pre * batch, 0.05);
    pop.step(presynaptic_mask(host_span<const std::uint8_t>(pre)));
    const auto dense = test::gather_mask(pre, sources, n_pre, batch);
    ref.step(dense.data());
  }
  EXPECT_TRUE(TestFixture::close(pop.g(), ref.g()));
  EXPECT_TRUE(TestFixture::close(pop.x(), ref.x()));
}

TYPED_TEST(Scenarios, PoissonInputFollowsItsDocumentedRule) {
  const std::int64_t n = 3001, batch = 2;
  const double rate = 200.0, dt = 0.1;
  const std::uint64_t seed = 42;
  auto cfg = TestFixture::config(n, batch, dt, test::backend_under_test());
  population pop(cfg);
  reference_population ref = test::reference_of(pop);
  std::int64_t spikes = 0;
  for (int s = 0; s < 500; ++s) {
    const auto mask = test::poisson_mask(rate, dt, seed, s, pop.elements());
    for (auto m : mask) spikes += m;
    pop.step(poisson{rate, seed});
    ref.step(mask.data());
  }
  // 200 Hz * 0.1 ms = 0.02 per step: 6002 * 500 * 0.02 = 60040 expected,
  // standard deviation ~243; 5 sigma bounds.
  EXPECT_NEAR(static_cast<double>(spikes), 60040.0, 1250.0);
  EXPECT_TRUE(TestFixture::close(pop.g(), ref.g()));
  EXPECT_TRUE(TestFixture::close(pop.x(), ref.x()));
}

// Sizes around the CPU backend's tile of 8192 elements (a row's last tile is
// partial, or a single unit), batch 2 (rows start mid-tile), with every kind
// of input in turn, uniform and per-unit parameters: each step against the
// reference, so that a tile updated with another tile's spikes, or not at
// all, shows.
TYPED_TEST(Scenarios, TileTailsWithEveryInputKind) {
  const double dt = 0.1;
  const std::int64_t batch = 2, n_pre = 97;
  for (const std::int64_t n : {std::int64_t{8191}, std::int64_t{8193}, std::int64_t{3 * 8192 + 5}}) {
    for (const bool per_unit : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "N=" << n << (per_unit ? " per-unit" : " uniform"));
      std::mt19937_64 rng(static_cast<std::uint64_t>(n) + (per_unit ? 1 : 0));
      auto cfg = TestFixture::config(n, batch, dt, test::backend_under_test());
      if (per_unit) cfg.params = test::random_parameters(rng, n, dt);
      cfg.g0 = initial_value::uniform(0.0, 0.5, 5);
      population pop(cfg);
      std::vector<std::int32_t> sources(static_cast<std::size_t>(n));
      std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
      for (auto& s : sources) s = pick(rng);
      pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre);
      reference_population ref = test::reference_of(pop);
      const std::int64_t elements = pop.elements();
      for (int s = 0; s < 10; ++s) {
        const int kind = s % 5;
        std::vector<std::uint8_t> dense;
        if (kind == 0) {  // dense mask
          dense = test::random_mask(rng, elements, 0.05);
          pop.step(dense_mask(host_span<const std::uint8_t>(dense)));
        } else if (kind == 1) {  // presynaptic mask
          const auto pre = test::random_mask(rng, n_pre * batch, 0.2);
          pop.step(presynaptic_mask(host_span<const std::uint8_t>(pre)));
          dense = test::gather_mask(pre, sources, n_pre, batch);
        } else if (kind == 2) {  // Poisson
          dense = test::poisson_mask(500.0, dt, 77, pop.step_count(), elements);
          pop.step(poisson{500.0, 77});
        } else if (kind == 3) {  // spike events, the last element of each row among them
          std::vector<std::int64_t> events;
          dense.assign(static_cast<std::size_t>(elements), 0);
          for (std::int64_t e = 0; e < elements; ++e) {
            if (e % n == n - 1 || rng() % 29 == 0) {
              events.push_back(e);
              dense[static_cast<std::size_t>(e)] = 1;
            }
          }
          pop.step(spike_events(host_span<const std::int64_t>(events)));
        } else {  // no input
          dense.assign(static_cast<std::size_t>(elements), 0);
          pop.step(no_spikes{});
        }
        ref.step(dense.data());
        ASSERT_TRUE(TestFixture::close(pop.g(), ref.g())) << "g after step " << s << " (input kind " << kind << ")";
        ASSERT_TRUE(TestFixture::close(pop.x(), ref.x())) << "x after step " << s << " (input kind " << kind << ")";
      }
    }
  }
}

// The ISA override used by the scenarios_test.cpu_isa_* runs takes effect.
TEST(CpuInstructionSet, HonoursTheOverride) {
  const char* env = std::getenv("BIONMDA_CPU_ISA");
  const std::string chosen = cpu_instruction_set();
  // Never a variant the build left out (BIONMDA_CPU_ISA_MAX).
  const std::string built_max = BIONMDA_TEST_CPU_ISA_MAX;
  if (built_max == "generic") {
    EXPECT_EQ(chosen, "generic");
  }
  if (built_max == "avx2") {
    EXPECT_NE(chosen, "avx512");
  }
  if (env == nullptr) {
    EXPECT_TRUE(chosen == "avx512" || chosen == "avx2" || chosen == "generic") << chosen;
    return;
  }
  if (std::string(env) == "generic") {
    EXPECT_EQ(chosen, "generic");
  } else {
    EXPECT_TRUE(chosen == env || chosen == "generic") << "asked " << env << ", got " << chosen;
  }
}

// --- Pulse edge cases -------------------------------------------------------

// Runs one unit with spikes at the given steps; returns x after each step and
// the countdown after each step.
template <class Fixture>
void pulse_trace(double T_dur, double dt, const std::vector<int>& spike_steps, int steps,
                 std::vector<double>& x_trace, std::vector<std::uint16_t>& cd_trace,
                 reference_population* ref_out = nullptr) {
  auto cfg = Fixture::config(1, 1, dt, test::backend_under_test());
  cfg.params.T_dur = T_dur;
  population pop(cfg);
  reference_population ref = test::reference_of(pop);
  for (int s = 0; s < steps; ++s) {
    std::uint8_t m = 0;
    for (int k : spike_steps) m |= (k == s) ? 1 : 0;
    pop.step(dense_mask(host_span<const std::uint8_t>(&m, 1)));
    ref.step(&m);
    x_trace.push_back(pop.x()[0]);
    cd_trace.push_back(pop.countdown()[0]);
    ASSERT_TRUE(Fixture::close(pop.x(), ref.x())) << "step " << s;
    ASSERT_TRUE(Fixture::close(pop.g(), ref.g())) << "step " << s;
  }
  if (ref_out) *ref_out = ref;
}

TYPED_TEST(Scenarios, ZeroPulseDurationMeansSpikesDoNothing) {
  std::vector<double> x;
  std::vector<std::uint16_t> cd;
  pulse_trace<TestFixture>(0.0, 0.1, {0, 1, 2, 10}, 20, x, cd);
  for (std::size_t s = 0; s < x.size(); ++s) {
    EXPECT_EQ(x[s], 0.0) << "step " << s;
    EXPECT_EQ(cd[s], 0) << "step " << s;
  }
}

TYPED_TEST(Scenarios, PulseOfExactMultipleLastsFiveSteps) {
  // T_dur = 0.5 ms, dt = 0.1 ms: 0.5/0.1 is exactly 5.0 in double -> 5 steps.
  std::vector<double> x;
  std::vector<std::uint16_t> cd;
  pulse_trace<TestFixture>(0.5, 0.1, {0}, 12, x, cd);
  const std::vector<std::uint16_t> expected_cd = {4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(cd, expected_cd);
  for (int s = 1; s < 5; ++s) EXPECT_GT(x[s], x[s - 1]) << "x rises while the pulse is on";
  for (int s = 5; s < 12; ++s) EXPECT_LT(x[s], x[s - 1]) << "x falls after 5 steps";
}

TYPED_TEST(Scenarios, SpikeDuringPulseRestartsIt) {
  std::vector<double> x;
  std::vector<std::uint16_t> cd;
  pulse_trace<TestFixture>(0.5, 0.1, {0, 3}, 14, x, cd);
  // Second spike at step 3 covers steps 3..7.
  const std::vector<std::uint16_t> expected_cd = {4, 3, 2, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(cd, expected_cd);
  for (int s = 1; s < 8; ++s) EXPECT_GT(x[s], x[s - 1]) << "step " << s;
  for (int s = 8; s < 14; ++s) EXPECT_LT(x[s], x[s - 1]) << "step " << s;
}

// T_dur/dt just off a whole number of steps (docs/model.md's 1e-9 rule):
// within 1e-9 relative of n it is n steps, else ceil(T_dur/dt). Ceil alone
// gives 8 for 0.07/0.01 = 7.000000000000001; a 1e-3 tolerance gives 5 for
// 0.5001/0.1; an absolute 1e-9 gives 5001 for 5000.0000001 and 0 for 1e-10.
struct pulse_case {
  double T_dur, dt;
  std::int64_t steps;
};
constexpr pulse_case pulse_edges[] = {
    {0.07, 0.01, 7},    {0.035, 0.005, 7},       {0.5001, 0.1, 6}, {0.4999, 0.1, 5},
    {0.3, 0.1, 3},      {0.5, 0.1, 5},           {0.52, 0.1, 6},   {0.05, 0.1, 1},
    {1e-11, 0.1, 1},    {0.5 + 1e-11, 1e-4, 5000}, {0.0, 0.1, 0},  {6.5535, 1e-4, 65535},
};

TYPED_TEST(Scenarios, PulseLengthAtTheEdgesOfTheRule) {
  for (const pulse_case& c : pulse_edges) {
    SCOPED_TRACE(::testing::Message() << "T_dur=" << c.T_dur << " dt=" << c.dt);
    auto cfg = TestFixture::config(2, 1, c.dt, test::backend_under_test());
    cfg.params.T_dur = c.T_dur;  // uniform
    population uniform(cfg);
    EXPECT_EQ(uniform.pulse_steps(), c.steps);
    EXPECT_EQ(test::reference_of(uniform).pulse_steps(0), c.steps);
    cfg.params.T_dur = std::vector<double>{0.0, c.T_dur};  // per unit
    population per_unit(cfg);
    EXPECT_EQ(per_unit.pulse_steps(1), c.steps);
  }
}

// 0.07 ms at dt = 0.01 ms covers 7 steps in the step itself, not only in
// pulse_steps().
TYPED_TEST(Scenarios, PulseJustAboveAWholeNumberOfStepsLastsThatMany) {
  std::vector<double> x;
  std::vector<std::uint16_t> cd;
  pulse_trace<TestFixture>(0.07, 0.01, {0}, 10, x, cd);
  const std::vector<std::uint16_t> expected_cd = {6, 5, 4, 3, 2, 1, 0, 0, 0, 0};
  EXPECT_EQ(cd, expected_cd);
  for (int s = 1; s < 7; ++s) EXPECT_GT(x[s], x[s - 1]) << "x rises while the pulse is on";
  for (int s = 7; s < 10; ++s) EXPECT_LT(x[s], x[s - 1]) << "x falls after 7 steps";
}

TYPED_TEST(Scenarios, PopulationReportsPulseSteps) {
  auto cfg = TestFixture::config(3, 1, 0.1, test::backend_under_test());
  cfg.params.T_dur = std::vector<double>{0.5, 0.0, 0.55};
  population pop(cfg);
  EXPECT_EQ(pop.pulse_steps(0), 5);
  EXPECT_EQ(pop.pulse_steps(1), 0);
  EXPECT_EQ(pop.pulse_steps(2), 6);
}

// --- Invariant --------------------------------------------------------------

TYPED_TEST(Scenarios, StateStaysInUnitIntervalForExtremeValidInputs) {
  std::mt19937_64 rng(9);
  const std::int64_t n = 2048;
  auto cfg = TestFixture::config(n, 2, 0.5, test::backend_under_test());
  // Rates spanning seven decades, including 0 and very large ones.
  auto wide = [&](double hi) {
    auto v = test::random_values(rng, n, -3.0, std::log10(hi));
    for (auto& a : v) a = a < -2.9 ? 0.0 : std::pow(10.0, a);
    return v;
  };
  cfg.params.alpha1 = wide(1e4);
  cfg.params.beta1 = wide(1e4);
  cfg.params.alpha2 = wide(1e4);
  cfg.params.beta2 = wide(1e4);
  cfg.params.T = wide(1e3);
  cfg.params.T_dur = test::random_values(rng, n, 0.0, 5.0);
  cfg.g0 = initial_value::uniform(0.0, 1.0, 1);
  cfg.x0 = initial_value::uniform(0.0, 1.0, 2);
  population pop(cfg);
  std::vector<double> ones(static_cast<std::size_t>(n), 1.0);
  pop.set_g(host_span<const double>(ones));  // start some at the boundary
  for (int s = 0; s < 300; ++s) {
    const auto mask = test::random_mask(rng, pop.elements(), 0.2);
    pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    ASSERT_TRUE(all_in_unit_interval(pop.g())) << "g after step " << s;
    ASSERT_TRUE(all_in_unit_interval(pop.x())) << "x after step " << s;
  }
}

// Each side of the [0, 1] clamp, one step from the boundary with rates over
// five decades (per unit): x from 1 with only beta2 (exact: e^(-beta2 dt)),
// x from 0 during a pulse with beta2 = 0 (1 - e^(-alpha2 T dt)), g from 1 with
// only beta1, g from 0 towards x = 1 with beta1 = 0. Rounding of the Euler
// step lands one ulp outside [0, 1] for some of these rates (see
// Kinetics.AdvanceUnitClampsEachSide); the step keeps the state inside, and
// near the exact values.
TYPED_TEST(Scenarios, UnitIntervalAtEachEdge) {
  const std::int64_t n = 2000;
  const double dt = 0.1;
  std::vector<double> rates(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    rates[static_cast<std::size_t>(i)] = std::pow(10.0, 1.0 + 5.0 * static_cast<double>(i) / static_cast<double>(n));
  }
  struct edge {
    const char* name;
    unit_value parameters::*rate;  // the one non-zero rate
    bool x_side;                   // x checked (else g)
    bool spike;
    double g0, x0;
  };
  for (const edge& e : {edge{"x falls from 1", &parameters::beta2, true, false, 0.0, 1.0},
                        edge{"x rises from 0", &parameters::alpha2, true, true, 0.0, 0.0},
                        edge{"g falls from 1", &parameters::beta1, false, false, 1.0, 0.0},
                        edge{"g rises from 0", &parameters::alpha1, false, true, 0.0, 1.0}}) {
    SCOPED_TRACE(e.name);
    auto cfg = TestFixture::config(n, 1, dt, test::backend_under_test());
    for (unit_value parameters::*p : {&parameters::alpha1, &parameters::beta1, &parameters::alpha2, &parameters::beta2}) {
      cfg.params.*p = 0.0;
    }
    cfg.params.*e.rate = rates;
    cfg.params.T = 1.0;
    cfg.params.T_dur = dt;
    cfg.g0 = initial_value::constant(e.g0);
    cfg.x0 = initial_value::constant(e.x0);
    population pop(cfg);
    const std::vector<std::uint8_t> mask(static_cast<std::size_t>(n), e.spike ? 1 : 0);
    pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    const auto v = e.x_side ? pop.x() : pop.g();
    ASSERT_TRUE(all_in_unit_interval(v));
    // With x = 1 and no rate of x, x stays 1 and g rises as 1 - e^(-alpha1 dt).
    for (std::int64_t i = 0; i < n; ++i) {
      const double decay = std::exp(-rates[static_cast<std::size_t>(i)] * dt);
      const double exact = e.spike ? 1.0 - decay : decay;
      const double tol = std::is_same_v<TypeParam, float> ? 2e-6 : 1e-13;
      ASSERT_NEAR(v[static_cast<std::size_t>(i)], exact, tol)
          << "unit " << i << " rate " << rates[static_cast<std::size_t>(i)];
    }
  }
}

// The shared per-unit update itself (detail/kinetics.hpp, host code), for
// both precisions: the clamp, and the four edges of UnitIntervalAtEachEdge,
// where the unclamped Euler step rounds one ulp outside [0, 1] for some rates.
template <class Real>
void check_advance_unit_edges() {
  using namespace bionmda::detail;
  EXPECT_EQ(clamp_unit_interval(Real(-1e-7)), Real(0));
  EXPECT_EQ(clamp_unit_interval(Real(1) + Real(1e-6)), Real(1));
  EXPECT_EQ(clamp_unit_interval(Real(0.25)), Real(0.25));
  EXPECT_EQ(clamp_unit_interval(Real(0)), Real(0));
  EXPECT_EQ(clamp_unit_interval(Real(1)), Real(1));
  const double dt = 0.1;
  for (int k = 0; k < 2000; ++k) {
    const double r = std::pow(10.0, 1.0 + 5.0 * k / 2000.0);
    const double decay = std::exp(-r * dt);
    const double tol = std::is_same_v<Real, float> ? 2e-6 : 1e-13;
    struct edge {
      unit_coeffs<Real> c;
      bool spike;
      Real g, x;
      bool x_side;
      double exact;
    };
    for (const edge& e : {edge{make_unit_coeffs<Real>(0, 0, 0, r, 1, dt), false, 0, 1, true, decay},
                          edge{make_unit_coeffs<Real>(0, 0, r, 0, 1, dt), true, 0, 0, true, 1 - decay},
                          edge{make_unit_coeffs<Real>(0, r, 0, 0, 1, dt), false, 1, 0, false, decay},
                          edge{make_unit_coeffs<Real>(r, 0, 0, 0, 1, dt), true, 0, 1, false, 1 - decay}}) {
      Real g = e.g, x = e.x;
      advance_unit<Real>(g, x, 0, e.spike, 1, e.c, static_cast<Real>(dt),
                         static_cast<Real>(euler_fast_decay_rate(dt)));
      const Real v = e.x_side ? x : g;
      ASSERT_TRUE(v >= Real(0) && v <= Real(1)) << "rate " << r << " gives " << v;
      ASSERT_NEAR(static_cast<double>(v), e.exact, tol) << "rate " << r;
    }
  }
}

TEST(Kinetics, AdvanceUnitStaysInUnitIntervalAtEachEdge) {
  check_advance_unit_edges<float>();
  check_advance_unit_edges<double>();
}

// --- Reset and re-run -------------------------------------------------------

TYPED_TEST(Scenarios, ResetReproducesTheSameRun) {
  auto cfg = TestFixture::config(777, 2, 0.1, test::backend_under_test());
  cfg.g0 = initial_value::uniform(0.1, 0.4, 3);
  population pop(cfg);
  const auto g_init = pop.g();
  for (int s = 0; s < 50; ++s) pop.step(poisson{500.0, 8});
  const auto g1 = pop.g();
  const auto x1 = pop.x();
  EXPECT_NE(g1, g_init);
  pop.reset();
  EXPECT_EQ(pop.step_count(), 0);
  EXPECT_EQ(pop.g(), g_init);
  for (auto c : pop.countdown()) ASSERT_EQ(c, 0);
  for (int s = 0; s < 50; ++s) pop.step(poisson{500.0, 8});
  EXPECT_EQ(pop.g(), g1);
  EXPECT_EQ(pop.x(), x1);
}

#if BIONMDA_TEST_CUDA
// The CUDA backend against the CPU backend on the same inputs.
TYPED_TEST(Scenarios, CudaMatchesCpuBackend) {
  std::mt19937_64 rng(21);
  const std::int64_t n = 20011, batch = 3;
  auto base = TestFixture::config(n, batch, 0.1, backend::cuda);
  base.params = test::random_parameters(rng, n, 0.1);
  base.g0 = initial_value::uniform(0.0, 1.0, 4);
  base.x0 = initial_value::uniform(0.0, 1.0, 5);
  auto cpu_cfg = base;
  cpu_cfg.backend = backend::cpu;
  population gpu(base), cpu(cpu_cfg);
  ASSERT_EQ(gpu.g(), cpu.g()) << "initial values must be identical on both backends";
  for (int s = 0; s < 1000; ++s) {
    gpu.step(poisson{100.0, 77});
    cpu.step(poisson{100.0, 77});
  }
  EXPECT_TRUE(TestFixture::close(gpu.g(), cpu.g()));
  EXPECT_TRUE(TestFixture::close(gpu.x(), cpu.x()));
  EXPECT_EQ(gpu.countdown(), cpu.countdown()) << "pulse bookkeeping is integer and must agree";
}
#endif

}  // namespace
