// The public API at the limits of its arguments (issue 10, items 9 and 10):
// every span it takes refused when null with a non-zero size, every size and
// counter product refused before it overflows, and the step counter refused
// rather than wrapped. Each refusal leaves the population as it was.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <unistd.h>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace bionmda;

constexpr std::int64_t int64_max = INT64_MAX;

population_config config(std::int64_t n, std::int64_t b, precision p = precision::float32) {
  population_config c;
  c.units = n;
  c.batch = b;
  c.precision = p;
  c.backend = test::backend_under_test();
  return c;
}

// Calls f, expects bionmda::invalid_argument with every word in its message.
void expect_refused(const std::function<void()>& f, const std::vector<std::string>& words) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected an error mentioning " << words.front();
  } catch (const invalid_argument& e) {
    const std::string msg = e.what();
    for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "message: " << msg;
  }
}

// A population's whole observable state, to show a refusal changed nothing.
struct snapshot {
  std::vector<double> g, x;
  std::vector<std::uint16_t> countdown;
  std::int64_t steps;
  std::int64_t n_pre;
  explicit snapshot(const population& p)
      : g(p.g()), x(p.x()), countdown(p.countdown()), steps(p.step_count()), n_pre(p.presynaptic_size()) {}
  bool operator==(const snapshot& o) const {
    return g == o.g && x == o.x && countdown == o.countdown && steps == o.steps && n_pre == o.n_pre;
  }
};

class ApiLimits : public ::testing::Test {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

// --- Item 9: null pointers with a non-zero size ---------------------------

TEST_F(ApiLimits, EveryPopulationSpanRefusesNull) {
  population pop(config(6, 2));
  pop.step(poisson{2000.0, 1});
  const snapshot before(pop);
  const std::int64_t n = pop.elements();

  expect_refused([&] { pop.step(dense_mask(host_span<const std::uint8_t>(nullptr, n))); }, {"spike mask", "null"});
  expect_refused([&] { pop.step(spike_events(host_span<const std::int64_t>(nullptr, 3))); }, {"spike events", "null"});
  expect_refused([&] { pop.set_presynaptic_sources(host_span<const std::int32_t>(nullptr, 6), 4); },
                 {"sources", "null"});
  std::vector<std::int32_t> sources(6, 1);
  pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), 4);
  const snapshot with_sources(pop);
  expect_refused([&] { pop.step(presynaptic_mask(host_span<const std::uint8_t>(nullptr, 8))); },
                 {"presynaptic spike mask", "null"});

  std::vector<std::int64_t> elements = {0, 5};
  std::vector<double> out(2);
  expect_refused([&] { pop.gather(host_span<const std::int64_t>(nullptr, 2), out, out); }, {"gather", "null"});
  expect_refused([&] { pop.gather(elements, host_span<double>(nullptr, 2), out); }, {"gather", "null"});
  expect_refused([&] { pop.gather(elements, out, host_span<double>(nullptr, 2)); }, {"gather", "null"});
  expect_refused([&] { pop.read(state_field::g, 0, host_span<float>(nullptr, 3)); }, {"read", "null"});
  expect_refused([&] { pop.write(state_field::x, 0, host_span<const float>(nullptr, 3)); }, {"write", "null"});
  expect_refused([&] { pop.read_countdown(0, host_span<std::uint16_t>(nullptr, 3)); }, {"read_countdown", "null"});
  expect_refused([&] { pop.write_countdown(0, host_span<const std::uint16_t>(nullptr, 3)); },
                 {"write_countdown", "null"});
  expect_refused([&] { pop.set_g(host_span<const double>(nullptr, 6)); }, {"g", "null"});
  expect_refused([&] { pop.set_x(host_span<const double>(nullptr, 12)); }, {"x", "null"});
  // Null with size 0 is an empty span, accepted.
  EXPECT_NO_THROW(pop.gather(host_span<const std::int64_t>(nullptr, 0), host_span<double>(), host_span<double>()));
  EXPECT_NO_THROW(pop.read(state_field::g, 0, host_span<float>(nullptr, 0)));
  EXPECT_TRUE(snapshot(pop) == with_sources);
  EXPECT_EQ(before.n_pre, 0);
}

