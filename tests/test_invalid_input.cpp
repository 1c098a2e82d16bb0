// Every bad input raises a bionmda exception naming the parameter and value,
// before any state changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
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

// --- Refused calls change nothing ---------------------------------------------

// A population's whole state: g, x, countdown and the step counter.
struct state_snapshot {
  std::vector<double> g, x;
  std::vector<std::uint16_t> countdown;
  std::int64_t steps = 0;
};

state_snapshot snapshot(const population& pop) { return {pop.g(), pop.x(), pop.countdown(), pop.step_count()}; }

::testing::AssertionResult unchanged(const population& pop, const state_snapshot& before) {
  const state_snapshot now = snapshot(pop);
  if (now.steps != before.steps) {
    return ::testing::AssertionFailure() << "step_count " << now.steps << ", was " << before.steps;
  }
  for (std::size_t k = 0; k < now.g.size(); ++k) {
    if (now.g[k] != before.g[k]) return ::testing::AssertionFailure() << "g[" << k << "] " << now.g[k] << ", was " << before.g[k];
    if (now.x[k] != before.x[k]) return ::testing::AssertionFailure() << "x[" << k << "] " << now.x[k] << ", was " << before.x[k];
    if (now.countdown[k] != before.countdown[k]) {
      return ::testing::AssertionFailure() << "countdown[" << k << "] " << now.countdown[k] << ", was "
                                           << before.countdown[k];
    }
  }
  return ::testing::AssertionSuccess();
}

// Expects call() to throw Exception with `word` in its message, and pop's
// state to be exactly as before.
template <class Exception = invalid_argument, class Call>
void expect_refused(population& pop, const std::string& word, Call&& call) {
  const state_snapshot before = snapshot(pop);
  try {
    call();
    ADD_FAILURE() << "accepted; expected an error mentioning \"" << word << "\"";
  } catch (const Exception& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(word), std::string::npos) << "message: " << msg;
    EXPECT_EQ(msg.rfind("bionmda:", 0), 0u) << "message: " << msg;
  }
  EXPECT_TRUE(unchanged(pop, before));
}

// 8 x 2 elements in the middle of pulses: random g and x, countdowns neither
// all zero nor all equal, so a refused call that touched anything shows.
population busy_population(precision p, parameters params = {}) {
  auto cfg = small_config();
  cfg.precision = p;
  cfg.params = std::move(params);
  cfg.g0 = initial_value::uniform(0.2, 0.8, 1);
  cfg.x0 = initial_value::uniform(0.1, 0.9, 2);
  population pop(cfg);
  pop.step(poisson{5000.0, 1});  // p = 0.5 per element
  pop.step(poisson{5000.0, 2});
  return pop;
}

bool has_pulses(const population& pop) {
  const auto cd = pop.countdown();
  return std::count(cd.begin(), cd.end(), std::uint16_t{0}) > 0 &&
         std::count(cd.begin(), cd.end(), std::uint16_t{0}) < static_cast<std::ptrdiff_t>(cd.size());
}

