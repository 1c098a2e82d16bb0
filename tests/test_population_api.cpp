// State access, views, counters, buffers, every kind of spike input against
// its dense-mask twin, and (CUDA build) device-memory input, streams and
// 64-bit sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "support/test_support.hpp"

#if BIONMDA_TEST_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using namespace bionmda;

// Bit-for-bit equality of two populations' whole state (g, x, countdown and
// step counter), naming the first difference. float32 values are exact in
// float64, so comparing g() and x() compares the stored bits.
::testing::AssertionResult same_state(const population& actual, const population& expected) {
  if (actual.step_count() != expected.step_count()) {
    return ::testing::AssertionFailure() << "step_count " << actual.step_count() << " vs expected "
                                         << expected.step_count();
  }
  const std::vector<double> fields[2][2] = {{actual.g(), expected.g()}, {actual.x(), expected.x()}};
  for (int f = 0; f < 2; ++f) {
    const std::vector<double>& a = fields[f][0];
    const std::vector<double>& e = fields[f][1];
    if (a.size() != e.size()) return ::testing::AssertionFailure() << "sizes " << a.size() << " vs " << e.size();
    for (std::size_t k = 0; k < a.size(); ++k) {
      if (std::memcmp(&a[k], &e[k], sizeof(double)) != 0) {
        return ::testing::AssertionFailure() << std::setprecision(17) << (f == 0 ? "g" : "x") << "[" << k
                                             << "] = " << a[k] << ", expected " << e[k];
      }
    }
  }
  const auto ca = actual.countdown();
  const auto ce = expected.countdown();
  for (std::size_t k = 0; k < ca.size() && k < ce.size(); ++k) {
    if (ca[k] != ce[k]) {
      return ::testing::AssertionFailure() << "countdown[" << k << "] = " << ca[k] << ", expected " << ce[k];
    }
  }
  return ::testing::AssertionSuccess();
}

// The spike_events list equivalent to a mask: every spiking element once,
// about a quarter of them twice (a duplicate is one spike), in random order.
std::vector<std::int64_t> events_of(const std::vector<std::uint8_t>& mask, std::mt19937_64& rng) {
  std::vector<std::int64_t> events;
  for (std::size_t e = 0; e < mask.size(); ++e) {
    if (mask[e] == 0) continue;
    events.push_back(static_cast<std::int64_t>(e));
    if (rng() % 4 == 0) events.push_back(static_cast<std::int64_t>(e));
  }
  std::shuffle(events.begin(), events.end(), rng);
  return events;
}

std::int64_t count_nonzero(const std::vector<std::uint16_t>& v) {
  return std::count_if(v.begin(), v.end(), [](std::uint16_t c) { return c != 0; });
}

class PopulationApi : public ::testing::Test {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
  static population_config config(std::int64_t n, std::int64_t b, precision p) {
    population_config c;
    c.units = n;
    c.batch = b;
    c.precision = p;
    c.backend = test::backend_under_test();
    return c;
  }
};

TEST_F(PopulationApi, ReportsSizesCountersAndTime) {
  population pop(config(10, 3, precision::float64));
  EXPECT_EQ(pop.units(), 10);
  EXPECT_EQ(pop.batch(), 3);
  EXPECT_EQ(pop.elements(), 30);
  EXPECT_EQ(pop.backend(), test::backend_under_test());
  EXPECT_EQ(pop.precision(), precision::float64);
  EXPECT_DOUBLE_EQ(pop.dt(), 0.1);
  for (int s = 0; s < 7; ++s) pop.step();
  EXPECT_EQ(pop.step_count(), 7);
  EXPECT_NEAR(pop.time(), 0.7, 1e-12);
}

TEST_F(PopulationApi, SetAndGetRoundTripInEachPrecision) {
  for (precision p : {precision::float32, precision::float64}) {
    SCOPED_TRACE(to_string(p));
    population pop(config(5, 2, p));
    std::vector<double> g = {0.0, 0.125, 0.25, 0.5, 1.0, 0.75, 0.375, 0.0625, 0.9375, 0.5};
    pop.set_g(host_span<const double>(g));
    EXPECT_EQ(pop.g(), g);  // dyadic values are exact in float32
    std::vector<double> x_unit = {0.5, 0.25, 0.125, 1.0, 0.0};
    pop.set_x(host_span<const double>(x_unit));  // N values: every batch entry
    std::vector<double> expected_x = x_unit;
    expected_x.insert(expected_x.end(), x_unit.begin(), x_unit.end());
    EXPECT_EQ(pop.x(), expected_x);
  }
}

TEST_F(PopulationApi, InitialValueKinds) {
  auto cfg = config(4, 2, precision::float64);
  cfg.g0 = initial_value::per_unit({0.1, 0.2, 0.3, 0.4});
  cfg.x0 = initial_value::uniform(0.25, 0.5, 99);
  population pop(cfg);
  EXPECT_EQ(pop.g(), (std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4}));
  const auto x = pop.x();
  for (double v : x) {
    EXPECT_GE(v, 0.25);
    EXPECT_LT(v, 0.5);
  }
  // Draws differ between elements and are reproducible from the seed.
  EXPECT_NE(x[0], x[1]);
  EXPECT_EQ(population(cfg).x(), x);
  cfg.x0 = initial_value::uniform(0.25, 0.5, 100);
  EXPECT_NE(population(cfg).x(), x);
}

TEST_F(PopulationApi, ViewExposesTheLiveState) {
  population pop(config(6, 1, precision::float32));
  std::vector<double> g = {0.5, 0.25, 0.125, 1.0, 0.0, 0.75};
  pop.set_g(host_span<const double>(g));
  const state_view<float> v = pop.view_f32();
  EXPECT_EQ(v.units, 6);
  EXPECT_EQ(v.batch, 1);
  EXPECT_EQ(v.elements(), 6);
  ASSERT_NE(v.g, nullptr);
  std::vector<float> got(6);
  if (v.space == memory_space::host) {
    EXPECT_EQ(test::backend_under_test(), backend::cpu);
    std::copy(v.g, v.g + 6, got.begin());
  } else {
#if BIONMDA_TEST_CUDA
    ASSERT_EQ(cudaMemcpy(got.data(), v.g, 6 * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
#else
    FAIL() << "device view on the CPU backend";
#endif
  }
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], static_cast<float>(g[static_cast<std::size_t>(i)]));
}

