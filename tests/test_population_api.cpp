// State access, views, counters, and (CUDA build) device-memory input,
// streams and 64-bit sizes.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "support/test_support.hpp"

#if BIONMDA_TEST_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using namespace bionmda;

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