class RefusedCalls : public ::testing::TestWithParam<precision> {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

INSTANTIATE_TEST_SUITE_P(Precisions, RefusedCalls, ::testing::Values(precision::float32, precision::float64),
                         [](const ::testing::TestParamInfo<precision>& i) { return std::string(to_string(i.param)); });

// Every kind of bad step input, through step and step_async.
TEST_P(RefusedCalls, StepInputs) {
  population pop = busy_population(GetParam());
  ASSERT_TRUE(has_pulses(pop));
  const std::int64_t n = pop.elements();  // 16
  auto refuse = [&](const std::string& word, const spike_input& in) {
    SCOPED_TRACE(word);
    expect_refused(pop, word, [&] { pop.step(in); });
    expect_refused(pop, word, [&] { pop.step_async(in); });
  };
  const std::vector<std::uint8_t> ones(static_cast<std::size_t>(n + 1), 1);
  refuse("expected 16", dense_mask(host_span<const std::uint8_t>(ones.data(), n - 1)));
  refuse("expected 16", dense_mask(host_span<const std::uint8_t>(ones.data(), n + 1)));
  refuse("expected 16", dense_mask(host_span<const std::uint8_t>()));
  refuse("null", dense_mask(host_span<const std::uint8_t>(nullptr, n)));
  refuse("set_presynaptic_sources", presynaptic_mask(host_span<const std::uint8_t>(ones.data(), n)));
  for (double rate : {nan_v, inf_v, -inf_v, -1.0, -1e-300}) refuse("Poisson rate", poisson{rate, 1});
  // A bad index after good ones: a check during the step would have started
  // the good pulses already.
  for (std::int64_t bad : {std::int64_t{-1}, n, std::int64_t{INT64_MAX}, std::int64_t{INT64_MIN}}) {
    const std::vector<std::int64_t> events = {0, 5, 9, 15, 0, bad};
    refuse("out of range", spike_events(host_span<const std::int64_t>(events)));
  }
  const std::vector<std::int64_t> good = {1, 2, 3};
  refuse("null", spike_events(host_span<const std::int64_t>(nullptr, 3)));
  refuse("negative size", spike_events(host_span<const std::int64_t>(good.data(), -1)));

  const std::vector<std::int32_t> sources = {0, 1, 2, 0, 1, 2, 0, 1};
  pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), 3);  // masks of [2][3]
  refuse("expected 6", presynaptic_mask(host_span<const std::uint8_t>(ones.data(), 5)));
  refuse("expected 6", presynaptic_mask(host_span<const std::uint8_t>(ones.data(), 7)));
  refuse("expected 6", presynaptic_mask(host_span<const std::uint8_t>(ones.data(), n)));
  refuse("null", presynaptic_mask(host_span<const std::uint8_t>(nullptr, 6)));
  // The same inputs, well formed, are accepted.
  EXPECT_NO_THROW(pop.step(presynaptic_mask(host_span<const std::uint8_t>(ones.data(), 6))));
  EXPECT_NO_THROW(pop.step(spike_events(host_span<const std::int64_t>(good))));
  EXPECT_NO_THROW(pop.step(poisson{0.0, 1}));
  EXPECT_EQ(pop.step_count(), 5);
}

// The step counter: never negative, and a step that would overflow it is refused.
TEST_P(RefusedCalls, StepCount) {
  population pop = busy_population(GetParam());
  expect_refused(pop, "step count", [&] { pop.set_step_count(-1); });
  expect_refused(pop, "step count", [&] { pop.set_step_count(INT64_MIN); });
  pop.set_step_count(INT64_MAX - 1);
  EXPECT_NO_THROW(pop.step());
  EXPECT_EQ(pop.step_count(), INT64_MAX);
  expect_refused(pop, "step count", [&] { pop.step(); });
  expect_refused(pop, "step count", [&] { pop.step_async(poisson{100.0, 1}); });
  pop.set_step_count(0);
  EXPECT_EQ(pop.step_count(), 0);
}

TEST_P(RefusedCalls, ReadAndWrite) {
  population pop = busy_population(GetParam());
  const std::int64_t n = pop.elements();
  const bool f32 = GetParam() == precision::float32;
  // The other precision's arrays are refused whatever the range.
  std::vector<float> wf(4, 0.5f);
  std::vector<double> wd(4, 0.5);
  if (f32) {
    expect_refused(pop, "float64", [&] { pop.write<double>(state_field::g, 0, host_span<const double>(wd)); });
    expect_refused(pop, "float64", [&] { pop.read<double>(state_field::x, 0, host_span<double>(wd)); });
  } else {
    expect_refused(pop, "float32", [&] { pop.write<float>(state_field::g, 0, host_span<const float>(wf)); });
    expect_refused(pop, "float32", [&] { pop.read<float>(state_field::x, 0, host_span<float>(wf)); });
  }
  EXPECT_EQ(wd, std::vector<double>(4, 0.5));
  EXPECT_EQ(wf, std::vector<float>(4, 0.5f));

  auto check = [&](auto real) {
    using Real = decltype(real);
    std::vector<Real> buf(static_cast<std::size_t>(n + 2), Real(0.5));
    struct bad_range {
      std::int64_t offset, size;
      Real* data;
      const char* word;
    };
    const bad_range ranges[] = {{-1, 1, buf.data(), "range"},
                                {n, 1, buf.data(), "range"},
                                {n - 1, 2, buf.data(), "range"},
                                {0, n + 1, buf.data(), "range"},
                                {INT64_MAX, 1, buf.data(), "range"},
                                {INT64_MAX, 0, buf.data(), "range"},
                                {1, INT64_MAX, buf.data(), "range"},
                                {0, -1, buf.data(), "range"},
                                {0, 2, nullptr, "null"}};
    for (const bad_range& r : ranges) {
      SCOPED_TRACE(::testing::Message() << "offset " << r.offset << " size " << r.size);
      for (state_field f : {state_field::g, state_field::x}) {
        expect_refused(pop, r.word, [&] { pop.write<Real>(f, r.offset, host_span<const Real>(r.data, r.size)); });
        expect_refused(pop, r.word, [&] { pop.read<Real>(f, r.offset, host_span<Real>(r.data, r.size)); });
        EXPECT_EQ(buf, std::vector<Real>(buf.size(), Real(0.5))) << "a refused read wrote its output";
      }
    }
    // Values outside [0, 1] anywhere (here the last of five) write nothing.
    for (Real v : {Real(nan_v), Real(inf_v), Real(-inf_v), Real(-0.1), Real(1.1), std::nextafter(Real(1), Real(2)),
                   -std::numeric_limits<Real>::denorm_min()}) {
      SCOPED_TRACE(::testing::Message() << "value " << v);
      std::vector<Real> in = {Real(0), Real(1), Real(0.25), Real(0.75), v};
      expect_refused(pop, "finite and in [0, 1]",
                     [&] { pop.write<Real>(state_field::g, 3, host_span<const Real>(in)); });
      expect_refused(pop, "finite and in [0, 1]",
                     [&] { pop.write<Real>(state_field::x, 3, host_span<const Real>(in)); });
    }
  };
  if (f32) {
    check(float{});
  } else {
    check(double{});
  }
}

