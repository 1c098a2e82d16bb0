// The network layer without MPI: partitions, the one-process exchange, one
// rank's projection against the whole network's population and map (bit for
// bit), the window schedule's delays, and network checkpoints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bionmda/bionmda.hpp"
#include "support/test_support.hpp"

namespace {

using namespace bionmda;
namespace fs = std::filesystem;

#define EXPECT_THROW_WITH(stmt, type, text)                                           \
  do {                                                                                \
    try {                                                                             \
      stmt;                                                                           \
      ADD_FAILURE() << "no exception from " #stmt;                                    \
    } catch (const type& e) {                                                         \
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();     \
    }                                                                                 \
  } while (0)

// --- partition -----------------------------------------------------------------

TEST(Partition, BlockAndRoundRobinOwnEveryNeuronOnce) {
  for (const std::int64_t n : {0, 1, 2, 7, 100, 1001}) {
    for (const int R : {1, 2, 3, 4, 7, 16}) {
      for (const auto& p : {partition::block(n, R), partition::round_robin(n, R)}) {
        SCOPED_TRACE(std::string(p.kind()) + " n=" + std::to_string(n) + " R=" + std::to_string(R));
        std::vector<int> seen(static_cast<std::size_t>(n), -1);
        std::int64_t smallest = n, largest = 0;
        for (int r = 0; r < R; ++r) {
          const auto local = p.local(r);
          smallest = std::min<std::int64_t>(smallest, static_cast<std::int64_t>(local.size()));
          largest = std::max<std::int64_t>(largest, static_cast<std::int64_t>(local.size()));
          ASSERT_TRUE(std::is_sorted(local.begin(), local.end()));
          for (const std::int64_t j : local) {
            ASSERT_EQ(seen[static_cast<std::size_t>(j)], -1) << "neuron " << j << " twice";
            seen[static_cast<std::size_t>(j)] = r;
            ASSERT_EQ(p.owner(j), r) << "neuron " << j;
          }
        }
        EXPECT_EQ(std::count(seen.begin(), seen.end(), -1), 0);
        EXPECT_LE(largest - smallest, 1) << "balanced";
      }
    }
  }
}

TEST(Partition, ListsAreCheckedNamingTheNeuron) {
  const auto p = partition::from_lists(5, {{4, 0}, {2, 1, 3}});
  EXPECT_EQ(p.owner(0), 0);
  EXPECT_EQ(p.owner(3), 1);
  EXPECT_EQ(p.local(0), (std::vector<std::int64_t>{0, 4}));
  EXPECT_THROW_WITH((void)partition::from_lists(5, {{4, 0}, {2, 1}}), invalid_argument, "neuron 3 is owned by no rank");
  EXPECT_THROW_WITH((void)partition::from_lists(5, {{4, 0, 2}, {2, 1, 3}}), invalid_argument,
                    "neuron 2 is owned twice: by rank 0 and rank 1");
  EXPECT_THROW_WITH((void)partition::from_lists(5, {{4, 0, 0}, {2, 1, 3}}), invalid_argument, "by rank 0 twice");
  EXPECT_THROW_WITH((void)partition::from_lists(5, {{4, 0, 5}, {2, 1, 3}}), invalid_argument,
                    "rank 0 lists neuron 5, outside [0, 5)");
  EXPECT_THROW_WITH((void)partition::from_lists(5, {{-1}}), invalid_argument, "neuron -1");
  EXPECT_THROW_WITH((void)partition::from_lists(5, {}), invalid_argument, "ranks = 0");
  EXPECT_THROW_WITH((void)partition::block(10, 0), invalid_argument, "ranks = 0");
  EXPECT_THROW_WITH((void)partition::block(-1, 2), invalid_argument, "neurons = -1");
  EXPECT_THROW_WITH((void)partition::block(10, 2).owner(10), invalid_argument, "neuron 10");
  EXPECT_THROW_WITH((void)partition::block(10, 2).local(2), invalid_argument, "rank 2");
  // Digests tell partitions apart.
  EXPECT_EQ(partition::block(10, 2).digest(), partition::block(10, 2).digest());
  EXPECT_NE(partition::block(10, 2).digest(), partition::round_robin(10, 2).digest());
  EXPECT_NE(partition::block(10, 2).digest(), partition::block(11, 2).digest());
  EXPECT_NE(partition::from_lists(3, {{0, 1}, {2}}).digest(), partition::from_lists(3, {{0}, {1, 2}}).digest());
}

// n / R blocks of a network of up to 2^40 neurons over up to 2^31 ranks: r * n
// alone would overflow 64 bits.
TEST(Partition, BlockOfAHugeNetworkOverManyRanksDoesNotOverflow) {
  const std::int64_t n = max_spike_neurons - 1;
  const int R = 1 << 30;
  const auto p = partition::block(n, R);
  const std::int64_t q = n / R;
  EXPECT_EQ(p.owner(0), 0);
  EXPECT_EQ(p.owner(n - 1), R - 1);
  for (const int r : {0, 1, 12345, R / 2 - 1, R / 2, R - 2}) {
    SCOPED_TRACE("rank " + std::to_string(r));
    const auto a = p.local(r), b = p.local(r + 1);
    ASSERT_TRUE(a.size() == static_cast<std::size_t>(q) || a.size() == static_cast<std::size_t>(q + 1)) << a.size();
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(a.back() + 1, b.front()) << "blocks are contiguous";
    EXPECT_EQ(p.owner(a.front()), r);
    EXPECT_EQ(p.owner(a.back()), r);
    EXPECT_EQ(p.owner(b.front()), r + 1);
  }
  EXPECT_EQ(p.local(R - 1).back(), n - 1);
}

// --- spike words and the local exchange ------------------------------------------

TEST(SpikeWords, PackStepAndNeuronInOrder) {
  const spike_word a = make_spike(3, max_spike_neurons - 1), b = make_spike(4, 0);
  EXPECT_EQ(spike_step(a), 3);
  EXPECT_EQ(spike_neuron(a), max_spike_neurons - 1);
  EXPECT_LT(a, b);
  EXPECT_LT(make_spike(4, 1), make_spike(4, 2));
}

TEST(LocalExchange, ReturnsItsSpikesAndRefusesBadOnes) {
  local_exchange ex(100, 10);
  std::vector<spike_word> in{make_spike(0, 5), make_spike(0, 7), make_spike(9, 99)}, out{make_spike(1, 1)};
  ex.start(in);
  EXPECT_TRUE(ex.in_flight());
  EXPECT_THROW_WITH(ex.start(in), error, "not finished");
  ex.finish(out);
  EXPECT_EQ(out, in);
  EXPECT_EQ(ex.stats().windows, 1);
  EXPECT_EQ(ex.stats().spikes_sent, 3);
  EXPECT_THROW_WITH(ex.finish(out), error, "no exchange in flight");
  const std::vector<spike_word> late{make_spike(10, 1)}, far{make_spike(0, 100)},
      unsorted{make_spike(1, 2), make_spike(1, 1)}, twice{make_spike(1, 2), make_spike(1, 2)};
  EXPECT_THROW_WITH(ex.start(late), invalid_argument, "step outside the window of 10 steps");
  EXPECT_THROW_WITH(ex.start(far), invalid_argument, "neuron outside the network's 100");
  EXPECT_THROW_WITH(ex.start(unsorted), invalid_argument, "sorted");
  EXPECT_THROW_WITH(ex.start(twice), invalid_argument, "each once");
  EXPECT_FALSE(ex.in_flight()) << "a refused start sends nothing";
  EXPECT_THROW_WITH(local_exchange(100, 0), invalid_argument, "window_steps = 0");
}

// --- projection against the whole network -----------------------------------------

struct whole_network {
  std::int64_t n_pre = 0, n_post = 0;
  csr_connectivity conn;
};

whole_network random_network(std::mt19937_64& rng, std::int64_t n_pre, std::int64_t n_post, double p) {
  whole_network w;
  w.n_pre = n_pre;
  w.n_post = n_post;
  w.conn.n_post = n_post;
  w.conn.row_offsets.push_back(0);
  std::bernoulli_distribution connect(p);
  std::uniform_real_distribution<double> weight(0.1, 2.0);
  for (std::int64_t j = 0; j < n_post; ++j) {
    for (std::int64_t i = 0; i < n_pre; ++i) {
      if (connect(rng)) {
        w.conn.source.push_back(static_cast<std::int32_t>(i));
        w.conn.gmax.push_back(weight(rng));
      }
    }
    w.conn.row_offsets.push_back(static_cast<std::int64_t>(w.conn.source.size()));
  }
  return w;
}

csr_connectivity rows_of(const csr_connectivity& all, const std::vector<std::int64_t>& posts) {
  csr_connectivity r;
  r.n_post = static_cast<std::int64_t>(posts.size());
  r.row_offsets.push_back(0);
  for (const std::int64_t j : posts) {
    for (std::int64_t k = all.row_offsets[static_cast<std::size_t>(j)]; k < all.row_offsets[static_cast<std::size_t>(j) + 1]; ++k) {
      r.source.push_back(all.source[static_cast<std::size_t>(k)]);
      r.gmax.push_back(all.gmax[static_cast<std::size_t>(k)]);
    }
    r.row_offsets.push_back(static_cast<std::int64_t>(r.source.size()));
  }
  return r;
}

// g_post of every post neuron after each of `steps` steps of the whole network,
// one step at a time (population::step + postsynaptic_map::compute).
template <class Real>
std::vector<Real> whole_network_g_post(const whole_network& w, const std::vector<std::vector<std::uint8_t>>& masks,
                                       precision prec) {
  population_config cfg;
  cfg.units = w.n_pre;
  cfg.precision = prec;
  cfg.backend = test::backend_under_test();
  population pop(cfg);
  const postsynaptic_map map(pop, w.conn);
  std::vector<Real> out, g(static_cast<std::size_t>(w.n_post));
  buffer<Real> d_g;
  buffer<std::uint8_t> d_mask;
  if (pop.backend() == backend::cuda) {
    d_g = pop.make_buffer<Real>(w.n_post, "g_post");
    d_mask = pop.make_buffer<std::uint8_t>(w.n_pre, "mask");
  }
  for (const auto& m : masks) {
    if (pop.backend() == backend::cuda) {
      d_mask.copy_from(host_span<const std::uint8_t>(m));
      pop.step(dense_mask(device_span<const std::uint8_t>(d_mask.device_view().data, w.n_pre)));
      map.compute_async<Real>(pop, d_g.device_view(), device_span<const Real>{}, device_span<Real>{});
      d_g.copy_to(host_span<Real>(g));
    } else {
      pop.step(dense_mask(host_span<const std::uint8_t>(m)));
      map.compute<Real>(pop, host_span<Real>(g));
    }
    out.insert(out.end(), g.begin(), g.end());
  }
  return out;
}

// The same, the whole network in per-synapse mode (one unit per synapse,
// postsynaptic_map::per_synapse stepping and summing in one pass).
template <class Real>
std::vector<Real> whole_network_g_post_per_synapse(const whole_network& w,
                                                   const std::vector<std::vector<std::uint8_t>>& masks, precision prec) {
  population_config cfg;
  cfg.units = static_cast<std::int64_t>(w.conn.source.size());
  cfg.precision = prec;
  cfg.backend = test::backend_under_test();
  population pop(cfg);
  const postsynaptic_map map = postsynaptic_map::per_synapse(pop, w.conn, w.n_pre);
  std::vector<Real> out, g(static_cast<std::size_t>(w.n_post));
  buffer<Real> d_g;
  buffer<std::uint8_t> d_mask;
  if (pop.backend() == backend::cuda) {
    d_g = pop.make_buffer<Real>(w.n_post, "g_post");
    d_mask = pop.make_buffer<std::uint8_t>(w.n_pre, "mask");
  }
  for (const auto& m : masks) {
    if (pop.backend() == backend::cuda) {
      d_mask.copy_from(host_span<const std::uint8_t>(m));
      map.step_async<Real>(pop, device_span<const std::uint8_t>(d_mask.device_view().data, w.n_pre),
                           d_g.device_view(), device_span<const Real>{}, device_span<Real>{});
      d_g.copy_to(host_span<Real>(g));
    } else {
      map.step<Real>(pop, host_span<const std::uint8_t>(m), host_span<Real>(g));
    }
    out.insert(out.end(), g.begin(), g.end());
  }
  return out;
}

template <class Real>
void check_projection_against_whole_network(synapse_mode mode) {
  std::mt19937_64 rng(11);
  const whole_network w = random_network(rng, 300, 90, 0.08);
  const std::int64_t K = 7, windows = 9;
  const precision prec = std::is_same_v<Real, float> ? precision::float32 : precision::float64;
  // Presynaptic spikes of every step, plus spikes of neurons past n_pre
  // (e.g. inhibitory ones), which the projection must ignore.
  std::vector<std::vector<std::uint8_t>> masks;
  std::vector<std::vector<spike_word>> arriving(static_cast<std::size_t>(windows));
  for (std::int64_t s = 0; s < K * windows; ++s) {
    masks.push_back(test::random_mask(rng, w.n_pre, 0.06));
    auto& in = arriving[static_cast<std::size_t>(s / K)];
    for (std::int64_t i = 0; i < w.n_pre; ++i) {
      if (masks.back()[static_cast<std::size_t>(i)]) in.push_back(make_spike(s % K, i));
    }
    in.push_back(make_spike(s % K, w.n_pre + s % 5));
  }
  // The reference: the whole network in the same mode, one process, one
  // step at a time. On the CPU the two modes also agree bit for bit (checked
  // below); on the GPU the per-synapse sums add in a warp's order of their own.
  const std::vector<Real> whole = mode == synapse_mode::per_synapse
                                      ? whole_network_g_post_per_synapse<Real>(w, masks, prec)
                                      : whole_network_g_post<Real>(w, masks, prec);
  if (test::backend_under_test() == backend::cpu && mode == synapse_mode::per_synapse) {
    EXPECT_TRUE(whole == whole_network_g_post<Real>(w, masks, prec)) << "CPU per-synapse and per-presynaptic g_post differ";
  }
  // Three ranks' worth of rows: round robin, so no rank's rows are contiguous.
  const auto owners = partition::round_robin(w.n_post, 3);
  for (int rank = 0; rank < 3; ++rank) {
    SCOPED_TRACE("rank " + std::to_string(rank) + ", " + to_string(mode));
    const auto posts = owners.local(rank);
    projection_config pc;
    pc.synapses.precision = prec;
    pc.synapses.backend = test::backend_under_test();
    pc.mode = mode;
    pc.max_window_steps = K;
    projection proj(rows_of(w.conn, posts), w.n_pre, pc);
    // The sources are exactly the distinct presynaptic neurons of its rows.
    std::set<std::int64_t> expect_sources;
    for (const std::int64_t j : posts) {
      for (std::int64_t k = w.conn.row_offsets[static_cast<std::size_t>(j)]; k < w.conn.row_offsets[static_cast<std::size_t>(j) + 1]; ++k) {
        expect_sources.insert(w.conn.source[static_cast<std::size_t>(k)]);
      }
    }
    EXPECT_EQ(proj.sources(), std::vector<std::int64_t>(expect_sources.begin(), expect_sources.end()));
    EXPECT_EQ(proj.units().units(), mode == synapse_mode::per_synapse ? proj.synapses()
                                                                      : static_cast<std::int64_t>(expect_sources.size()));
    std::vector<Real> g(static_cast<std::size_t>(K) * posts.size());
    for (std::int64_t win = 0; win < windows; ++win) {
      proj.step_window<Real>(K, arriving[static_cast<std::size_t>(win)], host_span<Real>(g));
      for (std::int64_t k = 0; k < K; ++k) {
        for (std::size_t i = 0; i < posts.size(); ++i) {
          const Real want = whole[static_cast<std::size_t>((win * K + k) * w.n_post + posts[i])];
          const Real got = g[static_cast<std::size_t>(k) * posts.size() + i];
          ASSERT_EQ(got, want) << "window " << win << " step " << k << " post " << posts[i];
        }
      }
    }
    EXPECT_EQ(proj.units().step_count(), K * windows);
  }
}

TEST(Projection, PerPresynapticEqualsTheWholeNetworkBitForBit) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  check_projection_against_whole_network<float>(synapse_mode::per_presynaptic);
  check_projection_against_whole_network<double>(synapse_mode::per_presynaptic);
}