TEST_F(PopulationApi, MoveKeepsState) {
  auto cfg = config(100, 1, precision::float32);
  cfg.g0 = 0.5;
  population a(cfg);
  a.step(poisson{1000.0, 3});
  const auto g = a.g();
  population b(std::move(a));
  EXPECT_EQ(b.g(), g);
  EXPECT_EQ(b.step_count(), 1);
  population c(config(1, 1, precision::float64));
  c = std::move(b);
  EXPECT_EQ(c.g(), g);
}

// A population over state buffers the caller owns: same results as an owning
// population, the state visible in the caller's arrays, nothing freed.
TEST_F(PopulationApi, ExternalStateBuffers) {
  const std::int64_t n = 1001, b = 2, e = n * b;
  auto cfg = config(n, b, precision::float32);
  cfg.g0 = initial_value::uniform(0, 1, 5);
  population owning(cfg);
#if BIONMDA_TEST_CUDA
  float *g = nullptr, *x = nullptr;
  std::uint16_t* cd = nullptr;
  ASSERT_EQ(cudaMalloc(&g, e * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&x, e * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&cd, e * sizeof(std::uint16_t)), cudaSuccess);
  const memory_space space = memory_space::device;
#else
  std::vector<float> gv(static_cast<std::size_t>(e)), xv(static_cast<std::size_t>(e));
  std::vector<std::uint16_t> cdv(static_cast<std::size_t>(e));
  float* g = gv.data();
  float* x = xv.data();
  std::uint16_t* cd = cdv.data();
  const memory_space space = memory_space::host;
#endif
  {
    population borrowed(cfg, state_view<float>{g, x, cd, n, b, space});
    EXPECT_EQ(borrowed.view_f32().g, g) << "no copy: the population works in the caller's buffer";
    for (int s = 0; s < 300; ++s) {
      owning.step(poisson{300.0, 9});
      borrowed.step(poisson{300.0, 9});
    }
    EXPECT_EQ(borrowed.g(), owning.g());
    EXPECT_EQ(borrowed.x(), owning.x());
    std::vector<float> seen(static_cast<std::size_t>(e));
#if BIONMDA_TEST_CUDA
    ASSERT_EQ(cudaMemcpy(seen.data(), g, e * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
#else
    seen = gv;
#endif
    const auto og = owning.g();
    for (std::size_t k = 0; k < seen.size(); ++k) ASSERT_EQ(static_cast<double>(seen[k]), og[k]) << k;
  }
#if BIONMDA_TEST_CUDA
  // Still the caller's: freeing succeeds (the population did not free it).
  EXPECT_EQ(cudaFree(g), cudaSuccess);
  EXPECT_EQ(cudaFree(x), cudaSuccess);
  EXPECT_EQ(cudaFree(cd), cudaSuccess);
#endif
}

TEST_F(PopulationApi, ExternalStateIsValidated) {
  std::vector<float> gv(20), xv(20);
  std::vector<double> dv(20);
  std::vector<std::uint16_t> cdv(20);
  auto cfg = config(10, 2, precision::float32);
  const memory_space own = test::backend_under_test() == backend::cuda ? memory_space::device : memory_space::host;
  const memory_space other = own == memory_space::device ? memory_space::host : memory_space::device;
  EXPECT_THROW(population(cfg, state_view<float>{gv.data(), xv.data(), cdv.data(), 9, 2, own}), invalid_argument);
  EXPECT_THROW(population(cfg, state_view<float>{gv.data(), xv.data(), cdv.data(), 10, 2, other}), invalid_argument);
  EXPECT_THROW(population(cfg, state_view<float>{nullptr, xv.data(), cdv.data(), 10, 2, own}), invalid_argument);
  EXPECT_THROW(population(cfg, state_view<double>{dv.data(), dv.data(), cdv.data(), 10, 2, own}), invalid_argument);
  auto automatic = cfg;
  automatic.backend = backend::automatic;
  EXPECT_THROW(population(automatic, state_view<float>{gv.data(), xv.data(), cdv.data(), 10, 2, own}),
               invalid_argument);
#if BIONMDA_TEST_CUDA
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 64 * sizeof(float)), cudaSuccess);
  std::uint16_t* dcd = nullptr;
  ASSERT_EQ(cudaMalloc(&dcd, 64 * sizeof(std::uint16_t)), cudaSuccess);
  try {
    population p(cfg, state_view<float>{d + 1, d + 32, dcd, 10, 2, memory_space::device});
    ADD_FAILURE() << "accepted a misaligned device pointer";
  } catch (const invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("16-byte aligned"), std::string::npos) << e.what();
  }
  cudaFree(d);
  cudaFree(dcd);
#endif
}