// The countdown limit is the pulse length of each element's own unit
// (element e = b * N + i belongs to unit i).
TEST_P(RefusedCalls, Countdowns) {
  parameters params;
  params.T_dur = std::vector<double>{0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65};  // pulses 0..7 steps
  population pop = busy_population(GetParam(), params);
  ASSERT_TRUE(has_pulses(pop));
  const std::int64_t n = pop.elements(), units = pop.units();
  for (std::int64_t e = 0; e < n; ++e) {
    const std::int64_t unit = e % units;
    ASSERT_EQ(pop.pulse_steps(unit), unit);
    SCOPED_TRACE(::testing::Message() << "element " << e);
    // One past the limit, after a valid value where there is room for one.
    const std::vector<std::uint16_t> over = {0, static_cast<std::uint16_t>(unit + 1)};
    const std::int64_t first = e == 0 ? 0 : e - 1;
    const host_span<const std::uint16_t> in(over.data() + (e - first == 0 ? 1 : 0), e - first + 1);
    expect_refused(pop, "unit " + std::to_string(unit), [&] { pop.write_countdown(first, in); });
  }
  // Ranges, and a refused read leaves its output alone.
  std::vector<std::uint16_t> buf(static_cast<std::size_t>(n + 2), 0);
  const std::uint16_t sentinel = 0xBEEF;
  std::vector<std::uint16_t> out(static_cast<std::size_t>(n + 2), sentinel);
  const std::pair<std::int64_t, std::int64_t> ranges[] = {{-1, 1}, {n, 1}, {n - 1, 2}, {INT64_MAX, 1}, {1, INT64_MAX}, {0, -1}};
  for (const auto& range : ranges) {
    const std::int64_t offset = range.first, size = range.second;  // lambdas cannot capture bindings in C++17
    SCOPED_TRACE(::testing::Message() << "offset " << offset << " size " << size);
    expect_refused(pop, "range", [&] { pop.write_countdown(offset, host_span<const std::uint16_t>(buf.data(), size)); });
    expect_refused(pop, "range", [&] { pop.read_countdown(offset, host_span<std::uint16_t>(out.data(), size)); });
  }
  expect_refused(pop, "null", [&] { pop.write_countdown(0, host_span<const std::uint16_t>(nullptr, 2)); });
  expect_refused(pop, "null", [&] { pop.read_countdown(0, host_span<std::uint16_t>(nullptr, 2)); });
  EXPECT_EQ(out, std::vector<std::uint16_t>(out.size(), sentinel));
  // Exactly the pulse length is accepted, in every batch entry.
  std::vector<std::uint16_t> full(static_cast<std::size_t>(n));
  for (std::int64_t e = 0; e < n; ++e) full[static_cast<std::size_t>(e)] = static_cast<std::uint16_t>(e % units);
  pop.write_countdown(0, host_span<const std::uint16_t>(full));
  EXPECT_EQ(pop.countdown(), full);
}