TEST(Projection, PerSynapseEqualsTheWholeNetworkBitForBit) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  check_projection_against_whole_network<float>(synapse_mode::per_synapse);
  check_projection_against_whole_network<double>(synapse_mode::per_synapse);
}

TEST(Projection, RefusesBadRowsAndBadWindows) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  projection_config pc;
  pc.synapses.backend = test::backend_under_test();
  pc.max_window_steps = 4;
  csr_connectivity ok;
  ok.n_post = 2;
  ok.row_offsets = {0, 2, 3};
  ok.source = {5, 9, 5};
  ok.gmax = {1.0, 1.0, 0.5};
  auto bad = [&](auto edit, const char* text) {
    csr_connectivity c = ok;
    std::int64_t n_pre = 10;
    edit(c, n_pre);
    EXPECT_THROW_WITH(projection(c, n_pre, pc), invalid_argument, text);
  };
  bad([](csr_connectivity& c, std::int64_t&) { c.source[1] = 10; }, "rows.source[1] = 10 outside [0, n_pre = 10)");
  bad([](csr_connectivity& c, std::int64_t&) { c.source[0] = -1; }, "rows.source[0] = -1");
  bad([](csr_connectivity& c, std::int64_t&) { c.row_offsets = {0, 3, 2}; }, "rows.row_offsets");
  bad([](csr_connectivity& c, std::int64_t&) { c.row_offsets = {0, 3}; }, "needs n_post + 1 = 3");
  bad([](csr_connectivity& c, std::int64_t&) { c.gmax.pop_back(); }, "rows.gmax has 2 entries");
  bad([](csr_connectivity&, std::int64_t& n) { n = -1; }, "n_pre = -1");
  bad([](csr_connectivity& c, std::int64_t&) { c.gmax[2] = std::nan(""); }, "gmax");
  pc.max_window_steps = 0;
  EXPECT_THROW_WITH(projection(ok, 10, pc), invalid_argument, "max_window_steps = 0");
  pc.max_window_steps = 4;
  projection proj(ok, 10, pc);
  EXPECT_EQ(proj.sources(), (std::vector<std::int64_t>{5, 9}));
  std::vector<float> g(8);
  std::vector<double> g64(8);
  const std::vector<spike_word> fine{make_spike(0, 5), make_spike(3, 9)}, late{make_spike(4, 5)},
      unsorted{make_spike(2, 5), make_spike(1, 9)};
  EXPECT_THROW_WITH(proj.step_window<float>(5, fine, host_span<float>(g)), invalid_argument, "steps = 5");
  EXPECT_THROW_WITH(proj.step_window<float>(0, fine, host_span<float>(g)), invalid_argument, "steps = 0");
  EXPECT_THROW_WITH(proj.step_window<float>(4, late, host_span<float>(g)), invalid_argument, "step outside the window");
  EXPECT_THROW_WITH(proj.step_window<float>(4, unsorted, host_span<float>(g)), invalid_argument, "sorted");
  EXPECT_THROW_WITH(proj.step_window<float>(4, fine, host_span<float>(g.data(), 7)), invalid_argument,
                    "needs steps * n_post = 8");
  EXPECT_THROW_WITH(proj.step_window<double>(4, fine, host_span<double>(g64)), invalid_argument, "float64");
  EXPECT_EQ(proj.units().step_count(), 0) << "refused windows change nothing";
  proj.step_window<float>(4, fine, host_span<float>(g));
  EXPECT_EQ(proj.units().step_count(), 4);
  EXPECT_GT(g[0], 0.0f);  // row 0 holds neuron 5, which spiked at step 0
}