// State owned by someone else that moves between calls (as XLA's buffers do in
// an FFI handler): a population adopts the contents of the first buffers, then
// is re-pointed with bind_state; every step gives the bits of an owning twin.
template <class Real>
void adopt_then_bind(population_config cfg) {
  const std::int64_t n = cfg.units, b = cfg.batch, e = n * b;
  cfg.g0 = initial_value::uniform(0, 1, 5);
  cfg.x0 = initial_value::uniform(0, 1, 6);
  population twin(cfg);
  for (int s = 0; s < 3; ++s) twin.step(poisson{400.0, 2});  // pulses under way, g and x all different
  const std::vector<double> g0 = twin.g(), x0 = twin.x();
  const std::vector<std::uint16_t> c0 = twin.countdown();
  ASSERT_GT(count_nonzero(c0), 0);

  // Two sets of caller buffers in the backend's memory, both holding that state.
  const memory_space space = twin.space();
  const std::vector<Real> gh(g0.begin(), g0.end()), xh(x0.begin(), x0.end());
  buffer<Real> g1(e, space), x1(e, space), g2(e, space), x2(e, space);
  buffer<std::uint16_t> c1(e, space), c2(e, space);
  for (buffer<Real>* f : {&g1, &g2}) f->copy_from(host_span<const Real>(gh.data(), e));
  for (buffer<Real>* f : {&x1, &x2}) f->copy_from(host_span<const Real>(xh.data(), e));
  for (buffer<std::uint16_t>* f : {&c1, &c2}) f->copy_from(host_span<const std::uint16_t>(c0.data(), e));
  const state_view<Real> v1{g1.data(), x1.data(), c1.data(), n, b, space};
  const state_view<Real> v2{g2.data(), x2.data(), c2.data(), n, b, space};

  population adopted(cfg, v1, adopt_state);
  ASSERT_EQ(adopted.g(), g0) << "adopt_state keeps the buffers' contents (no initialisation)";
  ASSERT_EQ(adopted.x(), x0);
  ASSERT_EQ(adopted.countdown(), c0);
  adopted.set_step_count(twin.step_count());
  population twin2(cfg);  // a second twin from the same state, for the second buffers
  twin2.set_g(host_span<const double>(g0.data(), e));
  twin2.set_x(host_span<const double>(x0.data(), e));
  twin2.write_countdown(0, host_span<const std::uint16_t>(c0.data(), e));
  twin2.set_step_count(twin.step_count());

  std::mt19937_64 rng(11);
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(e));
  auto next_mask = [&] {
    for (auto& m : mask) m = static_cast<std::uint8_t>(rng() % 7 == 0);
    return dense_mask(host_span<const std::uint8_t>(mask.data(), e));
  };
  for (int s = 0; s < 20; ++s) {
    const auto in = next_mask();
    adopted.step(in);
    twin.step(in);
  }
  EXPECT_TRUE(same_state(adopted, twin));

  // Re-pointed at the second buffers, which still hold the earlier state: the
  // first keep what the steps left there, the second advance like twin2.
  const std::vector<double> g_first = adopted.g();
  adopted.bind_state(v2);
  EXPECT_EQ(adopted.g(), g0) << "bind_state neither initialises nor copies";
  EXPECT_EQ(adopted.step_count(), twin.step_count()) << "bind_state keeps the step counter";
  adopted.set_step_count(twin2.step_count());
  for (int s = 0; s < 5; ++s) {
    const auto in = next_mask();
    adopted.step(in);
    twin2.step(in);
  }
  const std::int64_t K = 4;  // and a window, on the same engine
  std::vector<std::uint8_t> wmask(static_cast<std::size_t>(K * e));
  for (auto& m : wmask) m = static_cast<std::uint8_t>(rng() % 5 == 0);
  adopted.step_window(K, dense_window(host_span<const std::uint8_t>(wmask.data(), K * e)));
  twin2.step_window(K, dense_window(host_span<const std::uint8_t>(wmask.data(), K * e)));
  EXPECT_TRUE(same_state(adopted, twin2));
  std::vector<Real> first(static_cast<std::size_t>(e));
  g1.copy_to(host_span<Real>(first.data(), e));
  for (std::int64_t k = 0; k < e; ++k) {
    ASSERT_EQ(static_cast<double>(first[static_cast<std::size_t>(k)]), g_first[static_cast<std::size_t>(k)])
        << "the first buffers are no longer stepped, element " << k;
  }
  // reset() restores the configured initial values, into the bound buffers.
  adopted.reset();
  population fresh(cfg);
  EXPECT_TRUE(same_state(adopted, fresh));
  std::vector<Real> second(static_cast<std::size_t>(e));
  g2.copy_to(host_span<Real>(second.data(), e));
  EXPECT_EQ(static_cast<double>(second[0]), fresh.g()[0]);
}

TEST_F(PopulationApi, AdoptedStateAndBindState) {
  adopt_then_bind<float>(config(1001, 3, precision::float32));
  adopt_then_bind<double>(config(257, 2, precision::float64));
}

TEST_F(PopulationApi, BindStateIsValidated) {
  auto cfg = config(10, 2, precision::float32);
  const memory_space own = test::backend_under_test() == backend::cuda ? memory_space::device : memory_space::host;
  const memory_space other = own == memory_space::device ? memory_space::host : memory_space::device;
  buffer<float> g(20, own), x(20, own), g9(18, own);
  buffer<double> d(20, own);
  buffer<std::uint16_t> cd(20, own);
  population pop(cfg, state_view<float>{g.data(), x.data(), cd.data(), 10, 2, own}, adopt_state);
  auto expect_refused = [&](auto view, const char* needle) {
    try {
      pop.bind_state(view);
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const invalid_argument& err) {
      EXPECT_NE(std::string(err.what()).find(needle), std::string::npos) << err.what();
    }
  };
  expect_refused(state_view<float>{g9.data(), x.data(), cd.data(), 9, 2, own}, "9 x 2");
  expect_refused(state_view<float>{g.data(), x.data(), cd.data(), 10, 2, other}, "memory");
  expect_refused(state_view<float>{g.data(), nullptr, cd.data(), 10, 2, own}, "non-null");
  expect_refused(state_view<double>{d.data(), d.data(), cd.data(), 10, 2, own}, "float64");
#if BIONMDA_TEST_CUDA
  expect_refused(state_view<float>{g.data() + 1, x.data(), cd.data(), 10, 2, own}, "16-byte aligned");
#endif
  EXPECT_EQ(pop.view_f32().g, g.data()) << "a refused bind_state changes nothing";
  population owning(cfg);
  try {
    owning.bind_state(state_view<float>{g.data(), x.data(), cd.data(), 10, 2, own});
    ADD_FAILURE() << "an owning population accepted bind_state";
  } catch (const invalid_argument& err) {
    EXPECT_NE(std::string(err.what()).find("external buffers"), std::string::npos) << err.what();
  }
  // N*B == 0: null pointers are fine.
  auto empty = config(0, 1, precision::float32);
  population none(empty, state_view<float>{nullptr, nullptr, nullptr, 0, 1, own}, adopt_state);
  none.bind_state(state_view<float>{nullptr, nullptr, nullptr, 0, 1, own});
  none.step();
  EXPECT_EQ(none.step_count(), 1);
}

// --- bionmda::buffer ---------------------------------------------------------

