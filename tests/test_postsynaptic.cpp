// Per-post aggregation (per-presynaptic mode) and the Mg-blocked current,
// against the float64 reference plus a plain host sum; on the GPU also
// determinism and CUDA-graph replay equal to plain stepping, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "support/test_support.hpp"

#if BIONMDA_TEST_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using namespace bionmda;

// Values computed independently (Python, float64) from
// I = g (E - V) / (1 + cc/beta exp(alpha (V_offset - V))), g = 1, defaults.
TEST(MgBlock, ClosedFormValues) {
  struct row {
    double V, cc, I;
  };
  for (const row& r : {row{-80, 0.0, 80.0}, row{-80, 1.2, 1.6349657804988598}, row{-80, 2.0, 0.9890649046684423},
                       row{-65, 1.2, 3.2644893263016375}, row{-65, 2.0, 1.9988487992897344},
                       row{-40, 1.2, 7.977868765694593}, row{-40, 2.0, 5.2017065842877255},
                       row{-20, 1.2, 9.252616461250152}, row{0, 1.2, 0.0}, row{20, 1.2, -18.227021094215733},
                       row{20, 2.0, -17.209926536882733}}) {
    mg_block mg;
    mg.cc_Mg = r.cc;
    EXPECT_NEAR(mg_block_current(1.0, r.V, mg), r.I, 1e-13 * std::max(1.0, std::fabs(r.I)))
        << "V=" << r.V << " cc_Mg=" << r.cc;
  }
  mg_block shifted;
  shifted.E = 10;
  shifted.V_offset = 5;
  // V = 5: exp(0) = 1, I = 2.5 * (10 - 5) / (1 + 1.2/3.57).
  EXPECT_NEAR(mg_block_current(2.5, 5.0, shifted), 12.5 / (1 + 1.2 / 3.57), 1e-13);
}

csr_connectivity random_csr(std::mt19937_64& rng, std::int64_t n_post, std::int64_t n_pre, int max_in) {
  csr_connectivity c;
  c.n_post = n_post;
  c.row_offsets.push_back(0);
  std::uniform_int_distribution<int> degree(0, max_in);
  std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
  std::uniform_real_distribution<double> w(0.1, 2.0);
  for (std::int64_t j = 0; j < n_post; ++j) {
    const int d = j % 17 == 0 ? 0 : degree(rng);  // some empty rows
    for (int k = 0; k < d; ++k) {
      c.source.push_back(pick(rng));
      c.gmax.push_back(w(rng));
    }
    c.row_offsets.push_back(static_cast<std::int64_t>(c.source.size()));
  }
  return c;
}

template <class Real>
class PostSum : public ::testing::Test {
 public:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
  static constexpr precision prec = std::is_same_v<Real, float> ? precision::float32 : precision::float64;
};
using RealTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(PostSum, RealTypes);

