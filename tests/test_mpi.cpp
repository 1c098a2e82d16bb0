// bionmda::mpi under mpiexec (any number of ranks; ctest runs 1, 2 and 3):
// collective checks, partitions gathered from every rank, both spike
// exchanges against the spikes every rank can compute for itself, refusals
// that reach every rank, and collective checkpoints.
//
// Every test is collective: all ranks run the same tests in the same order.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "bionmda/mpi.hpp"

namespace {

using namespace bionmda;
namespace fs = std::filesystem;

// The error every rank must raise: the type, and a text in its message.
template <class Exception, class F>
void expect_raised_everywhere(F&& f, const std::string& text) {
  std::string what;
  bool typed = false;
  try {
    f();
  } catch (const Exception& e) {
    typed = true;
    what = e.what();
  } catch (const std::exception& e) {
    what = std::string("wrong type: ") + e.what();
  }
  EXPECT_TRUE(typed) << what;
  EXPECT_NE(what.find(text), std::string::npos) << what;
}

std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t z = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^ c;
  z = (z ^ (z >> 31)) * 0x94d049bb133111ebull;
  return z ^ (z >> 29);
}

// Neuron j spikes at step k of window w (a pure function: every rank knows every rank's spikes).
bool spikes(std::int64_t j, std::int64_t w, std::int64_t k) { return mix(static_cast<std::uint64_t>(j), static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(k)) % 11 == 0; }

std::vector<spike_word> emitted(const std::vector<std::int64_t>& neurons, std::int64_t w, std::int64_t K) {
  std::vector<spike_word> out;
  for (std::int64_t k = 0; k < K; ++k) {
    for (const std::int64_t j : neurons) {
      if (spikes(j, w, k)) out.push_back(make_spike(k, j));
    }
  }
  return out;
}

TEST(Communicator, KnowsItsRanksAndChecksAgreement) {
  const mpi::communicator comm;
  int world_rank = 0, world_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  EXPECT_EQ(comm.rank(), world_rank);
  EXPECT_EQ(comm.size(), world_size);
  EXPECT_NE(comm.get(), MPI_COMM_WORLD) << "bionmda works on a duplicate";
  EXPECT_GE(comm.node_rank(), 0);
  EXPECT_LT(comm.node_rank(), comm.node_size());
  comm.check_same("a number", 42);
  if (comm.size() > 1) {
    expect_raised_everywhere<invalid_argument>([&] { comm.check_same("the delay", comm.rank() == 1 ? 20 : 10); },
                                               "the ranks disagree on the delay: rank 0 has 10, rank 1 has 20");
    expect_raised_everywhere<invalid_argument>([&] { comm.check_same_digest("a digest", comm.rank() == 0 ? 1 : 2); },
                                               "rank 1 has 0000000000000002");
    // One rank's failure reaches every rank, with its message.
    expect_raised_everywhere<invalid_argument>(
        [&] {
          comm.all_or_none([&] {
            if (comm.rank() == comm.size() - 1) throw invalid_argument("the last rank's file is bad");
          });
        },
        "the last rank's file is bad");
    // The lowest failing rank speaks for all: it rethrows its own exception,
    // the others raise bionmda::error (a std::runtime_error) with its message.
    expect_raised_everywhere<std::runtime_error>(
        [&] {
          comm.all_or_none([&] {
            if (comm.rank() >= 1) throw std::runtime_error("rank-specific trouble " + std::to_string(comm.rank()));
          });
        },
        "rank-specific trouble 1");
  }
  comm.all_or_none([] {});  // success everywhere: nothing thrown
  EXPECT_EQ(mpi::device_for_rank(comm) < 0, cuda_devices().empty());
}

TEST(GatherPartition, OwnsEveryNeuronOnceOrRaisesEverywhere) {
  const mpi::communicator comm;
  const int R = comm.size(), me = comm.rank();
  const std::int64_t n = 101;
  std::vector<std::int64_t> mine;
  for (std::int64_t j = n - 1; j >= 0; --j) {
    if (j % R == me) mine.push_back(j);  // any order
  }
  const partition p = mpi::gather_partition(comm, n, mine);
  for (std::int64_t j = 0; j < n; ++j) ASSERT_EQ(p.owner(j), static_cast<int>(j % R));
  EXPECT_EQ(p.digest(), mpi::gather_partition(comm, n, mine).digest());
  // Rank 0 loses neuron 0 ...
  std::vector<std::int64_t> lost = mine;
  if (me == 0) lost.erase(std::find(lost.begin(), lost.end(), 0));
  expect_raised_everywhere<invalid_argument>([&] { (void)mpi::gather_partition(comm, n, lost); },
                                             "neuron 0 is owned by no rank");
  // ... or the last rank claims it too.
  std::vector<std::int64_t> twice = mine;
  if (R == 1) {
    *std::find(twice.begin(), twice.end(), 1) = 0;  // neuron 1 lost, neuron 0 listed twice
  } else if (me == R - 1) {
    twice.push_back(0);
  }
  expect_raised_everywhere<invalid_argument>([&] { (void)mpi::gather_partition(comm, n, twice); },
                                             R > 1 ? "neuron 0 is owned twice: by rank 0 and rank " : "by rank 0 twice");
  if (R > 1) {
    expect_raised_everywhere<invalid_argument>([&] { (void)mpi::gather_partition(comm, me == 1 ? n + 1 : n, mine); },
                                               "the ranks disagree on the number of neurons");
  }
}