TEST(Buffer, HostRoundTripAndSpaceChecks) {
  buffer<double> b(1001, memory_space::host);
  EXPECT_EQ(b.size(), 1001);
  EXPECT_EQ(b.bytes(), 1001 * sizeof(double));
  EXPECT_EQ(b.space(), memory_space::host);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 64, 0u) << "host buffers are 64-byte aligned";
  std::vector<double> in(1001);
  for (std::size_t k = 0; k < in.size(); ++k) in[k] = 0.25 + 0.5 * static_cast<double>(k);
  b.copy_from(host_span<const double>(in));
  const host_span<double> h = b.host();
  EXPECT_EQ(h.data, b.data());
  EXPECT_EQ(h.size, 1001);
  EXPECT_EQ(std::vector<double>(h.data, h.data + h.size), in);
  std::vector<double> out(1001, -1.0);
  b.copy_to(host_span<double>(out));
  EXPECT_EQ(out, in);
  EXPECT_THROW((void)b.device_view(), invalid_argument);
}

TEST(Buffer, EmptyBuffers) {
  const buffer<float> none;
  EXPECT_EQ(none.size(), 0);
  EXPECT_EQ(none.data(), nullptr);
  EXPECT_EQ(none.space(), memory_space::host);
  buffer<float> zero(0, memory_space::host);
  EXPECT_EQ(zero.data(), nullptr);
  EXPECT_EQ(zero.bytes(), 0u);
  EXPECT_NO_THROW(zero.copy_from(host_span<const float>()));
  EXPECT_NO_THROW(zero.copy_to(host_span<float>()));
  EXPECT_EQ(zero.host().size, 0);
}

TEST(Buffer, MoveAndSwapTransferOwnership) {
  const std::vector<int> ten = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto contents = [](const buffer<int>& b) {
    std::vector<int> v(static_cast<std::size_t>(b.size()));
    b.copy_to(host_span<int>(v));
    return v;
  };
  buffer<int> a(10, memory_space::host);
  a.copy_from(host_span<const int>(ten));
  int* const p = a.data();
  buffer<int> b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), 10);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(a.size(), 0);
  buffer<int> c(3, memory_space::host);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(b.data(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(contents(c), ten);
  buffer<int> d(4, memory_space::host);
  int* const q = d.data();
  c.swap(d);
  EXPECT_EQ(c.data(), q);
  EXPECT_EQ(c.size(), 4);
  EXPECT_EQ(d.data(), p);
  buffer<int>& alias = d;
  d = std::move(alias);  // self-move keeps the buffer
  EXPECT_EQ(d.data(), p);
  EXPECT_EQ(contents(d), ten);
  a = buffer<int>(5, memory_space::host);  // a moved-from buffer is reusable
  EXPECT_EQ(a.size(), 5);
  EXPECT_NE(a.data(), nullptr);
}

TEST(Buffer, BorrowedMemoryIsNeverFreed) {
  std::vector<float> storage(16, 0.5f);
  {
    buffer<float> b = buffer<float>::borrow(storage.data(), 16, memory_space::host);
    EXPECT_EQ(b.data(), storage.data());
    EXPECT_EQ(b.size(), 16);
    const std::vector<float> quarter(16, 0.25f);
    b.copy_from(host_span<const float>(quarter));  // writes through to the caller's memory
    buffer<float> moved(std::move(b));
    buffer<float> owner(4, memory_space::host);
    owner = std::move(moved);  // frees the owned block, takes the borrow
    EXPECT_EQ(owner.data(), storage.data());
  }
  // Had a borrow freed the vector's block, glibc would abort on this double free.
  EXPECT_EQ(storage, std::vector<float>(16, 0.25f));
  storage.assign(4096, 1.0f);
  EXPECT_EQ(storage.size(), 4096u);
}

TEST(Buffer, DeviceMemory) {
#if !BIONMDA_TEST_CUDA
  if (!cuda_compiled()) {
    EXPECT_THROW((void)buffer<float>(8, memory_space::device), backend_unavailable);
  } else if (cuda_devices().empty()) {
    EXPECT_THROW((void)buffer<float>(8, memory_space::device), bionmda::error);
  } else {
    GTEST_SKIP() << "a CUDA device is present: the GPU binary tests device buffers";
  }
#else
  BIONMDA_SKIP_IF_UNAVAILABLE();
  buffer<float> d(1000, memory_space::device);
  EXPECT_EQ(d.space(), memory_space::device);
  ASSERT_NE(d.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(d.data()) % 256, 0u);
  EXPECT_THROW((void)d.host(), invalid_argument);
  EXPECT_EQ(d.device_view().data, d.data());
  EXPECT_EQ(d.device_view().size, 1000);
  std::vector<float> in(1000);
  for (std::size_t k = 0; k < in.size(); ++k) in[k] = static_cast<float>(k) * 0.125f;
  d.copy_from(host_span<const float>(in));
  std::vector<float> out(1000, -1.0f);
  d.copy_to(host_span<float>(out));
  EXPECT_EQ(out, in);
  buffer<float> moved(std::move(d));
  out.assign(1000, -1.0f);
  moved.copy_to(host_span<float>(out));
  EXPECT_EQ(out, in);
#endif
}

TEST_F(PopulationApi, MakeBufferAllocatesWhereTheStateLives) {
  population pop(config(10, 3, precision::float32));
  population twin(config(10, 3, precision::float32));
  EXPECT_EQ(pop.space(), test::backend_under_test() == backend::cuda ? memory_space::device : memory_space::host);
  buffer<std::uint8_t> m = pop.make_buffer<std::uint8_t>(pop.elements(), "mask");
  EXPECT_EQ(m.space(), pop.space());
  EXPECT_EQ(m.size(), 30);
  std::vector<std::uint8_t> mask(30);
  for (std::size_t e = 0; e < mask.size(); ++e) mask[e] = e % 3 == 0 ? 1 : 0;
  m.copy_from(host_span<const std::uint8_t>(mask));
  if (pop.space() == memory_space::host) {
    pop.step(dense_mask(m.host()));
  } else {
    pop.step(dense_mask(m.device_view()));
  }
  twin.step(dense_mask(host_span<const std::uint8_t>(mask)));
  EXPECT_TRUE(same_state(pop, twin));
  EXPECT_EQ(count_nonzero(pop.countdown()), 10);
  EXPECT_THROW((void)pop.make_buffer<float>(-1), invalid_argument);
}

// --- Spike inputs, each against its dense-mask twin ---------------------------

template <class Real>
class TypedApi : public ::testing::Test {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
  static constexpr precision prec = std::is_same_v<Real, float> ? precision::float32 : precision::float64;
  static population_config config(std::int64_t n, std::int64_t b) {
    population_config c;
    c.units = n;
    c.batch = b;
    c.precision = prec;
    c.backend = test::backend_under_test();
    return c;
  }
  // Against the float64 reference (the tolerances of test_scenarios.cpp):
  // float64 differs by a few ulp per step, contracted by the dynamics, so it
  // stays near 1e-13 relative; float32 rounding (~6e-8 per operation) stays
  // under 1e-5 absolute over thousands of steps.
  static ::testing::AssertionResult close(const std::vector<double>& actual, const std::vector<double>& ref) {
    if constexpr (std::is_same_v<Real, double>) {
      return test::all_near_rel(actual, ref, 1e-12);
    } else {
      return test::all_near_abs(actual, ref, 1e-5);
    }
  }
};

using RealTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(TypedApi, RealTypes);

// Sparse events, duplicated and unsorted, give the same bits as the dense
// mask, step after step; both follow the float64 reference.
TYPED_TEST(TypedApi, SpikeEventsEqualDenseMaskBitForBit) {
  struct case_spec {
    std::int64_t units, batch;
    int steps;
  };
  for (const case_spec cs : {case_spec{517, 3, 300}, case_spec{20011, 2, 40}}) {
    for (const bool per_unit : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "N=" << cs.units << " B=" << cs.batch
                                        << (per_unit ? " per-unit" : " uniform") << " parameters");
      std::mt19937_64 rng(static_cast<std::uint64_t>(cs.units) + (per_unit ? 1 : 0));
      auto cfg = TestFixture::config(cs.units, cs.batch);
      if (per_unit) cfg.params = test::random_parameters(rng, cs.units, cfg.dt);
      cfg.g0 = initial_value::uniform(0, 1, 3);
      cfg.x0 = initial_value::uniform(0, 1, 4);
      population dense(cfg), sparse(cfg);
      reference_population ref = test::reference_of(dense);
      const double spike_p[] = {0.0, 0.01, 0.2, 0.9};
      std::int64_t duplicates = 0;
      for (int s = 0; s < cs.steps; ++s) {
        const auto mask = test::random_mask(rng, dense.elements(), spike_p[s % 4]);
        const auto events = events_of(mask, rng);
        duplicates += static_cast<std::int64_t>(events.size()) -
                      std::count(mask.begin(), mask.end(), std::uint8_t{1});
        dense.step(dense_mask(host_span<const std::uint8_t>(mask)));
        sparse.step(spike_events(host_span<const std::int64_t>(events)));
        ref.step(mask.data());
        ASSERT_TRUE(same_state(sparse, dense)) << "after step " << s;
      }
      EXPECT_GT(duplicates, 0);
      EXPECT_GT(count_nonzero(sparse.countdown()), 0);
      EXPECT_TRUE(TestFixture::close(sparse.g(), ref.g()));
      EXPECT_TRUE(TestFixture::close(sparse.x(), ref.x()));
    }
  }
}

