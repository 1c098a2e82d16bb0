// postsynaptic_map::step_window: g_post after every step of a window,
// [K][B][n_post], against K single steps followed by the per-step sums
// (per-presynaptic: pop.step + compute; per-synapse: map.step), bit for bit,
// in both precisions, batch 1 and 3, with per-unit parameters, windows of 1 to
// 200 steps, and both layouts of the CPU's g history (element-major while it
// fits in cache, step-major beyond); and every refusal. Built twice: the CPU
// backend with host memory, and (window_post_gpu_test) the CUDA backend with
// device memory through step_window_async.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "bionmda/bionmda.hpp"
#include "support/test_support.hpp"

namespace {

using namespace bionmda;

template <class Real>
constexpr precision precision_of = std::is_same_v<Real, float> ? precision::float32 : precision::float64;

template <class T>
::testing::AssertionResult same_bits(const T* got, const T* want, std::size_t n, const std::string& what) {
  for (std::size_t k = 0; k < n; ++k) {
    if (std::memcmp(&got[k], &want[k], sizeof(T)) != 0) {
      return ::testing::AssertionFailure() << what << "[" << k << "] = " << got[k] << ", expected " << want[k];
    }
  }
  return ::testing::AssertionSuccess();
}

// Random post-major CSR: n_post rows of 0..max_degree synapses from [0, n_src).
csr_connectivity random_csr(std::int64_t n_post, std::int64_t n_src, int max_degree, std::mt19937_64& rng) {
  csr_connectivity c;
  c.n_post = n_post;
  c.row_offsets.push_back(0);
  for (std::int64_t j = 0; j < n_post; ++j) {
    const int degree = static_cast<int>(rng() % static_cast<std::uint64_t>(max_degree + 1));
    for (int q = 0; q < degree; ++q) {
      c.source.push_back(static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(n_src)));
      c.gmax.push_back(0.05 + static_cast<double>(rng() % 1000) / 1000.0);
    }
    c.row_offsets.push_back(static_cast<std::int64_t>(c.source.size()));
  }
  return c;
}

population_config config(std::int64_t units, std::int64_t batch, precision p, bool per_unit) {
  population_config c;
  c.units = units;
  c.batch = batch;
  c.dt = 0.1;
  c.precision = p;
  c.backend = test::backend_under_test();
  if (c.backend == backend::cpu) c.threads = 2;
  c.params.T_dur = 0.45;  // 5-step pulses: they cross the edges of windows of 3
  if (per_unit) {
    std::vector<double> a(static_cast<std::size_t>(units));
    for (std::int64_t i = 0; i < units; ++i) a[static_cast<std::size_t>(i)] = 0.5 + 0.01 * static_cast<double>(i % 97);
    c.params.alpha1 = a;
  }
  return c;
}


// Window input in the backend's memory: host vectors on the CPU, a device copy
// kept in `keep` on the CUDA backend.
template <template <memory_space> class Input, class T>
window_input input_in(const population& pop, const std::vector<T>& data, buffer<T>& keep) {
  if (pop.config().backend == backend::cpu) return Input<memory_space::host>(host_span<const T>(data));
  keep = pop.make_buffer<T>(static_cast<std::int64_t>(data.size()));
  keep.copy_from(host_span<const T>(data));
  return Input<memory_space::device>(device_span<const T>(keep.device_view()));
}

// map.step_window on the CPU, step_window_async into a device buffer on CUDA;
// g_post comes back in host memory either way.
template <class Real>
void window_g_post(const postsynaptic_map& map, population& pop, std::int64_t K, const window_input& in,
                   std::vector<Real>& g_post) {
  if (pop.config().backend == backend::cpu) {
    map.step_window<Real>(pop, K, in, host_span<Real>(g_post));
    return;
  }
  buffer<Real> out = pop.make_buffer<Real>(static_cast<std::int64_t>(g_post.size()));
  out.copy_from(host_span<const Real>(g_post));  // the -1 fill: unwritten values show
  map.step_window_async<Real>(pop, K, in, out.device_view());
  out.copy_to(host_span<Real>(g_post));
}