// A rank whose rows have no synapse (e.g. inhibitory inputs only, or a
// per-synapse rank with no sources), or no rows at all (more ranks than
// neurons), steps its windows like any other.
TEST(Projection, RanksWithoutSynapsesOrWithoutRowsStepToo) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  for (const synapse_mode mode : {synapse_mode::per_presynaptic, synapse_mode::per_synapse}) {
    SCOPED_TRACE(to_string(mode));
    projection_config pc;
    pc.synapses.backend = test::backend_under_test();
    pc.mode = mode;
    pc.max_window_steps = 4;
    const std::vector<spike_word> in{make_spike(0, 1), make_spike(2, 7)};
    csr_connectivity no_synapses;
    no_synapses.n_post = 3;
    no_synapses.row_offsets = {0, 0, 0, 0};
    projection a(no_synapses, 10, pc);
    EXPECT_TRUE(a.sources().empty());
    EXPECT_EQ(a.units().units(), 0);
    std::vector<float> g(12, -1.0f);
    a.step_window<float>(4, in, host_span<float>(g));
    a.step_window<float>(3, {}, host_span<float>(g));
    EXPECT_EQ(g, std::vector<float>(12, 0.0f)) << "rows without synapses have g_post 0";
    csr_connectivity no_rows;
    no_rows.n_post = 0;
    no_rows.row_offsets = {0};
    projection b(no_rows, 10, pc);
    EXPECT_EQ(b.n_post(), 0);
    b.step_window<float>(4, in, host_span<float>());
  }
}