// Runs compute on the backend under test; returns g_post and I as float64.
template <class Real>
void compute_on_backend(population& pop, const postsynaptic_map& map, const std::vector<double>& V,
                        std::vector<double>& g_post, std::vector<double>& I) {
  const std::int64_t n = map.n_post() * pop.batch();
  std::vector<Real> gp(static_cast<std::size_t>(n)), cur(static_cast<std::size_t>(n));
  std::vector<Real> v(V.begin(), V.end());
#if BIONMDA_TEST_CUDA
  Real *d_gp = nullptr, *d_v = nullptr, *d_i = nullptr;
  ASSERT_EQ(cudaMalloc(&d_gp, n * sizeof(Real) + 1), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_v, n * sizeof(Real) + 1), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_i, n * sizeof(Real) + 1), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d_v, v.data(), n * sizeof(Real), cudaMemcpyHostToDevice), cudaSuccess);
  map.compute_async<Real>(pop, device_span<Real>(d_gp, n), device_span<const Real>(d_v, n), device_span<Real>(d_i, n));
  ASSERT_EQ(cudaMemcpy(gp.data(), d_gp, n * sizeof(Real), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(cur.data(), d_i, n * sizeof(Real), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(d_gp);
  cudaFree(d_v);
  cudaFree(d_i);
#else
  map.compute<Real>(pop, host_span<Real>(gp), host_span<const Real>(v), host_span<Real>(cur));
#endif
  g_post.assign(gp.begin(), gp.end());
  I.assign(cur.begin(), cur.end());
}

TYPED_TEST(PostSum, MatchesReferencePlusHostSum) {
  using Real = TypeParam;
  std::mt19937_64 rng(31);
  const std::int64_t n_pre = 2003, batch = 3, n_post = 517;
  population_config cfg;
  cfg.units = n_pre;
  cfg.batch = batch;
  cfg.precision = TestFixture::prec;
  cfg.backend = test::backend_under_test();
  cfg.params = test::random_parameters(rng, n_pre, 0.1);
  population pop(cfg);
  reference_population ref = test::reference_of(pop);
  for (int s = 0; s < 300; ++s) {
    const auto mask = test::random_mask(rng, n_pre * batch, 0.03);
    pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    ref.step(mask.data());
  }
  const csr_connectivity conn = random_csr(rng, n_post, n_pre, 120);
  mg_block mg;
  postsynaptic_map map(pop, conn, mg);
  EXPECT_EQ(map.n_post(), n_post);
  EXPECT_EQ(map.synapses(), static_cast<std::int64_t>(conn.source.size()));
  const auto V = test::random_values(rng, n_post * batch, -90.0, 30.0);
  std::vector<double> g_post, I;
  compute_on_backend<Real>(pop, map, V, g_post, I);

  // Independent: the reference's g, a plain host sum in float64, the formula written out.
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t j = 0; j < n_post; ++j) {
      double sum = 0, bound = 0;
      for (std::int64_t k = conn.row_offsets[static_cast<std::size_t>(j)]; k < conn.row_offsets[static_cast<std::size_t>(j + 1)]; ++k) {
        const double term = conn.gmax[static_cast<std::size_t>(k)] *
                            ref.g()[static_cast<std::size_t>(b * n_pre + conn.source[static_cast<std::size_t>(k)])];
        sum += term;
        bound += conn.gmax[static_cast<std::size_t>(k)];
      }
      const std::size_t r = static_cast<std::size_t>(b * n_post + j);
      const double v = V[r];
      const double expected_I = sum * (0.0 - v) / (1.0 + 1.2 / 3.57 * std::exp(0.062 * (0.0 - v)));
      // float64: g within 1e-12 relative of the reference, sums of positive terms.
      // float32: g within 1e-5 absolute per synapse, plus float32 summation.
      const double tol = std::is_same_v<Real, double> ? 1e-12 * std::max(sum, 1e-300)
                                                      : 1e-5 * bound + 1e-6 * sum;
      ASSERT_NEAR(g_post[r], sum, tol) << "b=" << b << " j=" << j;
      ASSERT_NEAR(I[r], expected_I, tol * 200) << "b=" << b << " j=" << j << " V=" << v;
    }
  }
}