TYPED_TEST(TypedApi, DuplicateAndUnsortedEventsAreOneSpikeEach) {
  auto cfg = TestFixture::config(5, 2);
  cfg.g0 = 0.25;
  cfg.x0 = 0.5;
  population sparse(cfg), dense(cfg);
  const std::vector<std::int64_t> events = {7, 3, 7, 7, 0, 3};
  std::vector<std::uint8_t> mask(10, 0);
  mask[0] = mask[3] = mask[7] = 1;
  for (int s = 0; s < 12; ++s) {
    if (s % 5 == 0) {
      sparse.step(spike_events(host_span<const std::int64_t>(events)));
      dense.step(dense_mask(host_span<const std::uint8_t>(mask)));
    } else {
      sparse.step();
      dense.step();
    }
    ASSERT_TRUE(same_state(sparse, dense)) << "after step " << s;
  }
  const auto cd = sparse.countdown();
  EXPECT_EQ(count_nonzero(cd), 3) << "elements 0, 3 and 7 are in a pulse (restarted at step 10)";
}

// Every kind of input, interleaved on one population, against a twin fed the
// equivalent dense mask: no spikes, presynaptic masks (gathered through the
// sources), Poisson (the documented draw rule, also with p >= 1), events and
// an empty event list; both step and step_async.
TYPED_TEST(TypedApi, EveryInputKindEqualsItsDenseMask) {
  const std::int64_t n = 300, b = 2, n_pre = 37;
  std::mt19937_64 rng(8);
  auto cfg = TestFixture::config(n, b);
  cfg.params = test::random_parameters(rng, n, cfg.dt);
  cfg.g0 = initial_value::uniform(0, 1, 5);
  cfg.x0 = initial_value::uniform(0, 1, 6);
  population pop(cfg), twin(cfg);
  std::vector<std::int32_t> sources(static_cast<std::size_t>(n));
  std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
  for (auto& s : sources) s = pick(rng);
  pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre);
  std::int64_t poisson_spikes = 0;
  for (int s = 0; s < 240; ++s) {
    std::vector<std::uint8_t> mask(static_cast<std::size_t>(n * b), 0);
    const int kind = s % 6;
    SCOPED_TRACE(::testing::Message() << "step " << s << ", input kind " << kind);
    switch (kind) {
      case 0:
        if (s % 12 == 0) {
          pop.step(no_spikes{});
        } else {
          pop.step_async();
          pop.synchronize();
        }
        break;
      case 1: {
        const auto pre = test::random_mask(rng, n_pre * b, 0.3);
        pop.step(presynaptic_mask(host_span<const std::uint8_t>(pre)));
        mask = test::gather_mask(pre, sources, n_pre, b);
        break;
      }
      case 2:
      case 5: {
        // 800 Hz * 0.1 ms = 0.08 per step; 10 kHz gives p = 1: every element.
        const double rate = kind == 2 ? 800.0 : 10000.0;
        mask = test::poisson_mask(rate, cfg.dt, 42, pop.step_count(), n * b);
        poisson_spikes += std::count(mask.begin(), mask.end(), std::uint8_t{1});
        pop.step_async(poisson{rate, 42});
        pop.synchronize();
        break;
      }
      case 3: {
        mask = test::random_mask(rng, n * b, 0.2);
        const auto events = events_of(mask, rng);
        pop.step(spike_events(host_span<const std::int64_t>(events)));
        break;
      }
      case 4:
        if (s % 12 == 4) {
          pop.step(spike_events(host_span<const std::int64_t>()));  // null and empty
        } else {
          const std::vector<std::int64_t> none;
          pop.step(spike_events(host_span<const std::int64_t>(none)));
        }
        break;
    }
    twin.step(dense_mask(host_span<const std::uint8_t>(mask)));
    ASSERT_TRUE(same_state(pop, twin));
  }
  // Poisson draws at 800 Hz (~48 per step) plus 40 steps of all N*B.
  EXPECT_GT(poisson_spikes, 40 * n * b);
  EXPECT_LT(poisson_spikes, 40 * n * b + 40 * n * b / 5);
}