class Exchange : public ::testing::TestWithParam<bool> {};  // true: point to point

TEST_P(Exchange, DeliversEveryNeededSpikeOfEveryRank) {
  const mpi::communicator comm;
  const int R = comm.size(), me = comm.rank();
  const std::int64_t n = 997, K = 5;
  const partition owners = partition::block(n, R);
  const auto local = owners.local(me);
  // What this rank needs: a pseudo-random third of the network (point to point).
  std::vector<std::int64_t> needed;
  for (std::int64_t j = 0; j < n; ++j) {
    if (mix(static_cast<std::uint64_t>(me), static_cast<std::uint64_t>(j), 7) % 3 == 0) needed.push_back(j);
  }
  needed.push_back(needed.front());  // duplicates are allowed
  std::unique_ptr<spike_exchange> ex;
  if (GetParam()) {
    auto p2p = std::make_unique<mpi::point_to_point_exchange>(comm, owners, K, needed);
    EXPECT_LE(p2p->fan_out(), R - 1);
    ex = std::move(p2p);
  } else {
    ex = std::make_unique<mpi::allgather_exchange>(comm, owners, K);
  }
  const std::set<std::int64_t> want_neurons(needed.begin(), needed.end());
  std::vector<spike_word> got{make_spike(0, 1)};
  std::int64_t sent_total = 0, received_total = 0;
  for (std::int64_t w = 0; w < 6; ++w) {
    const auto mine = emitted(local, w, K);
    ex->start(mine);
    EXPECT_TRUE(ex->in_flight());
    // Progress calls may complete the transfer; it stays in flight until finish().
    for (int i = 0; i < 3 * static_cast<int>(w); ++i) ex->progress();
    EXPECT_TRUE(ex->in_flight());
    ex->finish(got);
    EXPECT_FALSE(ex->in_flight());
    std::vector<std::int64_t> all(static_cast<std::size_t>(n));
    for (std::int64_t j = 0; j < n; ++j) all[static_cast<std::size_t>(j)] = j;
    std::vector<spike_word> expect = emitted(all, w, K);
    if (GetParam()) {
      expect.erase(std::remove_if(expect.begin(), expect.end(),
                                  [&](spike_word s) { return want_neurons.count(spike_neuron(s)) == 0; }),
                   expect.end());
    }
    std::sort(expect.begin(), expect.end());
    ASSERT_EQ(got, expect) << "window " << w;
    sent_total += static_cast<std::int64_t>(mine.size());
    received_total += static_cast<std::int64_t>(got.size());
  }
  const exchange_stats st = ex->stats();
  EXPECT_EQ(st.windows, 6);
  EXPECT_EQ(st.spikes_received, received_total);
  if (!GetParam()) {
    EXPECT_EQ(st.spikes_sent, sent_total);
    EXPECT_EQ(st.bytes_sent, (sent_total + 6) * 8 * (R - 1)) << "one 8-byte word per spike and per count";
  } else if (R == 1) {
    EXPECT_EQ(st.bytes_sent, 0);
  }
}