// The per-presynaptic sum over more rows than one thread sums (B * n_post =
// 8193 rows: the CPU splits them into blocks of 512, the last one partial),
// with empty rows and rows longer than the population, on a state set
// directly (every element different, batches different). Outputs start as NaN
// so that a row never written shows; without V, I is left alone. Against a
// host sum over the population's own g. (Host outputs: the CPU backend.)
#if !BIONMDA_TEST_CUDA
TYPED_TEST(PostSum, PerPresynapticSumOverManyRowsAndBatches) {
  using Real = TypeParam;
  std::mt19937_64 rng(37);
  const std::int64_t n_pre = 1000, batch = 3, n_post = 2731;
  population_config cfg;
  cfg.units = n_pre;
  cfg.batch = batch;
  cfg.precision = TestFixture::prec;
  cfg.backend = test::backend_under_test();
  population pop(cfg);
  const std::vector<double> g0 = test::random_values(rng, n_pre * batch, 0.0, 1.0);
  pop.set_g(host_span<const double>(g0));
  const std::vector<double> g = pop.g();
  csr_connectivity conn = random_csr(rng, n_post - 1, n_pre, 40);
  std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
  for (int k = 0; k < 1500; ++k) {  // a last row longer than the population
    conn.source.push_back(pick(rng));
    conn.gmax.push_back(0.5);
  }
  conn.n_post = n_post;
  conn.row_offsets.push_back(static_cast<std::int64_t>(conn.source.size()));
  const postsynaptic_map map(pop, conn, mg_block{});
  const auto V = test::random_values(rng, n_post * batch, -90.0, 30.0);
  for (const bool with_current : {false, true}) {
    SCOPED_TRACE(with_current ? "with V" : "without V");
    const auto rows = static_cast<std::size_t>(n_post * batch);
    std::vector<Real> gp(rows, std::numeric_limits<Real>::quiet_NaN()), cur(rows, std::numeric_limits<Real>::quiet_NaN());
    const std::vector<Real> v(V.begin(), V.end());
    if (with_current) {
      map.compute<Real>(pop, host_span<Real>(gp), host_span<const Real>(v), host_span<Real>(cur));
    } else {
      map.compute<Real>(pop, host_span<Real>(gp), host_span<const Real>(), host_span<Real>());
    }
    for (std::int64_t b = 0; b < batch; ++b) {
      for (std::int64_t j = 0; j < n_post; ++j) {
        double sum = 0, bound = 0;
        for (auto k = conn.row_offsets[static_cast<std::size_t>(j)]; k < conn.row_offsets[static_cast<std::size_t>(j + 1)]; ++k) {
          const auto w = static_cast<double>(static_cast<Real>(conn.gmax[static_cast<std::size_t>(k)]));
          sum += w * g[static_cast<std::size_t>(b * n_pre + conn.source[static_cast<std::size_t>(k)])];
          bound += w;
        }
        // Summed in Real: each of the row's additions rounds by at most
        // eps/2 of the running sum (<= bound), plus the product's rounding.
        const double eps = std::numeric_limits<Real>::epsilon();
        const double tol = eps * bound * static_cast<double>(conn.row_offsets[static_cast<std::size_t>(j + 1)] -
                                                             conn.row_offsets[static_cast<std::size_t>(j)] + 1);
        const std::size_t r = static_cast<std::size_t>(b * n_post + j);
        ASSERT_NEAR(static_cast<double>(gp[r]), sum, tol) << "b=" << b << " j=" << j;
        if (!with_current) {
          ASSERT_TRUE(std::isnan(cur[r])) << "I written without V: b=" << b << " j=" << j;
          continue;
        }
        const double expected_I = static_cast<double>(gp[r]) * (0.0 - v[r]) /
                                  (1.0 + 1.2 / 3.57 * std::exp(0.062 * (0.0 - static_cast<double>(v[r]))));
        ASSERT_NEAR(static_cast<double>(cur[r]), expected_I, 100 * eps * std::max(1.0, std::fabs(expected_I)))
            << "b=" << b << " j=" << j;
      }
    }
  }
}
#endif