// The step counter keys the Poisson draws: after set_step_count(k), the
// input equals what a population that really took k steps receives.
TYPED_TEST(TypedApi, SetStepCountKeysPoissonDraws) {
  const std::int64_t k = 37;
  auto cfg = TestFixture::config(1000, 2);
  cfg.g0 = initial_value::uniform(0, 1, 9);
  cfg.x0 = initial_value::uniform(0, 1, 10);
  population walked(cfg), jumped(cfg), unshifted(cfg), twin(cfg);
  for (std::int64_t s = 0; s < k; ++s) walked.step();
  // The same state, without the steps (no spikes so far: no pulses either).
  const auto g = walked.g();
  const auto x = walked.x();
  for (population* p : {&jumped, &unshifted, &twin}) {
    p->set_g(host_span<const double>(g));
    p->set_x(host_span<const double>(x));
  }
  jumped.set_step_count(k);
  twin.set_step_count(k);
  EXPECT_EQ(jumped.step_count(), k);
  EXPECT_DOUBLE_EQ(jumped.time(), static_cast<double>(k) * cfg.dt);
  const double rate = 300.0;  // 0.03 per element and step
  for (int s = 0; s < 20; ++s) {
    const auto mask = test::poisson_mask(rate, cfg.dt, 5, k + s, walked.elements());
    walked.step(poisson{rate, 5});
    jumped.step(poisson{rate, 5});
    unshifted.step(poisson{rate, 5});
    twin.step(dense_mask(host_span<const std::uint8_t>(mask)));
  }
  EXPECT_TRUE(same_state(jumped, walked));
  EXPECT_TRUE(same_state(twin, walked));
  EXPECT_EQ(unshifted.step_count(), 20);
  EXPECT_NE(unshifted.countdown(), walked.countdown()) << "the count must change the draws";
}

// CPU threads split the work, never the results: 1 and 2 threads (and
// OpenMP's default) give the same bits on a population stepped in parallel.
TYPED_TEST(TypedApi, ThreadCountDoesNotChangeTheBits) {
  if (test::backend_under_test() != backend::cpu) GTEST_SKIP() << "population_config::threads is a CPU setting";
  const std::int64_t n = 100000, b = 2;  // N*B = 200000, above the parallel threshold
  std::mt19937_64 rng(12);
  auto cfg = TestFixture::config(n, b);
  cfg.params = test::random_parameters(rng, n, cfg.dt);
  cfg.g0 = initial_value::uniform(0, 1, 13);
  cfg.x0 = initial_value::uniform(0, 1, 14);
  cfg.threads = 1;
  population one(cfg);
  cfg.threads = 2;
  population two(cfg);
  cfg.threads = 0;
  population automatic(cfg);
  reference_population ref = test::reference_of(one);
  for (int s = 0; s < 21; ++s) {
    const auto mask = s % 3 == 1 ? test::poisson_mask(500.0, cfg.dt, 3, s, n * b) : test::random_mask(rng, n * b, 0.05);
    const auto events = events_of(mask, rng);
    for (population* p : {&one, &two, &automatic}) {
      switch (s % 3) {
        case 0: p->step(dense_mask(host_span<const std::uint8_t>(mask))); break;
        case 1: p->step(poisson{500.0, 3}); break;
        default: p->step(spike_events(host_span<const std::int64_t>(events))); break;
      }
    }
    ref.step(mask.data());
  }
  EXPECT_TRUE(same_state(two, one));
  EXPECT_TRUE(same_state(automatic, one));
  EXPECT_TRUE(TestFixture::close(one.g(), ref.g()));
  EXPECT_TRUE(TestFixture::close(one.x(), ref.x()));
}

// --- State access --------------------------------------------------------------

TYPED_TEST(TypedApi, RawReadAndWriteInTheStatePrecision) {
  using Real = TypeParam;
  const std::int64_t n = 50, b = 3, total = n * b;
  auto cfg = TestFixture::config(n, b);
  cfg.g0 = initial_value::uniform(0, 1, 15);
  cfg.x0 = initial_value::uniform(0, 1, 16);
  population pop(cfg);
  pop.step(poisson{2000.0, 1});
  const auto g0 = pop.g();
  const auto x0 = pop.x();
  const auto cd0 = pop.countdown();
  std::vector<Real> raw(static_cast<std::size_t>(total));
  pop.read<Real>(state_field::g, 0, host_span<Real>(raw));
  for (std::int64_t e = 0; e < total; ++e) ASSERT_EQ(static_cast<double>(raw[static_cast<std::size_t>(e)]), g0[static_cast<std::size_t>(e)]) << e;
  std::vector<Real> part(40);
  pop.read<Real>(state_field::x, 61, host_span<Real>(part));
  for (std::size_t k = 0; k < part.size(); ++k) ASSERT_EQ(static_cast<double>(part[k]), x0[61 + k]) << k;

  // Dyadic values, exact in both precisions; 0 and 1 are inside the range.
  std::vector<Real> in(17);
  for (std::size_t k = 0; k < in.size(); ++k) in[k] = static_cast<Real>(k) / Real(16);
  pop.write<Real>(state_field::x, 61, host_span<const Real>(in));
  const auto x1 = pop.x();
  for (std::int64_t e = 0; e < total; ++e) {
    const bool written = e >= 61 && e < 78;
    const double want = written ? static_cast<double>(in[static_cast<std::size_t>(e - 61)]) : x0[static_cast<std::size_t>(e)];
    ASSERT_EQ(x1[static_cast<std::size_t>(e)], want) << "element " << e;
  }
  EXPECT_EQ(pop.g(), g0);
  EXPECT_EQ(pop.countdown(), cd0);
  std::vector<Real> back(17);
  pop.read<Real>(state_field::x, 61, host_span<Real>(back));
  EXPECT_EQ(back, in);
  // Empty ranges, also at the very end, are no-ops.
  EXPECT_NO_THROW(pop.read<Real>(state_field::g, total, host_span<Real>()));
  EXPECT_NO_THROW(pop.write<Real>(state_field::g, total, host_span<const Real>()));
  EXPECT_EQ(pop.g(), g0);
}