TEST_F(ApiLimits, NegativeSizesAreRefused) {
  population pop(config(6, 2));
  const snapshot before(pop);
  std::vector<std::int64_t> elements = {0, 5};
  std::vector<double> out(2);
  expect_refused([&] { pop.gather(host_span<const std::int64_t>(elements.data(), -1),
                                  host_span<double>(out.data(), -1), host_span<double>(out.data(), -1)); },
                 {"gather", "-1"});
  expect_refused([&] { pop.read(state_field::g, 0, host_span<float>(nullptr, -4)); }, {"read", "-4"});
  expect_refused([&] { pop.step(spike_events(host_span<const std::int64_t>(elements.data(), -2))); }, {"-2"});
  EXPECT_TRUE(snapshot(pop) == before);
}

template <class Real>
void check_map_spans_refuse_null() {
  // Per-presynaptic map: compute's g_post, V and I.
  population pop(config(5, 2, std::is_same_v<Real, float> ? precision::float32 : precision::float64));
  pop.step(poisson{3000.0, 2});
  csr_connectivity conn;
  conn.n_post = 2;
  conn.row_offsets = {0, 2, 3};
  conn.source = {0, 4, 2};
  conn.gmax = {1.0, 0.5, 2.0};
  const postsynaptic_map map(pop, conn);
  std::vector<Real> g_post(4), V(4, Real(-60)), I(4);
  expect_refused([&] { map.compute<Real>(pop, host_span<Real>(nullptr, 4)); }, {"g_post", "null"});
  expect_refused([&] { map.compute<Real>(pop, g_post, host_span<const Real>(nullptr, 4), I); }, {"null"});
  expect_refused([&] { map.compute<Real>(pop, g_post, V, host_span<Real>(nullptr, 4)); }, {"null"});

  // Per-synapse map: step's presynaptic mask (the SIGSEGV), g_post, V, I.
  population syn(config(3, 2, pop.precision()));
  const postsynaptic_map ps = postsynaptic_map::per_synapse(syn, conn, 5);
  const snapshot before(syn);
  std::vector<std::uint8_t> pre(10, 1);
  expect_refused([&] { ps.step<Real>(syn, host_span<const std::uint8_t>(nullptr, 10), g_post); },
                 {"presynaptic spike mask", "null"});
  expect_refused([&] { ps.step<Real>(syn, pre, host_span<Real>(nullptr, 4)); }, {"g_post", "null"});
  expect_refused([&] { ps.step<Real>(syn, pre, g_post, host_span<const Real>(nullptr, 4), I); }, {"null"});
  expect_refused([&] { ps.step<Real>(syn, pre, g_post, V, host_span<Real>(nullptr, 4)); }, {"null"});
  EXPECT_TRUE(snapshot(syn) == before);
}

TEST_F(ApiLimits, EveryPostsynapticMapSpanRefusesNull) {
  if (test::backend_under_test() != backend::cpu) GTEST_SKIP() << "host-memory outputs: the CPU backend";
  check_map_spans_refuse_null<float>();
  check_map_spans_refuse_null<double>();
}

// --- Item 10: sizes and counters that would overflow ----------------------

TEST_F(ApiLimits, UnitsTimesBatchOverflow) {
  for (auto sizes : {std::pair<std::int64_t, std::int64_t>{int64_max, 2}, {std::int64_t{1} << 32, std::int64_t{1} << 31},
                     {3, int64_max / 2}}) {
    const std::int64_t n = sizes.first, b = sizes.second;  // lambdas cannot capture bindings in C++17
    SCOPED_TRACE(::testing::Message() << n << " x " << b);
    expect_refused([&] { population p(config(n, b)); }, {"overflows"});
  }
}

// A population of 0 units takes any batch (it holds nothing), which makes
// the products with N_pre and n_post reachable without memory.
TEST_F(ApiLimits, PresynapticSizeTimesBatchOverflow) {
  auto cfg = config(0, std::int64_t{1} << 40);
  cfg.host_input_staging = false;  // no N_pre * B staging buffer on the GPU
  population pop(cfg);
  expect_refused([&] { pop.set_presynaptic_sources(host_span<const std::int32_t>(), INT32_MAX); },
                 {"n_pre", "overflows"});
  EXPECT_EQ(pop.presynaptic_size(), 0);
  EXPECT_NO_THROW(pop.set_presynaptic_sources(host_span<const std::int32_t>(), 1000));  // 2^40 * 1000 fits
  EXPECT_EQ(pop.presynaptic_size(), 1000);

  csr_connectivity none;
  none.n_post = 0;
  none.row_offsets = {0};
  population wide(cfg);
  expect_refused([&] { (void)postsynaptic_map::per_synapse(wide, none, INT32_MAX); }, {"n_pre", "overflows"});
  EXPECT_EQ(wide.presynaptic_size(), 0);
}