// The per-step reference sums: compute() on the CPU, compute_async on CUDA.
template <class Real>
void compute_g_post(const postsynaptic_map& map, population& pop, std::vector<Real>& g_post) {
  if (pop.config().backend == backend::cpu) {
    map.compute<Real>(pop, host_span<Real>(g_post));
    return;
  }
  buffer<Real> out = pop.make_buffer<Real>(static_cast<std::int64_t>(g_post.size()));
  map.compute_async<Real>(pop, out.device_view(), {}, {});
  out.copy_to(host_span<Real>(g_post));
}

// The per-synapse reference step: step() on the CPU, step_async on CUDA.
template <class Real>
void step_g_post(const postsynaptic_map& map, population& pop, const std::uint8_t* spikes, std::int64_t n,
                 std::vector<Real>& g_post) {
  if (pop.config().backend == backend::cpu) {
    map.step<Real>(pop, host_span<const std::uint8_t>(spikes, n), host_span<Real>(g_post));
    return;
  }
  buffer<std::uint8_t> in = pop.make_buffer<std::uint8_t>(n);
  in.copy_from(host_span<const std::uint8_t>(spikes, n));
  buffer<Real> out = pop.make_buffer<Real>(static_cast<std::int64_t>(g_post.size()));
  map.step_async<Real>(pop, device_span<const std::uint8_t>(in.device_view()), out.device_view(), {}, {});
  out.copy_to(host_span<Real>(g_post));
}

struct post_case {
  std::int64_t n_pre;  // presynaptic neurons (per-presynaptic: the population's units)
  std::int64_t n_post;
  int max_degree;
  std::int64_t batch;
  bool per_unit;
  std::vector<std::int64_t> windows;  // K of each window, one after another
};

template <class Real>
void check_per_presynaptic(const post_case& pc) {
  std::mt19937_64 rng(42 + static_cast<std::uint64_t>(pc.n_pre));
  const csr_connectivity conn = random_csr(pc.n_post, pc.n_pre, pc.max_degree, rng);
  const population_config cfg = config(pc.n_pre, pc.batch, precision_of<Real>, pc.per_unit);
  population win(cfg), ref(cfg);
  const postsynaptic_map map_w(win, conn), map_r(ref, conn);
  const std::int64_t rows = pc.n_post * pc.batch, n = pc.n_pre * pc.batch;
  std::vector<Real> g_step(static_cast<std::size_t>(rows));
  for (const std::int64_t K : pc.windows) {
    std::vector<std::uint8_t> spikes(static_cast<std::size_t>(K * n));
    for (auto& s : spikes) s = rng() % 7 == 0;
    std::vector<Real> g_post(static_cast<std::size_t>(K * rows), Real(-1));
    buffer<std::uint8_t> keep;
    window_g_post(map_w, win, K, input_in<dense_window>(win, spikes, keep), g_post);
    for (std::int64_t k = 0; k < K; ++k) {
      ref.step(dense_mask(host_span<const std::uint8_t>(spikes.data() + k * n, n)));
      compute_g_post(map_r, ref, g_step);
      ASSERT_TRUE(same_bits(g_post.data() + k * rows, g_step.data(), g_step.size(),
                            "g_post of step " + std::to_string(k) + " of a window of " + std::to_string(K)));
    }
  }
  EXPECT_EQ(win.g(), ref.g());
  EXPECT_EQ(win.x(), ref.x());
  EXPECT_EQ(win.countdown(), ref.countdown());
  EXPECT_EQ(win.step_count(), ref.step_count());
}