// Moving a state to another population through read/write and
// read_countdown/write_countdown, in pieces, mid-pulse: the two then continue
// bit for bit (a countdown not written would end the pulses differently).
TYPED_TEST(TypedApi, StateCopiedThroughReadAndWriteContinuesBitForBit) {
  using Real = TypeParam;
  const std::int64_t n = 613, b = 2, total = n * b, cut = 700;
  std::mt19937_64 rng(17);
  auto cfg = TestFixture::config(n, b);
  cfg.params = test::random_parameters(rng, n, cfg.dt);
  cfg.g0 = initial_value::uniform(0, 1, 18);
  cfg.x0 = initial_value::uniform(0, 1, 19);
  population a(cfg);
  for (int s = 0; s < 30; ++s) {
    const auto mask = test::random_mask(rng, total, 0.3);
    a.step(dense_mask(host_span<const std::uint8_t>(mask)));
  }
  const auto cd = a.countdown();
  ASSERT_GT(std::count_if(cd.begin(), cd.end(), [](std::uint16_t c) { return c > 1; }), 50) << "mid-pulse";

  auto fresh = cfg;
  fresh.g0 = 0.0;
  fresh.x0 = 0.0;
  population b_pop(fresh);
  for (const auto& [off, len] : {std::pair<std::int64_t, std::int64_t>{0, cut}, {cut, total - cut}}) {
    std::vector<Real> v(static_cast<std::size_t>(len));
    for (state_field f : {state_field::g, state_field::x}) {
      a.read<Real>(f, off, host_span<Real>(v));
      b_pop.write<Real>(f, off, host_span<const Real>(v));
    }
    std::vector<std::uint16_t> c(static_cast<std::size_t>(len));
    a.read_countdown(off, host_span<std::uint16_t>(c));
    EXPECT_TRUE(std::equal(c.begin(), c.end(), cd.begin() + off));
    b_pop.write_countdown(off, host_span<const std::uint16_t>(c));
  }
  b_pop.set_step_count(a.step_count());
  ASSERT_TRUE(same_state(b_pop, a));
  for (int s = 0; s < 30; ++s) {
    const auto mask = test::random_mask(rng, total, 0.02);
    a.step(dense_mask(host_span<const std::uint8_t>(mask)));
    b_pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    a.step(poisson{200.0, 4});
    b_pop.step(poisson{200.0, 4});
  }
  EXPECT_TRUE(same_state(b_pop, a));
}

TYPED_TEST(TypedApi, GatherMatchesTheFullState) {
  const std::int64_t n = 300, b = 4, total = n * b;
  auto cfg = TestFixture::config(n, b);
  cfg.g0 = initial_value::uniform(0, 1, 20);
  cfg.x0 = initial_value::uniform(0, 1, 21);
  population pop(cfg);
  for (int s = 0; s < 20; ++s) pop.step(poisson{400.0, 2});
  std::mt19937_64 rng(22);
  std::uniform_int_distribution<std::int64_t> any(0, total - 1);
  std::vector<std::int64_t> idx = {0, total - 1, n, n - 1, 5, 5};
  for (int k = 0; k < 200; ++k) idx.push_back(any(rng));
  std::vector<double> g(idx.size(), -1.0), x(idx.size(), -1.0);
  pop.gather(host_span<const std::int64_t>(idx), host_span<double>(g), host_span<double>(x));
  const auto all_g = pop.g();
  const auto all_x = pop.x();
  for (std::size_t k = 0; k < idx.size(); ++k) {
    ASSERT_EQ(g[k], all_g[static_cast<std::size_t>(idx[k])]) << "index " << idx[k];
    ASSERT_EQ(x[k], all_x[static_cast<std::size_t>(idx[k])]) << "index " << idx[k];
  }
  EXPECT_NE(g[0], g[1]);  // not all-equal data
  EXPECT_NO_THROW(pop.gather(host_span<const std::int64_t>(), host_span<double>(), host_span<double>()));
}

TEST_F(PopulationApi, PresynapticSourcesRoundTrip) {
  population pop(config(6, 2, precision::float32));
  EXPECT_TRUE(pop.presynaptic_sources().empty());
  EXPECT_EQ(pop.presynaptic_size(), 0);
  const std::vector<std::int32_t> first = {3, 0, 2, 2, 1, 3};
  pop.set_presynaptic_sources(host_span<const std::int32_t>(first), 4);
  EXPECT_EQ(pop.presynaptic_sources(), first);
  EXPECT_EQ(pop.presynaptic_size(), 4);
  const std::vector<std::int32_t> second = {0, 1, 0, 1, 0, 1};
  pop.set_presynaptic_sources(host_span<const std::int32_t>(second), 2);
  EXPECT_EQ(pop.presynaptic_sources(), second);
  EXPECT_EQ(pop.presynaptic_size(), 2);
  // A mask of the new size [B][2] is accepted, one of the old [B][4] is not.
  const std::vector<std::uint8_t> pre = {1, 0, 0, 1};
  EXPECT_NO_THROW(pop.step(presynaptic_mask(host_span<const std::uint8_t>(pre))));
  const std::vector<std::uint8_t> old(8, 1);
  EXPECT_THROW(pop.step(presynaptic_mask(host_span<const std::uint8_t>(old))), invalid_argument);
  // Batch 0 spikes at source 0 (units 0, 2, 4), batch 1 at source 1 (units 7, 9, 11).
  const auto cd = pop.countdown();
  for (std::size_t e = 0; e < cd.size(); ++e) {
    const bool on = e < 6 ? e % 2 == 0 : e % 2 == 1;
    EXPECT_EQ(cd[e] != 0, on) << "element " << e;
  }
}