TEST_F(ApiLimits, PostsynapticRowsTimesBatchOverflow) {
  population pop(config(0, std::int64_t{1} << 62));
  csr_connectivity c;
  c.n_post = 2;
  c.row_offsets = {0, 0, 0};
  expect_refused([&] { postsynaptic_map m(pop, c); }, {"n_post", "overflows"});
}

TEST_F(ApiLimits, ConnectivityWithTheLargestRowCount) {
  population pop(config(4, 1));
  csr_connectivity c;
  c.n_post = int64_max;
  c.row_offsets = {0, 0};
  expect_refused([&] { postsynaptic_map m(pop, c); }, {"n_post", "9223372036854775807"});
  c.n_post = int64_max - 1;
  expect_refused([&] { postsynaptic_map m(pop, c); }, {"n_post", "9223372036854775806"});
  c.n_post = -1;
  expect_refused([&] { postsynaptic_map m(pop, c); }, {"n_post", "-1"});
  c.n_post = 1;
  c.row_offsets = {0, -1};
  expect_refused([&] { postsynaptic_map m(pop, c); }, {"row_offsets"});
  c.row_offsets = {};
  expect_refused([&] { postsynaptic_map m(pop, c); }, {"row_offsets"});
}

TEST_F(ApiLimits, StepCounterStopsAtItsLargestValue) {
  population pop(config(4, 1));
  pop.set_step_count(int64_max - 1);
  pop.step(poisson{5000.0, 3});  // the last step the counter can count
  EXPECT_EQ(pop.step_count(), int64_max);
  const snapshot before(pop);
  expect_refused([&] { pop.step(); }, {"step counter", "9223372036854775807"});
  expect_refused([&] { pop.step_async(poisson{5000.0, 3}); }, {"step counter"});
  std::vector<std::uint8_t> mask(4, 1);
  expect_refused([&] { pop.step(dense_mask(host_span<const std::uint8_t>(mask))); }, {"step counter"});
  EXPECT_TRUE(snapshot(pop) == before);
  // Resetting or rewinding the counter makes it step again.
  pop.set_step_count(0);
  EXPECT_NO_THROW(pop.step());
}

TEST_F(ApiLimits, PerSynapseStepCounterStopsAtItsLargestValue) {
  if (test::backend_under_test() != backend::cpu) GTEST_SKIP() << "host-memory outputs: the CPU backend";
  csr_connectivity c;
  c.n_post = 1;
  c.row_offsets = {0, 2};
  c.source = {0, 1};
  c.gmax = {1.0, 1.0};
  population syn(config(2, 1));
  const postsynaptic_map ps = postsynaptic_map::per_synapse(syn, c, 2);
  syn.set_step_count(int64_max);
  const snapshot before(syn);
  std::vector<std::uint8_t> pre(2, 1);
  std::vector<float> g_post(1);
  expect_refused([&] { ps.step<float>(syn, pre, g_post); }, {"step counter"});
  EXPECT_TRUE(snapshot(syn) == before);
}

// A checkpoint saved at the counter's largest value loads (the counter is
// valid) and then refuses to step, rather than wrapping to negative steps.
TEST_F(ApiLimits, CheckpointAtTheLargestStepCount) {
  population pop(config(3, 2));
  pop.set_step_count(int64_max);
  const std::string path = ::testing::TempDir() + "bionmda_api_limits_" + std::to_string(::getpid()) + ".ckp";
  save_checkpoint(pop, path);
  population loaded = load_checkpoint(path, test::backend_under_test());
  std::remove(path.c_str());
  EXPECT_EQ(loaded.step_count(), int64_max);
  expect_refused([&] { loaded.step(); }, {"step counter"});
  EXPECT_EQ(loaded.step_count(), int64_max);
}

}  // namespace