TEST_P(Exchange, RefusalsReachEveryRankAndSendNothing) {
  const mpi::communicator comm;
  const int R = comm.size(), me = comm.rank();
  const std::int64_t n = 60, K = 4;
  const partition owners = partition::round_robin(n, R);
  std::vector<std::int64_t> everything(static_cast<std::size_t>(n));
  for (std::int64_t j = 0; j < n; ++j) everything[static_cast<std::size_t>(j)] = j;
  std::unique_ptr<spike_exchange> ex;
  if (GetParam()) {
    ex = std::make_unique<mpi::point_to_point_exchange>(comm, owners, K, everything);
  } else {
    ex = std::make_unique<mpi::allgather_exchange>(comm, owners, K);
  }
  const auto local = owners.local(me);
  // The last rank hands over spikes out of order; every rank's start raises.
  std::vector<spike_word> mine = emitted(local, 0, K);
  std::vector<spike_word> bad{make_spike(2, local.back()), make_spike(1, local.front())};
  expect_raised_everywhere<invalid_argument>([&] { ex->start(me == R - 1 ? bad : mine); },
                                             me == R - 1 ? "sorted" : "refused its spikes");
  EXPECT_FALSE(ex->in_flight());
  // A neuron of another rank.
  if (R > 1) {
    std::vector<spike_word> foreign{make_spike(0, owners.local((me + 1) % R).front())};
    expect_raised_everywhere<invalid_argument>([&] { ex->start(me == 0 ? foreign : mine); },
                                               me == 0 ? "owned by rank 1, not by this rank 0" : "refused");
  }
  // The exchange still works afterwards.
  ex->start(mine);
  std::vector<spike_word> got;
  ex->finish(got);
  std::vector<spike_word> expect = emitted(everything, 0, K);
  std::sort(expect.begin(), expect.end());
  EXPECT_EQ(got, expect);
  // Ranks that disagree on the window or the partition never exchange.
  if (R > 1) {
    expect_raised_everywhere<invalid_argument>(
        [&] { mpi::allgather_exchange(comm, owners, me == 1 ? K + 1 : K); },
        "the ranks disagree on the window length in steps");
    const partition other = me == 1 ? partition::block(n, R) : owners;
    expect_raised_everywhere<invalid_argument>([&] { mpi::allgather_exchange(comm, other, K); },
                                               "the partition of the neurons");
  }
  expect_raised_everywhere<invalid_argument>([&] { mpi::allgather_exchange(comm, partition::block(n, R + 1), K); },
                                             "the partition has");
}

INSTANTIATE_TEST_SUITE_P(Modes, Exchange, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "point_to_point" : "allgather"; });