TEST_P(RefusedCalls, Gather) {
  population pop = busy_population(GetParam());
  const std::int64_t n = pop.elements();
  std::vector<double> g(4, -7.0), x(4, -7.0);
  auto outputs_untouched = [&] {
    return g == std::vector<double>(4, -7.0) && x == std::vector<double>(4, -7.0);
  };
  for (std::int64_t bad : {std::int64_t{-1}, n, std::int64_t{INT64_MAX}, std::int64_t{INT64_MIN}}) {
    SCOPED_TRACE(bad);
    const std::vector<std::int64_t> idx = {0, 3, n - 1, bad};
    expect_refused(pop, "out of range",
                   [&] { pop.gather(host_span<const std::int64_t>(idx), host_span<double>(g), host_span<double>(x)); });
    EXPECT_TRUE(outputs_untouched());
  }
  const std::vector<std::int64_t> idx = {0, 3, 5, 9};
  expect_refused(pop, "outputs of 3",
                 [&] { pop.gather(host_span<const std::int64_t>(idx), host_span<double>(g.data(), 3), host_span<double>(x)); });
  expect_refused(pop, "outputs of 4 and 5",
                 [&] { pop.gather(host_span<const std::int64_t>(idx), host_span<double>(g), host_span<double>(x.data(), 5)); });
  expect_refused(pop, "null", [&] {
    pop.gather(host_span<const std::int64_t>(nullptr, 4), host_span<double>(g), host_span<double>(x));
  });
  expect_refused(pop, "null", [&] {
    pop.gather(host_span<const std::int64_t>(idx), host_span<double>(nullptr, 4), host_span<double>(x));
  });
  expect_refused(pop, "negative", [&] {
    pop.gather(host_span<const std::int64_t>(idx.data(), -1), host_span<double>(g.data(), -1),
               host_span<double>(x.data(), -1));
  });
  EXPECT_TRUE(outputs_untouched());
}

TEST_F(InvalidInput, NegativeThreadCount) {
  auto cfg = small_config();
  cfg.threads = -1;
  expect_ctor_error<invalid_argument>(cfg, {"threads", "-1"});
}

#if !BIONMDA_TEST_CUDA
// Device-memory input of every kind on the CPU backend, through step and
// step_async: refused before anything changes.
TEST(BackendChoice, DeviceInputsOnCpuBackendChangeNothing) {
  population pop = busy_population(precision::float32);
  const std::vector<std::int32_t> sources(8, 1);
  pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), 2);
  std::uint8_t fake[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::int64_t fake_events[2] = {0, 1};
  const spike_input inputs[] = {dense_mask(device_span<const std::uint8_t>(fake, 16)),
                                presynaptic_mask(device_span<const std::uint8_t>(fake, 4)),
                                spike_events(device_span<const std::int64_t>(fake_events, 2))};
  for (const spike_input& in : inputs) {
    SCOPED_TRACE(in.index());
    expect_refused(pop, "CUDA backend", [&] { pop.step(in); });
    expect_refused(pop, "CUDA backend", [&] { pop.step_async(in); });
  }
}
#else
// Device-memory inputs are checked as host ones are (sizes, null pointers,
// sources); host-memory inputs without a staging buffer are refused. Nothing
// changes.
TEST(BackendChoice, DeviceInputsAreCheckedAndChangeNothing) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  population pop = busy_population(precision::float32);
  const std::int64_t n = pop.elements();
  buffer<std::uint8_t> short_mask = pop.make_buffer<std::uint8_t>(n - 1, "short mask");
  buffer<std::uint8_t> mask = pop.make_buffer<std::uint8_t>(n, "mask");
  const std::vector<std::uint8_t> ones(static_cast<std::size_t>(n), 1);
  short_mask.copy_from(host_span<const std::uint8_t>(ones.data(), n - 1));
  mask.copy_from(host_span<const std::uint8_t>(ones));
  const spike_input bad[] = {dense_mask(short_mask.device_view()),
                             dense_mask(device_span<const std::uint8_t>(nullptr, n)),
                             presynaptic_mask(mask.device_view()),
                             spike_events(device_span<const std::int64_t>(nullptr, 2))};
  for (const spike_input& in : bad) {
    SCOPED_TRACE(in.index());
    expect_refused(pop, "bionmda:", [&] { pop.step(in); });
    expect_refused(pop, "bionmda:", [&] { pop.step_async(in); });
  }

  auto cfg = small_config();
  cfg.host_input_staging = false;
  population unstaged(cfg);
  unstaged.step(poisson{5000.0, 1});
  const std::vector<std::int64_t> events = {1, 2};
  const std::vector<std::int32_t> sources(8, 0);
  unstaged.set_presynaptic_sources(host_span<const std::int32_t>(sources), 1);
  const std::vector<std::uint8_t> pre = {1, 1};
  expect_refused(unstaged, "host_input_staging",
                 [&] { unstaged.step(dense_mask(host_span<const std::uint8_t>(ones))); });
  expect_refused(unstaged, "host_input_staging",
                 [&] { unstaged.step(presynaptic_mask(host_span<const std::uint8_t>(pre))); });
  expect_refused(unstaged, "host_input_staging",
                 [&] { unstaged.step(spike_events(host_span<const std::int64_t>(events))); });
  EXPECT_NO_THROW(unstaged.step(dense_mask(mask.device_view())));
}
#endif

