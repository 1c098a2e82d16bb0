// Each scenario runs the backend under test (CPU, or CUDA in scenarios_gpu)
// against the independent float64 reference. The CUDA build also compares
// with the CPU backend. Float and double are typed tests.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

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

// The ISA override used by the scenarios_test.cpu_isa_* runs takes effect.
TEST(CpuInstructionSet, HonoursTheOverride) {
  const char* env = std::getenv("BIONMDA_CPU_ISA");
  const std::string chosen = cpu_instruction_set();
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
  // T_dur = 0.5 ms, dt = 0.1 ms: 0.5/0.1 = 5.000000000000001 -> 5 steps.
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