template <class Real>
void check_per_synapse(const post_case& pc, bool bits) {
  std::mt19937_64 rng(7 + static_cast<std::uint64_t>(pc.n_post));
  const csr_connectivity conn = random_csr(pc.n_post, pc.n_pre, pc.max_degree, rng);
  const auto synapses = static_cast<std::int64_t>(conn.source.size());
  const population_config cfg = config(synapses, pc.batch, precision_of<Real>, pc.per_unit);
  population win(cfg), ref(cfg);
  const postsynaptic_map map_w = postsynaptic_map::per_synapse(win, conn, pc.n_pre);
  const postsynaptic_map map_r = postsynaptic_map::per_synapse(ref, conn, pc.n_pre);
  const std::int64_t rows = pc.n_post * pc.batch, n = pc.n_pre * pc.batch;
  const std::int64_t words = (pc.n_pre + 31) / 32;
  std::vector<Real> g_step(static_cast<std::size_t>(rows));
  for (const std::int64_t K : pc.windows) {
    std::vector<std::uint8_t> spikes(static_cast<std::size_t>(K * n));
    for (auto& s : spikes) s = rng() % 5 == 0;
    std::vector<std::uint32_t> packed(static_cast<std::size_t>(K * pc.batch * words), 0);
    for (std::int64_t k = 0; k < K; ++k) {
      for (std::int64_t b = 0; b < pc.batch; ++b) {
        for (std::int64_t p = 0; p < pc.n_pre; ++p) {
          if (spikes[static_cast<std::size_t>(k * n + b * pc.n_pre + p)] != 0) {
            packed[static_cast<std::size_t>((k * pc.batch + b) * words + p / 32)] |= 1u << (p % 32);
          }
        }
      }
    }
    std::vector<Real> g_post(static_cast<std::size_t>(K * rows), Real(-1));
    buffer<std::uint8_t> keep8;
    buffer<std::uint32_t> keep32;
    window_g_post(map_w, win, K,
                  bits ? input_in<presynaptic_bit_window>(win, packed, keep32)
                       : input_in<presynaptic_window>(win, spikes, keep8),
                  g_post);
    for (std::int64_t k = 0; k < K; ++k) {
      step_g_post(map_r, ref, spikes.data() + k * n, n, g_step);
      ASSERT_TRUE(same_bits(g_post.data() + k * rows, g_step.data(), g_step.size(),
                            "g_post of step " + std::to_string(k) + " of a window of " + std::to_string(K)));
    }
  }
  EXPECT_EQ(win.g(), ref.g());
  EXPECT_EQ(win.x(), ref.x());
  EXPECT_EQ(win.countdown(), ref.countdown());
}

const std::vector<post_case>& cases() {
  static const std::vector<post_case> c = {
      {1, 1, 1, 1, false, {1, 1, 3}},
      {300, 200, 40, 1, false, {1, 3, 3, 64, 5}},
      {300, 200, 40, 3, true, {2, 3, 7}},
      {1000, 50, 300, 2, false, {200, 3}},  // long rows
      // 40000 units x 3 x 32 steps x 4 B = 15 MB: past the CPU's 8 MiB budget,
      // so the g history is step-major; 3 steps stay element-major.
      {40000, 500, 60, 3, false, {32, 3, 1}},
  };
  return c;
}

class WindowPost : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

TEST_P(WindowPost, PerPresynapticFloat32) { check_per_presynaptic<float>(cases()[GetParam()]); }
TEST_P(WindowPost, PerPresynapticFloat64) { check_per_presynaptic<double>(cases()[GetParam()]); }
TEST_P(WindowPost, PerSynapseBytesFloat32) { check_per_synapse<float>(cases()[GetParam()], false); }
TEST_P(WindowPost, PerSynapseBitsFloat64) { check_per_synapse<double>(cases()[GetParam()], true); }
TEST_P(WindowPost, PerSynapseBitsFloat32) { check_per_synapse<float>(cases()[GetParam()], true); }

INSTANTIATE_TEST_SUITE_P(Cases, WindowPost, ::testing::Range<std::size_t>(0, 5));