// --- bionmda::buffer ---------------------------------------------------------

TEST(BufferErrors, CountsOutOfRange) {
  // The byte count must stay below half the address space: SIZE_MAX / sizeof / 2 elements.
  constexpr std::int64_t most_doubles = static_cast<std::int64_t>(SIZE_MAX / sizeof(double) / 2);
  for (memory_space space : {memory_space::host, memory_space::device}) {
    SCOPED_TRACE(space == memory_space::host ? "host" : "device");
    for (std::int64_t count : {std::int64_t{-1}, std::int64_t{INT64_MIN}, most_doubles + 1, std::int64_t{INT64_MAX}}) {
      SCOPED_TRACE(count);
      try {
        (void)buffer<double>(count, space);
        ADD_FAILURE() << "allocated " << count << " doubles";
      } catch (const invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(std::to_string(count)), std::string::npos) << e.what();
      }
    }
    EXPECT_THROW((void)buffer<std::uint8_t>(-1, space), invalid_argument);
    EXPECT_THROW((void)buffer<float>(-5, space), invalid_argument);
  }
  // The largest count is not an argument error but more memory than exists.
  EXPECT_THROW((void)buffer<double>(most_doubles, memory_space::host), out_of_memory);
  EXPECT_THROW((void)buffer<std::uint8_t>(INT64_MAX, memory_space::host), out_of_memory);
}

TEST(BufferErrors, CopiesCheckSizeAndNull) {
  buffer<int> b(4, memory_space::host);
  const std::vector<int> four = {1, 2, 3, 4};
  b.copy_from(host_span<const int>(four));
  const std::vector<int> three = {9, 9, 9}, five = {9, 9, 9, 9, 9};
  EXPECT_THROW(b.copy_from(host_span<const int>(three)), invalid_argument);
  EXPECT_THROW(b.copy_from(host_span<const int>(five)), invalid_argument);
  EXPECT_THROW(b.copy_from(host_span<const int>(nullptr, 4)), invalid_argument);
  EXPECT_THROW(b.copy_from(host_span<const int>(five.data(), -1)), invalid_argument);
  std::vector<int> out(5, -1);
  EXPECT_THROW(b.copy_to(host_span<int>(out.data(), 3)), invalid_argument);
  EXPECT_THROW(b.copy_to(host_span<int>(out.data(), 5)), invalid_argument);
  EXPECT_THROW(b.copy_to(host_span<int>(nullptr, 4)), invalid_argument);
  EXPECT_EQ(out, std::vector<int>(5, -1)) << "a refused copy_to wrote";
  b.copy_to(host_span<int>(out.data(), 4));
  EXPECT_EQ(std::vector<int>(out.begin(), out.begin() + 4), four) << "a refused copy_from wrote";
  try {
    b.copy_from(host_span<const int>(five));
    ADD_FAILURE() << "accepted 5 elements for 4";
  } catch (const invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4"), std::string::npos) << msg;
  }
}

TEST(BufferErrors, SpaceMismatch) {
  buffer<float> h(3, memory_space::host);
  try {
    (void)h.device_view();
    ADD_FAILURE() << "device_view() of host memory";
  } catch (const invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("host memory, not device memory"), std::string::npos) << e.what();
  }
#if BIONMDA_TEST_CUDA
  BIONMDA_SKIP_IF_UNAVAILABLE();
  buffer<float> d(3, memory_space::device);
  EXPECT_THROW((void)d.host(), invalid_argument);
#else
  if (!cuda_compiled()) {
    EXPECT_THROW((void)buffer<float>(3, memory_space::device), backend_unavailable);
  }
#endif
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
