// Every bad input raises a bionmda exception naming the parameter and value,
// before any state changes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace bionmda;

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_v = std::numeric_limits<double>::infinity();

population_config small_config() {
  population_config c;
  c.units = 8;
  c.batch = 2;
  c.backend = test::backend_under_test();
  return c;
}

// Expects construction with cfg to throw Exception with all of `words` in its message.
template <class Exception>
void expect_ctor_error(const population_config& cfg, const std::vector<std::string>& words) {
  try {
    population p(cfg);
    FAIL() << "no exception; expected one mentioning " << words.front();
  } catch (const Exception& e) {
    const std::string msg = e.what();
    for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "message: " << msg;
    EXPECT_EQ(msg.rfind("bionmda:", 0), 0u) << "message: " << msg;
  }
}

class InvalidInput : public ::testing::Test {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

TEST_F(InvalidInput, RatesMustBeFiniteAndNonNegative) {
  struct bad {
    const char* name;
    double value;
    const char* shown;
  };
  for (const bad& b : {bad{"alpha1", -1.0, "-1"}, bad{"beta1", nan_v, "nan"},
                       bad{"alpha2", inf_v, "inf"}, bad{"beta2", -0.5, "-0.5"},
                       bad{"T", nan_v, "nan"}, bad{"T_dur", -0.1, "-0.1"},
                       bad{"T_dur", inf_v, "inf"}}) {
    SCOPED_TRACE(b.name);
    auto cfg = small_config();
    parameters& p = cfg.params;
    unit_value* field = std::string(b.name) == "alpha1"   ? &p.alpha1
                        : std::string(b.name) == "beta1"  ? &p.beta1
                        : std::string(b.name) == "alpha2" ? &p.alpha2
                        : std::string(b.name) == "beta2"  ? &p.beta2
                        : std::string(b.name) == "T"      ? &p.T
                                                          : &p.T_dur;
    *field = b.value;
    expect_ctor_error<invalid_argument>(cfg, {b.name, b.shown});
  }
}

TEST_F(InvalidInput, PerUnitRateNamesTheUnit) {
  auto cfg = small_config();
  std::vector<double> v(8, 1.0);
  v[5] = -2.0;
  cfg.params.beta2 = v;
  expect_ctor_error<invalid_argument>(cfg, {"beta2[5]", "-2"});
}

TEST_F(InvalidInput, PerUnitArrayLengthMustMatch) {
  auto cfg = small_config();
  cfg.params.alpha1 = std::vector<double>(7, 1.0);
  expect_ctor_error<invalid_argument>(cfg, {"alpha1", "7", "8"});
  cfg.params.alpha1 = std::vector<double>(9, 1.0);  // too long is as wrong as too short
  expect_ctor_error<invalid_argument>(cfg, {"alpha1", "9", "8"});
}

// Each bad dt is refused by the dt check itself, naming the rule and the value
// (a dt of 0 would also fail later, as a pulse of infinitely many steps).
TEST_F(InvalidInput, TimeStep) {
  struct bad {
    double dt;
    const char* shown;
  };
  for (const bad& b : {bad{0.0, "got 0"}, bad{-0.0, "got -0"}, bad{-0.1, "got -0.1"}, bad{nan_v, "got nan"},
                       bad{inf_v, "got inf"}, bad{-inf_v, "got -inf"}}) {
    SCOPED_TRACE(b.shown);
    auto cfg = small_config();
    cfg.dt = b.dt;
    expect_ctor_error<invalid_argument>(cfg, {"dt must be finite and > 0", b.shown});
  }
}

TEST_F(InvalidInput, PulseTooLongForCountdown) {
  auto cfg = small_config();
  cfg.dt = 1e-6;
  cfg.params.T_dur = 1.0;  // 10^6 steps
  expect_ctor_error<invalid_argument>(cfg, {"T_dur", "1000000"});
  // The edge: 65535 steps fit the countdown, 65536 do not.
  cfg.dt = 1e-4;
  cfg.params.T_dur = 6.5535;
  EXPECT_EQ(population(cfg).pulse_steps(), 65535);
  cfg.params.T_dur = 6.5536;
  expect_ctor_error<invalid_argument>(cfg, {"T_dur", "65536", "at most 65535"});
}

TEST_F(InvalidInput, ParametersMustStayFiniteInThePrecision) {
  auto cfg = small_config();
  cfg.precision = precision::float32;
  cfg.params.alpha1 = 1e39;  // finite in double, inf in float
  expect_ctor_error<invalid_argument>(cfg, {"alpha1", "e+38", "too large for float32"});
  cfg = small_config();
  cfg.precision = precision::float64;
  cfg.params.alpha2 = 1e200;
  cfg.params.T = 1e200;
  expect_ctor_error<invalid_argument>(cfg, {"alpha2 * T", "float64"});
  cfg = small_config();
  cfg.dt = 1e-40;
  cfg.params.T_dur = 0.0;
  expect_ctor_error<invalid_argument>(cfg, {"dt"});
  cfg = small_config();
  cfg.params.beta2 = std::vector<double>{1, 1, 1, 1, 1, 1, 1e31, 1};
  expect_ctor_error<invalid_argument>(cfg, {"beta2[6]"});
}

TEST_F(InvalidInput, PerUnitPulseTooLongNamesTheUnit) {
  auto cfg = small_config();
  cfg.dt = 0.001;
  cfg.params.T_dur = std::vector<double>{0.5, 100, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  expect_ctor_error<invalid_argument>(cfg, {"T_dur[1]", "100000"});
}

TEST_F(InvalidInput, PulseStepsOfAMissingUnit) {
  auto cfg = small_config();
  cfg.units = 0;
  cfg.params.T_dur = std::vector<double>{};
  population empty(cfg);
  EXPECT_THROW((void)empty.pulse_steps(), invalid_argument);
  population a(small_config());
  EXPECT_THROW((void)a.pulse_steps(8), invalid_argument);
  population b(std::move(a));
  EXPECT_THROW((void)a.pulse_steps(), invalid_argument);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.pulse_steps(3), 5);
}

TEST_F(InvalidInput, Sizes) {
  auto cfg = small_config();
  cfg.units = -1;
  expect_ctor_error<invalid_argument>(cfg, {"units", "-1"});
  cfg = small_config();
  cfg.batch = 0;
  expect_ctor_error<invalid_argument>(cfg, {"batch", "0"});
  cfg = small_config();
  cfg.units = std::int64_t{1} << 40;
  cfg.batch = std::int64_t{1} << 40;
  expect_ctor_error<invalid_argument>(cfg, {"overflows"});
}

TEST_F(InvalidInput, InitialValuesOutsideUnitInterval) {
  auto cfg = small_config();
  cfg.g0 = 1.5;
  expect_ctor_error<invalid_argument>(cfg, {"initial g", "1.5"});
  cfg = small_config();
  cfg.x0 = -0.25;
  expect_ctor_error<invalid_argument>(cfg, {"initial x", "-0.25"});
  cfg = small_config();
  cfg.x0 = nan_v;
  expect_ctor_error<invalid_argument>(cfg, {"initial x", "nan"});
  cfg = small_config();
  cfg.g0 = initial_value::uniform(0.5, 1.2, 1);
  expect_ctor_error<invalid_argument>(cfg, {"initial g", "1.2"});
  cfg = small_config();
  cfg.g0 = initial_value::uniform(0.6, 0.5, 1);
  expect_ctor_error<invalid_argument>(cfg, {"initial g", "low <= high"});
  cfg = small_config();
  std::vector<double> v(8, 0.5);
  v[3] = 2.0;
  cfg.x0 = initial_value::per_unit(v);
  expect_ctor_error<invalid_argument>(cfg, {"initial x[3]", "2"});
  cfg = small_config();
  cfg.x0 = initial_value::per_unit(std::vector<double>(5, 0.5));
  expect_ctor_error<invalid_argument>(cfg, {"initial x", "5", "N = 8"});
}

// Steps, writes and connectivity with bad arguments must leave the state as it was.
TEST_F(InvalidInput, RejectedCallsLeaveStateUntouched) {
  auto cfg = small_config();
  cfg.g0 = initial_value::uniform(0.2, 0.8, 1);
  population pop(cfg);
  pop.step(poisson{1000.0, 1});
  const auto g0 = pop.g();
  const auto x0 = pop.x();
  const auto cd0 = pop.countdown();
  const auto steps0 = pop.step_count();

  std::vector<std::uint8_t> short_mask(15, 1);
  EXPECT_THROW(pop.step(dense_mask(host_span<const std::uint8_t>(short_mask))), invalid_argument);
  EXPECT_THROW(pop.step(presynaptic_mask(host_span<const std::uint8_t>(short_mask))), invalid_argument);
  EXPECT_THROW(pop.step(poisson{-1.0, 1}), invalid_argument);
  EXPECT_THROW(pop.step(poisson{nan_v, 1}), invalid_argument);

  std::vector<double> bad_g(16, 0.5);
  bad_g[9] = 1.01;
  try {
    pop.set_g(host_span<const double>(bad_g));
    ADD_FAILURE() << "set_g accepted 1.01";
  } catch (const invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("g[9]"), std::string::npos) << e.what();
  }
  std::vector<double> wrong_len(3, 0.5);
  EXPECT_THROW(pop.set_x(host_span<const double>(wrong_len)), invalid_argument);