// Per-synapse mode: the fused update + per-post sum against the reference fed
// the gathered spikes, and a plain host sum over the reference's g.
template <class Real>
void per_synapse_step(const postsynaptic_map& map, population& pop, const std::vector<std::uint8_t>& pre,
                      const std::vector<double>& V, std::vector<double>& g_post, std::vector<double>& I) {
  const std::int64_t n = map.n_post() * pop.batch();
  std::vector<Real> gp(static_cast<std::size_t>(n)), cur(static_cast<std::size_t>(n)), v(V.begin(), V.end());
#if BIONMDA_TEST_CUDA
  Real *d_gp = nullptr, *d_v = nullptr, *d_i = nullptr;
  std::uint8_t* d_pre = nullptr;
  ASSERT_EQ(cudaMalloc(&d_gp, n * sizeof(Real)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_v, n * sizeof(Real)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_i, n * sizeof(Real)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_pre, pre.size()), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d_v, v.data(), n * sizeof(Real), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d_pre, pre.data(), pre.size(), cudaMemcpyHostToDevice), cudaSuccess);
  map.step_async<Real>(pop, device_span<const std::uint8_t>(d_pre, static_cast<std::int64_t>(pre.size())),
                       device_span<Real>(d_gp, n), device_span<const Real>(d_v, n), device_span<Real>(d_i, n));
  ASSERT_EQ(cudaMemcpy(gp.data(), d_gp, n * sizeof(Real), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(cur.data(), d_i, n * sizeof(Real), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(d_gp);
  cudaFree(d_v);
  cudaFree(d_i);
  cudaFree(d_pre);
#else
  map.step<Real>(pop, host_span<const std::uint8_t>(pre), host_span<Real>(gp), host_span<const Real>(v),
                 host_span<Real>(cur));
#endif
  g_post.assign(gp.begin(), gp.end());
  I.assign(cur.begin(), cur.end());
}

template <class Real>
void check_per_synapse(const csr_connectivity& conn, std::int64_t n_pre, int steps) {
  std::mt19937_64 rng(41);
  const std::int64_t n_post = conn.n_post, batch = 2;
  constexpr precision prec = std::is_same_v<Real, float> ? precision::float32 : precision::float64;
  const auto nnz = static_cast<std::int64_t>(conn.source.size());
  population_config cfg;
  cfg.units = nnz;
  cfg.batch = batch;
  cfg.precision = prec;
  cfg.backend = test::backend_under_test();
  cfg.params = test::random_parameters(rng, nnz, 0.1);  // heterogeneous, per synapse
  cfg.g0 = initial_value::uniform(0, 0.3, 2);
  population pop(cfg);
  reference_population ref = test::reference_of(pop);
  const postsynaptic_map map = postsynaptic_map::per_synapse(pop, conn, n_pre);
  EXPECT_TRUE(map.is_per_synapse());
  EXPECT_EQ(pop.presynaptic_size(), n_pre);
  constexpr bool f64 = std::is_same_v<Real, double>;
  std::vector<double> g_post, I, V;
  for (int s = 0; s < steps; ++s) {
    const auto pre = test::random_mask(rng, n_pre * batch, 0.04);
    V = test::random_values(rng, n_post * batch, -80, 10);
    per_synapse_step<Real>(map, pop, pre, V, g_post, I);
    ref.step(test::gather_mask(pre, conn.source, n_pre, batch).data());
    if (s % 50 != 49 && s + 1 != steps) continue;
    for (std::int64_t b = 0; b < batch; ++b) {
      for (std::int64_t j = 0; j < n_post; ++j) {
        double sum = 0, bound = 0;
        for (std::int64_t k = conn.row_offsets[static_cast<std::size_t>(j)]; k < conn.row_offsets[static_cast<std::size_t>(j + 1)]; ++k) {
          sum += conn.gmax[static_cast<std::size_t>(k)] * ref.g()[static_cast<std::size_t>(b * nnz + k)];
          bound += conn.gmax[static_cast<std::size_t>(k)];
        }
        const std::size_t r = static_cast<std::size_t>(b * n_post + j);
        const double tol = f64 ? 1e-12 * std::max(sum, 1e-300) : 1e-5 * bound + 1e-6 * sum;
        ASSERT_NEAR(g_post[r], sum, tol) << "step " << s << " b=" << b << " j=" << j;
        // The current of the same pass, from its own g_post and this step's V.
        const double expected_I = g_post[r] * (0.0 - V[r]) / (1.0 + 1.2 / 3.57 * std::exp(0.062 * (0.0 - V[r])));
        ASSERT_NEAR(I[r], expected_I, (f64 ? 1e-12 : 1e-5) * std::max(1.0, std::fabs(expected_I)))
            << "step " << s << " V=" << V[r];
      }
    }
  }
  EXPECT_EQ(pop.step_count(), steps);
  // The synapse states themselves follow the reference.
  const auto g = pop.g();
  for (std::size_t e = 0; e < g.size(); ++e) {
    const double tol = f64 ? 1e-12 * std::max(ref.g()[e], 1e-300) : 1e-5;
    ASSERT_NEAR(g[e], ref.g()[e], tol) << e;
  }
  double any = 0;
  for (std::size_t r = 0; r < g_post.size(); ++r) any = std::max(any, g_post[r]);
  EXPECT_GT(any, 0.05);
}

TYPED_TEST(PostSum, PerSynapseModeFusesUpdateAndSum) {
  std::mt19937_64 rng(41);
  check_per_synapse<TypeParam>(random_csr(rng, 389, 701, 90), 701, 200);
}

// Rows longer than the CPU's tile of 8192 synapses, and empty rows around them.
TYPED_TEST(PostSum, PerSynapseModeWithVeryLongRows) {
  std::mt19937_64 rng(43);
  csr_connectivity c;
  c.n_post = 5;
  std::uniform_int_distribution<std::int32_t> pick(0, 299);
  c.row_offsets = {0};
  for (std::int64_t len : {0, 20000, 3, 0, 9000}) {
    for (std::int64_t k = 0; k < len; ++k) {
      c.source.push_back(pick(rng));
      c.gmax.push_back(0.01 * static_cast<double>(k % 7 + 1));
    }
    c.row_offsets.push_back(static_cast<std::int64_t>(c.source.size()));
  }
  check_per_synapse<TypeParam>(c, 300, 60);
}

TEST(PostSumErrors, MalformedConnectivityAndSpans) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  population_config cfg;
  cfg.units = 10;
  cfg.batch = 2;
  cfg.backend = test::backend_under_test();
  population pop(cfg);
  auto ok = [] {
    csr_connectivity c;
    c.n_post = 2;
    c.row_offsets = {0, 2, 3};
    c.source = {1, 9, 4};
    c.gmax = {1.0, 0.5, 2.0};
    return c;
  };
  EXPECT_NO_THROW(postsynaptic_map(pop, ok()));
  auto expect_error = [&](csr_connectivity c, mg_block mg, const std::string& words) {
    try {
      postsynaptic_map m(pop, std::move(c), mg);
      ADD_FAILURE() << "accepted; expected an error mentioning " << words;
    } catch (const invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  auto c = ok();
  c.row_offsets = {0, 2};
  expect_error(c, {}, "row_offsets has 2 entries");
  c = ok();
  c.row_offsets = {0, 3, 2};
  expect_error(c, {}, "non-decreasing");
  c = ok();
  c.source[1] = 10;
  expect_error(c, {}, "source[1] = 10");
  c = ok();
  c.source[2] = -1;
  expect_error(c, {}, "source[2] = -1");
  c = ok();
  c.gmax[0] = std::nan("");
  expect_error(c, {}, "gmax[0]");
  c = ok();
  c.gmax.pop_back();
  expect_error(c, {}, "gmax has 2 entries");
  mg_block bad;
  bad.beta = 0;
  expect_error(ok(), bad, "beta");
  bad = {};
  bad.cc_Mg = -1;
  expect_error(ok(), bad, "cc_Mg");

  // Per-synapse mode needs one unit per synapse, and each mode its own calls.
  EXPECT_THROW(postsynaptic_map::per_synapse(pop, ok(), 10), invalid_argument);  // 10 units, 3 synapses
  {
    population_config three = cfg;
    three.units = 3;
    population syn(three);
    try {
      (void)postsynaptic_map::per_synapse(syn, ok(), 9);
      ADD_FAILURE() << "accepted source 9 with n_pre 9";
    } catch (const invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("source[1] = 9"), std::string::npos) << e.what();
    }
    const postsynaptic_map ps = postsynaptic_map::per_synapse(syn, ok(), 10);
    // Used with a population of another precision, or after its presynaptic
    // size changed: refused (it would read and write out of bounds).
    auto three64 = three;
    three64.precision = precision::float64;
    population syn64(three64);
    const std::vector<std::int32_t> sources = ok().source;
    syn64.set_presynaptic_sources(host_span<const std::int32_t>(sources), 10);
#if !BIONMDA_TEST_CUDA
    {
      std::vector<std::uint8_t> pre(20, 0);
      std::vector<float> gp4(4);
      EXPECT_THROW(ps.step<float>(syn64, host_span<const std::uint8_t>(pre), host_span<float>(gp4)), invalid_argument);
      std::vector<double> gpd(4);
      EXPECT_THROW(ps.step<double>(syn64, host_span<const std::uint8_t>(pre), host_span<double>(gpd)),
                   invalid_argument);
      population other_pre(three);
      std::vector<std::int32_t> src = {1, 9, 4};
      other_pre.set_presynaptic_sources(host_span<const std::int32_t>(src), 20);
      std::vector<std::uint8_t> pre40(40, 0);
      EXPECT_THROW(ps.step<float>(other_pre, host_span<const std::uint8_t>(pre40), host_span<float>(gp4)),
                   invalid_argument);
    }
#endif
    std::vector<float> gp(4), wrong_pre(7);
#if !BIONMDA_TEST_CUDA
    EXPECT_THROW(ps.compute<float>(syn, host_span<float>(gp)), invalid_argument);
    std::vector<std::uint8_t> pre(20, 0), short_pre(19, 0);
    EXPECT_THROW(ps.step<float>(syn, host_span<const std::uint8_t>(short_pre), host_span<float>(gp)),
                 invalid_argument);
    EXPECT_NO_THROW(ps.step<float>(syn, host_span<const std::uint8_t>(pre), host_span<float>(gp)));
    EXPECT_EQ(syn.step_count(), 1);
#endif
  }

  postsynaptic_map map(pop, ok());
#if !BIONMDA_TEST_CUDA
  {
    std::vector<std::uint8_t> pre(20, 0);
    std::vector<float> gp(4);
    EXPECT_THROW(map.step<float>(pop, host_span<const std::uint8_t>(pre), host_span<float>(gp)), invalid_argument);
  }
#endif
  std::vector<double> wrong_precision(4);
  std::vector<float> short_out(3), out(4), v(4), i(3);
#if BIONMDA_TEST_CUDA
  EXPECT_THROW(map.compute<float>(pop, host_span<float>(out)), invalid_argument);  // host spans on CUDA
#else
  EXPECT_THROW(map.compute<double>(pop, host_span<double>(wrong_precision)), invalid_argument);
  EXPECT_THROW(map.compute<float>(pop, host_span<float>(short_out)), invalid_argument);
  EXPECT_THROW(map.compute<float>(pop, host_span<float>(out), host_span<const float>(v), host_span<float>(i)),
               invalid_argument);
  EXPECT_THROW(map.compute_async<float>(pop, device_span<float>(out.data(), 4), {}, {}), invalid_argument);
  population other(cfg);
  cfg.units = 11;
  population different(cfg);
  EXPECT_THROW(map.compute<float>(different, host_span<float>(out)), invalid_argument);
  EXPECT_NO_THROW(map.compute<float>(other, host_span<float>(out)));
#endif
}

#if BIONMDA_TEST_CUDA
// Update, per-post sum and current for 100 steps captured into one CUDA graph
// and replayed must equal plain stepping bit for bit; two plain runs must too.
TEST(PostSumGraph, GraphReplayEqualsPlainSteppingBitForBit) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  std::mt19937_64 rng(8);
  const std::int64_t n_pre = 4099, batch = 2, n_post = 1001, steps = 100;
  population_config cfg;
  cfg.units = n_pre;
  cfg.batch = batch;
  cfg.backend = backend::cuda;
  cfg.params = test::random_parameters(rng, n_pre, 0.1);
  cfg.g0 = initial_value::uniform(0, 0.5, 3);
  const csr_connectivity conn = random_csr(rng, n_post, n_pre, 200);
  const std::int64_t e = n_pre * batch, p = n_post * batch;
  std::uint8_t* d_masks = nullptr;
  float *d_v = nullptr, *out = nullptr;
  ASSERT_EQ(cudaMalloc(&d_masks, static_cast<std::size_t>(e * steps)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_v, p * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&out, 6 * p * sizeof(float)), cudaSuccess);
  for (std::int64_t s = 0; s < steps; ++s) {
    const auto m = test::random_mask(rng, e, 0.05);
    ASSERT_EQ(cudaMemcpy(d_masks + s * e, m.data(), m.size(), cudaMemcpyHostToDevice), cudaSuccess);
  }
  std::vector<float> v(static_cast<std::size_t>(p));
  for (auto& a : v) a = static_cast<float>(test::random_values(rng, 1, -80, 0)[0]);
  ASSERT_EQ(cudaMemcpy(d_v, v.data(), p * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);

  auto enqueue = [&](population& pop, postsynaptic_map& map, float* gp, float* cur) {
    for (std::int64_t s = 0; s < steps; ++s) {
      pop.step_async(dense_mask(device_span<const std::uint8_t>(d_masks + s * e, e)), stream);
      map.compute_async<float>(pop, device_span<float>(gp, p), device_span<const float>(d_v, p),
                               device_span<float>(cur, p), stream);
    }
  };
  population plain1(cfg), plain2(cfg), graphed(cfg);
  postsynaptic_map m1(plain1, conn), m2(plain2, conn), m3(graphed, conn);
  enqueue(plain1, m1, out, out + p);
  enqueue(plain2, m2, out + 2 * p, out + 3 * p);
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  enqueue(graphed, m3, out + 4 * p, out + 5 * p);
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);

  std::vector<float> all(static_cast<std::size_t>(6 * p));
  ASSERT_EQ(cudaMemcpy(all.data(), out, all.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  auto slice = [&](int k) { return std::vector<float>(all.begin() + k * p, all.begin() + (k + 1) * p); };
  EXPECT_EQ(slice(0), slice(2)) << "two plain runs: g_post must be identical (no atomics)";
  EXPECT_EQ(slice(1), slice(3));
  EXPECT_EQ(slice(0), slice(4)) << "graph replay: g_post";
  EXPECT_EQ(slice(1), slice(5)) << "graph replay: I";
  EXPECT_EQ(plain1.g(stream), graphed.g(stream));
  EXPECT_EQ(plain1.x(stream), graphed.x(stream));
  double gmax_post = 0;
  for (float a : slice(0)) gmax_post = std::max(gmax_post, static_cast<double>(a));
  EXPECT_GT(gmax_post, 0.1) << "the check is not on all-zero data";
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
  cudaFree(d_masks);
  cudaFree(d_v);
  cudaFree(out);
}
#endif

}  // namespace