// Every refusal leaves the population as it was (the CPU binary: the checks
// are the backend-neutral core's, shared with step_window_async).
TEST(WindowPostRefusals, BadCallsChangeNothing) {
  if (test::backend_under_test() != backend::cpu) GTEST_SKIP() << "host-memory windows: the CPU binary tests them";
  std::mt19937_64 rng(3);
  const csr_connectivity conn = random_csr(20, 30, 6, rng);
  population pre(config(30, 2, precision::float32, false));
  const postsynaptic_map map(pre, conn);
  population syn(config(static_cast<std::int64_t>(conn.source.size()), 2, precision::float32, false));
  const postsynaptic_map per_syn = postsynaptic_map::per_synapse(syn, conn, 30);
  const std::int64_t K = 4;
  std::vector<std::uint8_t> spikes(static_cast<std::size_t>(K * 30 * 2), 1);
  std::vector<float> g_post(static_cast<std::size_t>(K * 20 * 2));
  std::vector<double> g_post64(g_post.size());
  const auto before = pre.g();
  const auto expect_refused = [&](auto&& call, const char* words) {
    try {
      call();
      ADD_FAILURE() << "accepted; expected a refusal naming " << words;
    } catch (const invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_EQ(pre.g(), before);
    EXPECT_EQ(pre.step_count(), 0);
    EXPECT_EQ(syn.step_count(), 0);
  };
  const host_span<const std::uint8_t> s(spikes);
  expect_refused([&] { map.step_window<float>(pre, K, dense_window(s), host_span<float>(g_post.data(), 159)); },
                 "g_post");
  expect_refused([&] { map.step_window<float>(pre, K, dense_window(s), host_span<float>(nullptr, 160)); },
                 "null");
  expect_refused([&] { map.step_window<float>(pre, -1, dense_window(s), host_span<float>(g_post.data(), 0)); },
                 "steps");
  expect_refused([&] { map.step_window<double>(pre, K, dense_window(s), host_span<double>(g_post64)); },
                 "precision");
  expect_refused([&] { map.step_window<float>(pre, K + 1, dense_window(s), host_span<float>(g_post.data(), 200)); },
                 "window spike mask");
  expect_refused(
      [&] { map.step_window<float>(pre, K, poisson{std::nan(""), 1}, host_span<float>(g_post)); }, "Poisson");
  // A per-synapse map takes presynaptic windows only.
  expect_refused([&] { per_syn.step_window<float>(syn, K, poisson{10.0, 1}, host_span<float>(g_post)); },
                 "presynaptic window");
  expect_refused([&] { per_syn.step_window<float>(syn, K, no_spikes{}, host_span<float>(g_post)); },
                 "presynaptic window");
  // The map belongs to another population.
  expect_refused([&] { map.step_window<float>(syn, K, dense_window(s), host_span<float>(g_post)); },
                 "other than the one");
  // Zero steps: nothing happens, nothing is written.
  map.step_window<float>(pre, 0, no_spikes{}, host_span<float>(g_post.data(), 0));
  EXPECT_EQ(pre.step_count(), 0);
}

}  // namespace

namespace {

// A trace may not share memory with the state the window reads (nor have a negative size).
TEST(WindowTraceRefusals, TraceOverlappingTheStateOrNegativeIsRefused) {
  if (bionmda::test::backend_under_test() != bionmda::backend::cpu) GTEST_SKIP() << "host state: the CPU binary";
  bionmda::population_config c;
  c.units = 64;
  c.backend = bionmda::backend::cpu;
  bionmda::population pop(c);
  const std::vector<std::int64_t> rec = {0, 5, 63};
  pop.set_recorded_elements(bionmda::host_span<const std::int64_t>(rec));
  const bionmda::state_view<float> st = pop.view_f32();
  std::vector<float> ok(3 * 4);
  const auto before = pop.g();
  for (float* alias : {st.g, st.x + 40, reinterpret_cast<float*>(st.countdown)}) {
    EXPECT_THROW(pop.step_window(4, bionmda::no_spikes{},
                                 bionmda::window_trace<float>(bionmda::host_span<float>(alias, 12),
                                                              bionmda::host_span<float>(ok))),
                 bionmda::invalid_argument);
  }
  EXPECT_THROW(pop.step_window(4, bionmda::no_spikes{},
                               bionmda::window_trace<float>(bionmda::host_span<float>(ok),
                                                            bionmda::host_span<float>(st.x + 60, 12))),
               bionmda::invalid_argument);
  EXPECT_EQ(pop.g(), before);
  EXPECT_EQ(pop.step_count(), 0);
  // n_rec = 0: a negative size is still refused.
  pop.set_recorded_elements(bionmda::host_span<const std::int64_t>());
  EXPECT_THROW(pop.step_window(4, bionmda::no_spikes{},
                               bionmda::window_trace<float>(bionmda::host_span<float>(ok.data(), -1),
                                                            bionmda::host_span<float>())),
               bionmda::invalid_argument);
  // Separate memory is accepted.
  std::vector<float> tg(12), tx(12);
  pop.set_recorded_elements(bionmda::host_span<const std::int64_t>(rec));
  pop.step_window(4, bionmda::no_spikes{},
                  bionmda::window_trace<float>(bionmda::host_span<float>(tg), bionmda::host_span<float>(tx)));
  EXPECT_EQ(pop.step_count(), 4);
}

}  // namespace