  std::vector<std::int32_t> sources(8, 0);
  sources[6] = 10;
  try {
    pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), 10);
    ADD_FAILURE() << "accepted source 10 with n_pre 10";
  } catch (const invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("source[6] = 10"), std::string::npos) << msg;
  }
  sources[6] = -1;
  EXPECT_THROW(pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), 10),
               invalid_argument);
  EXPECT_THROW(pop.set_presynaptic_sources(host_span<const std::int32_t>(sources.data(), 7), 10),
               invalid_argument);
  EXPECT_EQ(pop.presynaptic_size(), 0);

  EXPECT_EQ(pop.g(), g0);
  EXPECT_EQ(pop.x(), x0);
  EXPECT_EQ(pop.countdown(), cd0);
  EXPECT_EQ(pop.step_count(), steps0);
}

// Spike events out of [0, N*B) (one past the end, negative) are refused, naming
// the event and the range, before any state changes; the last element is a
// valid event.
TEST_F(InvalidInput, SpikeEventsOutOfRange) {
  population pop(small_config());  // N*B = 16
  const auto g0 = pop.g();
  const auto cd0 = pop.countdown();
  for (const std::int64_t bad : {std::int64_t{16}, std::int64_t{-1}}) {
    SCOPED_TRACE(bad);
    const std::vector<std::int64_t> events = {0, 15, bad};
    try {
      pop.step(spike_events(host_span<const std::int64_t>(events)));
      ADD_FAILURE() << "accepted spike event " << bad;
    } catch (const invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("spike event [2] = " + std::to_string(bad)), std::string::npos) << msg;
      EXPECT_NE(msg.find("[0, 16)"), std::string::npos) << msg;
    }
  }
  EXPECT_EQ(pop.g(), g0);
  EXPECT_EQ(pop.countdown(), cd0);
  EXPECT_EQ(pop.step_count(), 0);
  const std::vector<std::int64_t> last = {15};
  pop.step(spike_events(host_span<const std::int64_t>(last)));
  EXPECT_EQ(pop.countdown()[15], pop.pulse_steps() - 1);
}