// Windows over the MPI exchange with D = 2K (one exchange in flight while the
// next window computes): every rank's spikes reach every rank D steps later.
TEST(WindowLoopOverMpi, OverlappedWindowsDeliverOneDelayLater) {
  const mpi::communicator comm;
  const std::int64_t n = 300, K = 3, D = 6, steps = 31;
  const partition owners = partition::block(n, comm.size());
  mpi::allgather_exchange ex(comm, owners, K);
  window_loop loop(ex, {D, K});
  ASSERT_TRUE(loop.overlapped());
  const auto local = owners.local(comm.rank());
  std::vector<std::pair<std::int64_t, std::int64_t>> got, want;
  while (loop.step() < steps) {
    const std::int64_t s0 = loop.step(), Kw = std::min(K, steps - s0);
    for (const spike_word s : loop.begin_window(Kw)) got.emplace_back(s0 + spike_step(s), spike_neuron(s));
    std::vector<spike_word> mine;
    for (const spike_word s : emitted(local, s0, K)) {
      if (spike_step(s) < Kw) mine.push_back(s);
    }
    loop.end_window(mine);
  }
  loop.drain();
  for (std::int64_t s = D; s < steps; ++s) {
    const std::int64_t e = s - D;  // emitted at step e: window e / K, step e % K
    for (std::int64_t j = 0; j < n; ++j) {
      if (spikes(j, (e / K) * K, e % K)) want.emplace_back(s, j);
    }
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}

// A checkpoint written by all ranks together continues every rank bit for bit.
TEST(MpiCheckpoint, SaveRestoreContinuesEveryRank) {
  const mpi::communicator comm;
  const int R = comm.size(), me = comm.rank();
  const std::int64_t n = 200, K = 4, D = 8, n_pre = 160;
  const partition owners = partition::round_robin(n, R);
  const auto local = owners.local(me);
  // Post neuron j listens to presynaptic neurons (j * 7 + q * 13) % n_pre, q < 6.
  csr_connectivity rows;
  rows.n_post = static_cast<std::int64_t>(local.size());
  rows.row_offsets.push_back(0);
  for (const std::int64_t j : local) {
    for (std::int64_t q = 0; q < 6; ++q) {
      rows.source.push_back(static_cast<std::int32_t>((j * 7 + q * 13) % n_pre));
      rows.gmax.push_back(0.5 + 0.1 * static_cast<double>(q));
    }
    rows.row_offsets.push_back(static_cast<std::int64_t>(rows.source.size()));
  }
  projection_config pc;
  pc.synapses.backend = backend::cpu;
  pc.max_window_steps = K;
  struct run {
    mpi::allgather_exchange ex;
    window_loop loop;
    projection proj;
    run(const mpi::communicator& c, const partition& o, const csr_connectivity& r, const projection_config& pc_)
        : ex(c, o, 4), loop(ex, {8, 4}), proj(r, 160, pc_) {}
    std::vector<float> window(const std::vector<std::int64_t>& local_neurons) {
      std::vector<float> g(static_cast<std::size_t>(4 * proj.n_post()));
      const auto& in = loop.begin_window(4);
      proj.step_window<float>(4, in, host_span<float>(g));
      std::vector<spike_word> mine = emitted(local_neurons, loop.step(), 4);
      loop.end_window(mine);
      return g;
    }
  };
  const fs::path dir = fs::temp_directory_path() / ("bionmda_mpi_ckpt_" + std::to_string(::getppid()));
  if (me == 0) fs::remove_all(dir);
  MPI_Barrier(comm.get());
  network_manifest m;
  m.ranks = R;
  m.neurons = n;
  m.delay_steps = D;
  m.window_steps = K;
  m.partition_digest = owners.digest();
  run a(comm, owners, rows, pc);
  for (int i = 0; i < 5; ++i) (void)a.window(local);
  m.step = a.loop.step();
  const std::vector<std::uint8_t> user(static_cast<std::size_t>(me) + 3, static_cast<std::uint8_t>(me + 7));
  mpi::save_checkpoint(comm, dir.string(), m, a.loop, a.proj, user);
  EXPECT_TRUE(fs::exists(dir / "manifest.json"));
  std::vector<std::vector<float>> expect;
  for (int i = 0; i < 4; ++i) expect.push_back(a.window(local));

  run b(comm, owners, rows, pc);
  network_manifest saved;
  EXPECT_EQ(mpi::restore_checkpoint(comm, dir.string(), m, b.loop, b.proj, &saved), user);
  EXPECT_EQ(saved.step, 5 * K);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.window(local), expect[static_cast<std::size_t>(i)]) << "window " << i;

  // A run that does not match: every rank raises, naming the field.
  run c(comm, owners, rows, pc);
  network_manifest other = m;
  other.delay_steps = 12;
  expect_raised_everywhere<invalid_argument>(
      [&] { (void)mpi::restore_checkpoint(comm, dir.string(), other, c.loop, c.proj); }, "delay_steps 8");
  // One rank's file damaged: every rank raises, none half-restored.
  if (me == R - 1) fs::resize_file(dir / ("rank-" + std::to_string(me) + ".state"), 10);
  MPI_Barrier(comm.get());
  expect_raised_everywhere<error>([&] { (void)mpi::restore_checkpoint(comm, dir.string(), m, c.loop, c.proj); },
                                  "rank-" + std::to_string(R - 1) + ".state");
  EXPECT_EQ(c.loop.step(), 0) << "a rank whose own files were fine restored its schedule";
  EXPECT_EQ(c.proj.units().step_count(), 0) << "a rank whose own files were fine restored its units";
  MPI_Barrier(comm.get());
  if (me == 0) fs::remove_all(dir);
}