// --- the window schedule --------------------------------------------------------

TEST(WindowLoop, SpikesArriveOneDelayLaterAtTheirStep) {
  for (const std::int64_t K : {1, 2, 3, 6}) {
    SCOPED_TRACE("K = " + std::to_string(K));
    const std::int64_t D = 6, steps = 40;  // the last window is short unless K divides 40
    local_exchange ex(1000, K);
    window_loop loop(ex, {D, K});
    EXPECT_EQ(loop.overlapped(), D / K >= 2);
    std::vector<std::pair<std::int64_t, std::int64_t>> got;  // (absolute step, neuron)
    while (loop.step() < steps) {
      const std::int64_t s0 = loop.step(), Kw = std::min(K, steps - s0);
      for (const spike_word w : loop.begin_window(Kw)) got.emplace_back(s0 + spike_step(w), spike_neuron(w));
      // Neuron (s % 7) spikes at every step s, and neuron 500 + s at steps divisible by 5.
      std::vector<spike_word> mine;
      for (std::int64_t k = 0; k < Kw; ++k) {
        mine.push_back(make_spike(k, (s0 + k) % 7));
        if ((s0 + k) % 5 == 0) mine.push_back(make_spike(k, 500 + s0 + k));
      }
      loop.end_window(mine);
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> want;
    for (std::int64_t s = D; s < steps; ++s) {
      want.emplace_back(s, (s - D) % 7);
      if ((s - D) % 5 == 0) want.emplace_back(s, 500 + s - D);
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
  }
}

TEST(WindowLoop, RefusesBadSchedules) {
  local_exchange ex(10, 4);
  EXPECT_THROW_WITH(window_loop(ex, {6, 4}), invalid_argument, "must divide delay_steps = 6");
  EXPECT_THROW_WITH(window_loop(ex, {0, 0}), invalid_argument, "delay_steps = 0");
  window_loop loop(ex, {8, 4});
  EXPECT_THROW_WITH(loop.end_window({}), error, "no window is open");
  EXPECT_THROW_WITH((void)loop.begin_window(5), invalid_argument, "steps = 5");
  (void)loop.begin_window(4);
  EXPECT_THROW_WITH((void)loop.begin_window(4), error, "a window is open");
  const std::vector<spike_word> late{make_spike(4, 1)};
  EXPECT_THROW_WITH(loop.end_window(late), invalid_argument, "outside the window's 4 steps");
  loop.end_window({});
  (void)loop.begin_window(2);
  loop.end_window({});
  EXPECT_THROW_WITH((void)loop.begin_window(4), invalid_argument, "had to be the last");
}

// --- network checkpoints (one process) --------------------------------------------

struct tiny_run {
  local_exchange ex{400, 5};
  window_loop loop{ex, {10, 5}};
  projection proj;
  explicit tiny_run(const csr_connectivity& rows)
      : proj(rows, 400, [] {
          projection_config pc;
          pc.synapses.backend = test::backend_under_test();
          pc.max_window_steps = 5;
          return pc;
        }()) {}
  // One window; the "neurons" spike deterministically from g_post's bits.
  std::vector<float> window() {
    std::vector<float> g(5 * static_cast<std::size_t>(proj.n_post()));
    const auto& in = loop.begin_window(5);
    proj.step_window<float>(5, in, host_span<float>(g));
    std::vector<spike_word> mine;
    for (std::int64_t k = 0; k < 5; ++k) {
      for (std::int64_t j = (loop.step() + k) % 11; j < 400; j += 37) mine.push_back(make_spike(k, j));
    }
    loop.end_window(mine);
    return g;
  }
};

TEST(NetworkCheckpoint, SaveRestoreContinuesBitForBitAndRefusesBadFiles) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  std::mt19937_64 rng(5);
  const whole_network w = random_network(rng, 400, 40, 0.1);
  const fs::path dir = fs::temp_directory_path() / ("bionmda_netckpt_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  network_manifest m;
  m.neurons = 400;
  m.delay_steps = 10;
  m.window_steps = 5;
  m.partition_digest = partition::block(400, 1).digest();

  tiny_run a(w.conn);
  for (int i = 0; i < 7; ++i) (void)a.window();
  m.step = a.loop.step();
  const std::vector<std::uint8_t> user{1, 2, 3, 250};
  save_rank_checkpoint(dir.string(), 0, m, a.loop, a.proj, user);
  write_network_manifest(dir.string(), m);
  std::vector<std::vector<float>> expect;
  for (int i = 0; i < 5; ++i) expect.push_back(a.window());

  tiny_run b(w.conn);
  const network_manifest saved = read_network_manifest(dir.string());
  EXPECT_EQ(saved.step, 35);
  EXPECT_EQ(saved.partition_digest, m.partition_digest);
  EXPECT_EQ(restore_rank_checkpoint(dir.string(), 0, saved, b.loop, b.proj), user);
  EXPECT_EQ(b.loop.step(), 35);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.window(), expect[static_cast<std::size_t>(i)]) << "window " << i;

  // What does not match this run is named; nothing changes.
  tiny_run c(w.conn);
  network_manifest other = saved;
  other.window_steps = 10;
  EXPECT_THROW_WITH(check_network_manifest(saved, other, "here"), invalid_argument, "window_steps 5");
  other = saved;
  other.partition_digest ^= 1;
  EXPECT_THROW_WITH((void)restore_rank_checkpoint(dir.string(), 0, other, c.loop, c.proj), invalid_argument,
                    "another partition");
  EXPECT_THROW_WITH((void)restore_rank_checkpoint(dir.string(), 1, saved, c.loop, c.proj), error, "rank-1.state");
  // A flipped byte: the checksum names the file.
  const fs::path state = dir / "rank-0.state";
  std::string bytes;
  {
    std::ifstream f(state, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  const std::string good_state = bytes;
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x40);
  std::ofstream(state, std::ios::binary) << bytes;
  EXPECT_THROW_WITH((void)restore_rank_checkpoint(dir.string(), 0, saved, c.loop, c.proj), error, "checksum");
  std::ofstream(state, std::ios::binary) << bytes.substr(0, 5);
  EXPECT_THROW_WITH((void)restore_rank_checkpoint(dir.string(), 0, saved, c.loop, c.proj), error, "rank-0.state");
  EXPECT_EQ(c.loop.step(), 0);
  EXPECT_EQ(c.proj.units().step_count(), 0);
  // A loop with a window open cannot take the schedule: refused before the units change.
  std::ofstream(state, std::ios::binary) << good_state;
  tiny_run d(w.conn);
  (void)d.loop.begin_window(5);
  EXPECT_THROW_WITH((void)restore_rank_checkpoint(dir.string(), 0, saved, d.loop, d.proj), error, "a window is open");
  EXPECT_EQ(d.proj.units().step_count(), 0) << "the units were restored before the schedule was refused";
  EXPECT_THROW_WITH(check_rank_checkpoint(dir.string(), 0, saved, d.loop, d.proj), error, "a window is open");
  d.loop.end_window({});
  d.loop.drain();
  check_rank_checkpoint(dir.string(), 0, saved, d.loop, d.proj);
  EXPECT_EQ(d.loop.step(), 5) << "a check changes nothing";
  EXPECT_EQ(d.proj.units().step_count(), 0) << "a check changes nothing";
  {
    network_manifest bad = saved;
    bad.window_steps = 3;  // does not divide the delay of 10
    write_network_manifest(dir.string(), bad);
    EXPECT_THROW_WITH((void)read_network_manifest(dir.string()), error, "out of range");
  }
  EXPECT_THROW_WITH(save_rank_checkpoint(dir.string(), 0, m, c.loop, c.proj, host_span<const std::uint8_t>(nullptr, -1)),
                    invalid_argument, "size -1");
  std::ofstream(dir / "manifest.json") << "{\"format\": \"something else\"}\n";
  EXPECT_THROW_WITH((void)read_network_manifest(dir.string()), error, "manifest.json");
  fs::remove(dir / "manifest.json");
  EXPECT_THROW_WITH((void)read_network_manifest(dir.string()), error, "no complete checkpoint");
  fs::remove_all(dir);
}

}  // namespace