#if BIONMDA_TEST_CUDA
// Device-memory masks, async stepping on a user stream, and agreement with
// the host-mask path.
TEST_F(PopulationApi, DeviceMaskOnUserStreamEqualsHostMask) {
  std::mt19937_64 rng(1);
  const std::int64_t n = 10007, b = 2;
  auto cfg = config(n, b, precision::float32);
  cfg.g0 = initial_value::uniform(0, 1, 1);
  population via_host(cfg), via_device(cfg);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  std::uint8_t* d_mask = nullptr;
  // One extra byte: also exercise an odd (unaligned) mask address.
  ASSERT_EQ(cudaMalloc(&d_mask, static_cast<std::size_t>(n * b) + 1), cudaSuccess);
  for (int s = 0; s < 200; ++s) {
    const auto mask = test::random_mask(rng, n * b, 0.03);
    std::uint8_t* dst = d_mask + (s % 2);
    ASSERT_EQ(cudaMemcpyAsync(dst, mask.data(), mask.size(), cudaMemcpyHostToDevice, stream), cudaSuccess);
    via_device.step_async(dense_mask(device_span<const std::uint8_t>(dst, n * b)), stream);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    via_host.step(dense_mask(host_span<const std::uint8_t>(mask)));
  }
  EXPECT_EQ(via_device.g(stream), via_host.g());
  EXPECT_EQ(via_device.x(stream), via_host.x());
  cudaFree(d_mask);
  cudaStreamDestroy(stream);
}

// Device-memory inputs held in buffers from make_buffer (no raw cudaMalloc)
// give the same state as their host-memory twins; a device event list may
// hold indices outside [0, N*B), which the kernel skips.
TEST_F(PopulationApi, DeviceInputsFromMakeBufferEqualHostInputs) {
  const std::int64_t n = 1003, b = 2, n_pre = 61, total = n * b;
  std::mt19937_64 rng(23);
  auto cfg = config(n, b, precision::float32);
  cfg.params = test::random_parameters(rng, n, cfg.dt);
  cfg.g0 = initial_value::uniform(0, 1, 24);
  population dev(cfg), host(cfg);
  std::vector<std::int32_t> sources(static_cast<std::size_t>(n));
  std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
  for (auto& s : sources) s = pick(rng);
  dev.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre);
  host.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre);
  buffer<std::uint8_t> d_mask = dev.make_buffer<std::uint8_t>(total, "mask");
  buffer<std::uint8_t> d_pre = dev.make_buffer<std::uint8_t>(n_pre * b, "presynaptic mask");
  ASSERT_EQ(d_mask.space(), memory_space::device);
  for (int s = 0; s < 90; ++s) {
    SCOPED_TRACE(::testing::Message() << "step " << s);
    switch (s % 3) {
      case 0: {
        const auto mask = test::random_mask(rng, total, 0.1);
        d_mask.copy_from(host_span<const std::uint8_t>(mask));
        dev.step_async(dense_mask(d_mask.device_view()));
        host.step(dense_mask(host_span<const std::uint8_t>(mask)));
        break;
      }
      case 1: {
        const auto pre = test::random_mask(rng, n_pre * b, 0.1);
        d_pre.copy_from(host_span<const std::uint8_t>(pre));
        dev.step_async(presynaptic_mask(d_pre.device_view()));
        host.step(presynaptic_mask(host_span<const std::uint8_t>(pre)));
        break;
      }
      default: {
        const auto mask = test::random_mask(rng, total, 0.1);
        const auto events = events_of(mask, rng);
        std::vector<std::int64_t> with_bad = events;
        with_bad.insert(with_bad.end(), {-1, total, INT64_MAX, INT64_MIN});
        std::shuffle(with_bad.begin(), with_bad.end(), rng);
        buffer<std::int64_t> d_events = dev.make_buffer<std::int64_t>(static_cast<std::int64_t>(with_bad.size()));
        d_events.copy_from(host_span<const std::int64_t>(with_bad));
        dev.step_async(spike_events(d_events.device_view()));
        dev.synchronize();  // before d_events is freed
        host.step(spike_events(host_span<const std::int64_t>(events)));
        break;
      }
    }
    dev.synchronize();
    ASSERT_TRUE(same_state(dev, host));
  }
  EXPECT_GT(count_nonzero(dev.countdown()), 0);
}

// More than 2^31 elements: 64-bit indexing end to end (about 21.5 GB).
TEST_F(PopulationApi, MoreThanTwoToThe31Elements) {
  const std::int64_t n = (std::int64_t{1} << 30) + 3, b = 2;
  std::size_t free_b = 0, total_b = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_b, &total_b), cudaSuccess);
  const std::size_t need = static_cast<std::size_t>(n * b) * (4 + 4 + 2) + (1u << 30);
  if (free_b < need) GTEST_SKIP() << "needs " << need << " bytes of device memory, " << free_b << " free";
  auto cfg = config(n, b, precision::float32);
  cfg.host_input_staging = false;
  population pop(cfg);
  const double rate = 2000.0;
  for (int s = 0; s < 3; ++s) pop.step(poisson{rate, 5});
  // Check the last elements (beyond 2^31) against the reference fed the same draws.
  const std::int64_t tail = 256;
  const std::int64_t first = n * b - tail;
  const state_view<float> v = pop.view_f32();
  std::vector<float> g(static_cast<std::size_t>(tail));
  ASSERT_EQ(cudaMemcpy(g.data(), v.g + first, g.size() * sizeof(float), cudaMemcpyDeviceToHost),
            cudaSuccess);
  int spiking = 0;
  for (std::int64_t e = first; e < n * b; ++e) {
    reference_population r(1, 1, cfg.dt, cfg.params, {0.0}, {0.0});
    for (int s = 0; s < 3; ++s) {
      const std::uint8_t m = test::poisson_spike(rate, cfg.dt, 5, s, e) ? 1 : 0;
      spiking += m;
      r.step(&m);
    }
    ASSERT_NEAR(g[static_cast<std::size_t>(e - first)], r.g()[0], 1e-6) << "element " << e;
  }
  // 2000 Hz * 0.1 ms = 0.2 per step: about 150 of the 768 draws spike.
  EXPECT_GT(spiking, 80);
}
#endif

}  // namespace