TEST_F(InvalidInput, WrongViewPrecision) {
  auto cfg = small_config();
  cfg.precision = precision::float32;
  population pop(cfg);
  EXPECT_THROW((void)pop.view_f64(), invalid_argument);
  EXPECT_NO_THROW((void)pop.view_f32());
}

TEST_F(InvalidInput, MovedFromPopulationThrows) {
  population a(small_config());
  population b(std::move(a));
  EXPECT_THROW(a.step(), invalid_argument);  // NOLINT(bugprone-use-after-move)
  EXPECT_NO_THROW(b.step());
}

TEST(InvalidNames, BackendAndPrecision) {
  EXPECT_THROW((void)parse_backend("gpu"), invalid_argument);
  EXPECT_THROW((void)parse_precision("half"), invalid_argument);
  EXPECT_EQ(parse_backend("cuda"), backend::cuda);
  EXPECT_EQ(parse_precision("float64"), precision::float64);
}

#if !BIONMDA_TEST_CUDA
// On a machine without a usable device, asking for CUDA is a clear error; with
// a device, auto picks it.
TEST(BackendChoice, CudaWithoutDeviceIsAClearError) {
  population_config cfg;
  cfg.units = 4;
  cfg.backend = backend::cuda;
  if (!cuda_devices().empty()) {
    EXPECT_EQ(population(cfg).backend(), backend::cuda);
    GTEST_SKIP() << "a CUDA device is present; the no-device error cannot be provoked";
  }
  try {
    population p(cfg);
    FAIL() << "cuda backend without a device did not throw";
  } catch (const backend_unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  cfg.backend = backend::automatic;
  EXPECT_EQ(population(cfg).backend(), backend::cpu);
  EXPECT_EQ(resolve_backend(backend::automatic), backend::cpu);
}

TEST(BackendChoice, DeviceSpanOnCpuBackendIsRejected) {
  population_config cfg;
  cfg.units = 4;
  cfg.backend = backend::cpu;
  population pop(cfg);
  std::uint8_t fake[4] = {};
  EXPECT_THROW(pop.step_async(dense_mask(device_span<const std::uint8_t>(fake, 4))), invalid_argument);
  EXPECT_EQ(pop.step_count(), 0);
}

TEST(OutOfMemory, HostAllocationFailureIsReported) {
  population_config cfg;
  cfg.units = std::int64_t{1} << 42;  // 16 TB of float32 g alone
  cfg.backend = backend::cpu;
  try {
    population p(cfg);
    FAIL() << "allocation of 2^42 elements succeeded";
  } catch (const out_of_memory& e) {
    EXPECT_GT(e.requested(), std::size_t{1} << 42);
    EXPECT_NE(std::string(e.what()).find("bytes"), std::string::npos) << e.what();
  }
}
#else
TEST(OutOfMemory, DeviceAllocationFailureIsReportedAndDeviceStaysUsable) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  population_config cfg;
  cfg.units = std::int64_t{1} << 40;  // 4 TB of float32 g alone
  cfg.backend = backend::cuda;
  try {
    population p(cfg);
    FAIL() << "device allocation of 2^40 elements succeeded";
  } catch (const out_of_memory& e) {
    EXPECT_EQ(e.requested(), std::size_t{4} << 40);
    EXPECT_GT(e.available(), 0u);
    EXPECT_NE(std::string(e.what()).find("requested"), std::string::npos) << e.what();
  }
  cfg.units = 1000;
  population ok(cfg);
  ok.step(poisson{100.0, 1});
  EXPECT_EQ(ok.step_count(), 1);
}

TEST(BackendChoice, MissingDeviceOrdinal) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  population_config cfg;
  cfg.units = 4;
  cfg.backend = backend::cuda;
  cfg.device = 4096;
  EXPECT_THROW(population p(cfg), backend_unavailable);
}

TEST(BackendChoice, HostMaskWithoutStagingIsRejected) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  population_config cfg;
  cfg.units = 4;
  cfg.backend = backend::cuda;
  cfg.host_input_staging = false;
  population pop(cfg);
  std::vector<std::uint8_t> m(4, 1);
  EXPECT_THROW(pop.step(dense_mask(host_span<const std::uint8_t>(m))), invalid_argument);
  EXPECT_EQ(pop.step_count(), 0);
}
#endif

}  // namespace