// One rank's units file does not fit (its rows differ from the saved run's),
// which only reading the whole file shows: still no rank changes.
TEST(MpiCheckpoint, AUnitsFileOnOneRankThatDoesNotFitChangesNoRank) {
  const mpi::communicator comm;
  const int R = comm.size(), me = comm.rank();
  const std::int64_t n = 40, K = 2, D = 2;
  const partition owners = partition::block(n, R);
  const auto local = owners.local(me);
  auto rows_with = [&](double gmax) {
    csr_connectivity rows;
    rows.n_post = static_cast<std::int64_t>(local.size());
    rows.row_offsets.push_back(0);
    for (const std::int64_t j : local) {
      rows.source.push_back(static_cast<std::int32_t>((j * 3) % n));
      rows.gmax.push_back(gmax);
      rows.row_offsets.push_back(static_cast<std::int64_t>(rows.source.size()));
    }
    return rows;
  };
  projection_config pc;
  pc.synapses.backend = backend::cpu;
  pc.mode = synapse_mode::per_synapse;
  pc.max_window_steps = K;
  const fs::path dir = fs::temp_directory_path() / ("bionmda_mpi_ckpt_fit_" + std::to_string(::getppid()));
  if (me == 0) fs::remove_all(dir);
  MPI_Barrier(comm.get());
  network_manifest m;
  m.ranks = R;
  m.neurons = n;
  m.delay_steps = D;
  m.window_steps = K;
  m.partition_digest = owners.digest();
  {
    mpi::allgather_exchange ex(comm, owners, K);
    window_loop loop(ex, {D, K});
    projection proj(rows_with(1.0), n, pc);
    std::vector<float> g(static_cast<std::size_t>(K) * local.size());
    for (int w = 0; w < 3; ++w) {
      proj.step_window<float>(K, loop.begin_window(K), host_span<float>(g));
      const std::vector<spike_word> mine = emitted(local, w, K);
      loop.end_window(mine);
    }
    m.step = loop.step();
    mpi::save_checkpoint(comm, dir.string(), m, loop, proj, {});
  }
  // The last rank runs with another unit count (two synapses a row): its
  // units file fits the manifest's step but not its units.
  csr_connectivity rows = rows_with(1.0);
  if (me == R - 1 && !local.empty()) {
    rows = csr_connectivity{};
    rows.n_post = static_cast<std::int64_t>(local.size());
    rows.row_offsets.push_back(0);
    for (const std::int64_t j : local) {
      rows.source.push_back(static_cast<std::int32_t>((j * 3) % n));
      rows.source.push_back(static_cast<std::int32_t>((j * 5 + 1) % n));
      rows.gmax.insert(rows.gmax.end(), {1.0, 1.0});
      rows.row_offsets.push_back(static_cast<std::int64_t>(rows.source.size()));
    }
  }
  mpi::allgather_exchange ex(comm, owners, K);
  window_loop loop(ex, {D, K});
  projection proj(rows, n, pc);
  expect_raised_everywhere<invalid_argument>(
      [&] { (void)mpi::restore_checkpoint(comm, dir.string(), m, loop, proj); },
      "rank-" + std::to_string(R - 1) + ".units");
  EXPECT_EQ(loop.step(), 0) << "a rank whose own files were fine restored its schedule";
  EXPECT_EQ(proj.units().step_count(), 0) << "a rank whose own files were fine restored its units";
  MPI_Barrier(comm.get());
  if (me == 0) fs::remove_all(dir);
}

// An exchange destroyed with its data in flight (an exception unwinding past
// it) waits for the collective before freeing the buffers MPI writes into:
// large windows (rendezvous transfers into freshly mapped memory) that the
// ranks' next collectives would otherwise complete into freed memory.
TEST_P(Exchange, DestroyedInFlightWaitsForItsData) {
  const mpi::communicator comm;
  const int R = comm.size(), me = comm.rank();
  const std::int64_t per_rank = std::int64_t{1} << 19, K = 1;
  const partition owners = partition::block(per_rank * R, R);
  const auto local = owners.local(me);
  std::vector<spike_word> mine(local.size());
  for (std::size_t i = 0; i < local.size(); ++i) mine[i] = make_spike(0, local[i]);
  for (int round = 0; round < 3; ++round) {
    {
      std::unique_ptr<spike_exchange> ex;
      if (GetParam()) {
        // Every rank needs every spike: the same volume as the all-gather.
        std::vector<std::int64_t> all(static_cast<std::size_t>(per_rank * R));
        for (std::size_t j = 0; j < all.size(); ++j) all[j] = static_cast<std::int64_t>(j);
        ex = std::make_unique<mpi::point_to_point_exchange>(comm, owners, K, all);
      } else {
        ex = std::make_unique<mpi::allgather_exchange>(comm, owners, K);
      }
      ex->start(mine);
      ASSERT_TRUE(ex->in_flight());
    }  // destroyed in flight
    // The ranks go on with other collectives over fresh memory.
    std::vector<std::uint64_t> fresh(static_cast<std::size_t>(per_rank * R), 7);
    MPI_Barrier(comm.get());
    std::uint64_t sum = 0, total = 0;
    for (const auto v : fresh) sum += v;
    MPI_Allreduce(&sum, &total, 1, MPI_UINT64_T, MPI_SUM, comm.get());
    EXPECT_EQ(total, 7u * static_cast<std::uint64_t>(per_rank * R) * static_cast<std::uint64_t>(R));
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // Only rank 0 prints the progress; every other rank prints just its failures.
  if (rank != 0) {
    struct failures_only : ::testing::EmptyTestEventListener {
      int rank = 0;
      void OnTestPartResult(const ::testing::TestPartResult& r) override {
        if (r.failed()) {
          std::fprintf(stderr, "rank %d: %s:%d: %s\n", rank, r.file_name() ? r.file_name() : "?", r.line_number(),
                       r.message());
        }
      }
    };
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    auto* l = new failures_only;
    l->rank = rank;
    listeners.Append(l);
  }
  const int failed = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
