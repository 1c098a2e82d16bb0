// examples/network: reproducible on the CPU, rates in a plausible range, the
// windowed loop's spikes identical to the per-step loop's, bad --min-delay
// refused, and (GPU build) the GPU run's rates close to the CPU run's.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;

nlohmann::json run_network(const std::string& backend, const fs::path& raster) {
  const fs::path out = fs::temp_directory_path() / ("bionmda_network_" + std::to_string(::getpid()) + ".json");
  const std::string cmd = std::string("'") + BIONMDA_NETWORK_PATH + "' --backend " + backend +
                          " --duration 300 --seed 3 --json --raster '" + raster.string() + "' > '" + out.string() + "'";
  const int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd;
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  fs::remove(out);
  auto j = nlohmann::json::parse(ss.str());
  // Timings differ run to run; everything else must not.
  for (const char* k : {"loop_s", "steps_per_s", "compute_s", "exchange_s"}) j.erase(k);
  return j;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the example with `args`; the exit status, stderr in *err.
[[maybe_unused]] int run_example(const std::string& args, std::string* err = nullptr) {
  const fs::path e = fs::temp_directory_path() / ("bionmda_network_" + std::to_string(::getpid()) + ".err");
  const std::string cmd = std::string("'") + BIONMDA_NETWORK_PATH + "' " + args + " > /dev/null 2> '" + e.string() + "'";
  const int status = std::system(cmd.c_str());
  if (err != nullptr) *err = read_all(e);
  fs::remove(e);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#if !BIONMDA_TEST_CUDA
TEST(NetworkExample, ReproducibleOnTheCpuWithPlausibleRates) {
  const fs::path r1 = fs::temp_directory_path() / "bionmda_raster_1.svg";
  const fs::path r2 = fs::temp_directory_path() / "bionmda_raster_2.svg";
  const auto a = run_network("cpu", r1);
  const auto b = run_network("cpu", r2);
  EXPECT_EQ(a, b) << "same seed, same backend: identical spikes";
  // Fluctuation-driven asynchronous regime: NMDA excitation lifts the rates
  // from ~6 Hz (background alone) to ~15-20 Hz; anything outside 5-40 Hz means
  // the synapses are not driving the network as intended.
  EXPECT_GT(a.at("rate_e_hz").get<double>(), 5.0);
  EXPECT_LT(a.at("rate_e_hz").get<double>(), 40.0);
  EXPECT_GT(a.at("rate_i_hz").get<double>(), 5.0);
  EXPECT_LT(a.at("rate_i_hz").get<double>(), 40.0);
  EXPECT_GT(a.at("synapses").get<long long>(), 70000);
  std::ifstream svg(r1);
  std::stringstream ss;
  ss << svg.rdbuf();
  EXPECT_NE(ss.str().find("<path stroke=\"#1f77b4\""), std::string::npos);
  EXPECT_NE(ss.str().find("time [ms]"), std::string::npos);
  fs::remove(r1);
  fs::remove(r2);
}

// The windowed loop (synapses a window of D steps from the previous window's
// spikes, neurons with g_post[k] and mg_current) must give exactly the spikes of
// the per-step loop with the same delay. 3007 steps: the last window is partial.
TEST(NetworkExample, WindowedLoopGivesThePerStepSpikes) {
  const auto tmp = fs::temp_directory_path();
  const std::string pid = std::to_string(::getpid());
  std::string spikes_1ms;
  for (const char* delay : {"1", "0.5", "0.1"}) {
    SCOPED_TRACE(std::string("--min-delay ") + delay);
    std::string files[2];
    int i = 0;
    for (const char* loop : {"per-step", "window"}) {
      const fs::path f = tmp / ("bionmda_spikes_" + pid + "_" + loop + ".csv");
      const std::string args = std::string("--backend cpu --duration 300.7 --seed 3 --raster '' --min-delay ") + delay +
                               " --loop " + loop + " --spikes-out '" + f.string() + "'";
      ASSERT_EQ(run_example(args), 0) << args;
      files[i++] = read_all(f);
      fs::remove(f);
      EXPECT_FALSE(fs::exists(f.string() + ".tmp"));
    }
    // Both E and I spikes, one CSV line each, in step then neuron order.
    ASSERT_EQ(files[0].rfind("step,neuron\n", 0), 0u);
    std::istringstream lines(files[0]);
    std::string line;
    std::getline(lines, line);
    long long prev_step = -1, prev_neuron = -1, n_lines = 0, n_inh = 0;
    while (std::getline(lines, line)) {
      long long step = 0, neuron = 0;
      ASSERT_EQ(std::sscanf(line.c_str(), "%lld,%lld", &step, &neuron), 2) << line;
      ASSERT_TRUE(step > prev_step || (step == prev_step && neuron > prev_neuron)) << line;
      ASSERT_LT(step, 3007);
      prev_step = step;
      prev_neuron = neuron;
      ++n_lines;
      n_inh += neuron >= 800;
    }
    EXPECT_GT(n_lines, 2000);
    EXPECT_GT(n_inh, 300);
    EXPECT_TRUE(files[0] == files[1]) << "per-step and windowed spikes differ";
    if (std::string(delay) == "1") spikes_1ms = files[0];
    // The delay matters: a 0.1 ms network is not the 1 ms one.
    if (std::string(delay) == "0.1") {
      EXPECT_NE(files[0], spikes_1ms);
    }
  }
}

TEST(NetworkExample, UnwritableSpikesOutIsRefusedBeforeTheRun) {
  std::string err;
  // 10 s of network would take many seconds: refused at once, before the run.
  EXPECT_EQ(run_example("--backend cpu --duration 10000 --raster '' --spikes-out /nonexistent-dir/s.csv", &err), 2);
  EXPECT_NE(err.find("--spikes-out"), std::string::npos) << err;
  EXPECT_NE(err.find("/nonexistent-dir/s.csv"), std::string::npos) << err;
}

TEST(NetworkExample, BadMinDelayIsRefused) {
  for (const char* delay : {"0", "-1", "0.15", "nan", "inf", "-0.1"}) {
    for (const char* loop : {"per-step", "window"}) {
      std::string err;
      EXPECT_EQ(run_example(std::string("--backend cpu --duration 10 --raster '' --loop ") + loop + " --min-delay " + delay,
                            &err),
                2)
          << delay;
      EXPECT_NE(err.find("--min-delay"), std::string::npos) << err;
    }
  }
  // A multiple of dt written in decimal (0.3 / 0.1 is not exactly 3) runs.
  EXPECT_EQ(run_example("--backend cpu --duration 10 --raster '' --min-delay 0.3"), 0);
}

// Every refused option exits 2 with a message naming it, before the run
// (--duration 10^5 ms would take minutes); none silently falls back to a default.
TEST(NetworkExample, BadOptionsExitTwoNamingTheOption) {
  for (const auto& [args, option] : std::vector<std::pair<std::string, std::string>>{
           {"--window 0", "--window"},
           {"--window 0.3", "--window"},
           {"--in-degree -5", "--in-degree"},
           {"--in-degree -1", "--in-degree"},
           {"--duration inf", "--duration"},
           {"--duration 1e300", "--duration"},
           {"--duration 0.04", "--duration"},
           {"--duration -1", "--duration"},
           {"--neurons abc", "--neurons"},
           {"--loop sideways", "--loop"},
           {"--no-such-option", "--no-such-option"},
           {"--checkpoint-out /dev/null/ckpt --checkpoint-at 1", "--checkpoint-out"},
           {"--restore /nonexistent-bionmda-ckpt", "--restore"}}) {
    SCOPED_TRACE(args);
    std::string err;
    const std::string duration = args.find("--duration") == std::string::npos ? " --duration 100000" : "";
    EXPECT_EQ(run_example("--backend cpu --raster ''" + duration + " " + args, &err), 2);
    EXPECT_NE(err.find(option), std::string::npos) << err;
  }
}

// A checkpoint time at or before the restored step would never be written.
TEST(NetworkExample, CheckpointAtOrBeforeTheRestoredStepIsRefused) {
  const fs::path dir = fs::temp_directory_path() / ("bionmda_net_ckpt_at_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string net = "--backend cpu --raster '' --neurons 50 --duration 4";
  ASSERT_EQ(run_example(net + " --checkpoint-out '" + dir.string() + "' --checkpoint-at 2"), 0);
  std::string err;
  for (const char* at : {"1", "2"}) {
    EXPECT_EQ(run_example(net + " --restore '" + dir.string() + "' --checkpoint-out '" + dir.string() +
                              "-again' --checkpoint-at " + at,
                          &err),
              2)
        << at;
    EXPECT_NE(err.find("--checkpoint-at"), std::string::npos) << err;
  }
  EXPECT_EQ(run_example(net + " --restore '" + dir.string() + "' --checkpoint-out '" + dir.string() +
                        "-again' --checkpoint-at 3"),
            0);
  EXPECT_TRUE(fs::exists(dir.string() + "-again/manifest.json"));
  fs::remove_all(dir);
  fs::remove_all(dir.string() + "-again");
}

TEST(NetworkExample, SizesAreCheckedAndLargeNetworksStaySparse) {
  std::string err;
  EXPECT_EQ(run_example("--backend cpu --neurons 1 --raster ''", &err), 2);
  EXPECT_NE(err.find("--neurons"), std::string::npos) << err;
  // 10% of 10^8 x 10^8 pairs fits no machine: refused before anything is built.
  EXPECT_EQ(run_example("--backend cpu --neurons 100000000 --in-degree 0 --raster ''", &err), 2);
  EXPECT_NE(err.find("--in-degree"), std::string::npos) << err;
  EXPECT_EQ(run_example("--backend cpu --neurons 10 --in-degree 20 --raster ''", &err), 2);
  EXPECT_NE(err.find("--in-degree"), std::string::npos) << err;
  // 2 x 10^4 neurons: a fixed in-degree of 100 by default, 80 of them NMDA.
  const fs::path out = fs::temp_directory_path() / ("bionmda_network_" + std::to_string(::getpid()) + ".json");
  ASSERT_EQ(std::system((std::string("'") + BIONMDA_NETWORK_PATH +
                         "' --backend cpu --neurons 20000 --duration 5 --raster '' --json > '" + out.string() + "'")
                            .c_str()),
            0);
  const auto j = nlohmann::json::parse(read_all(out));
  fs::remove(out);
  EXPECT_EQ(j.at("neurons").get<int>(), 20000);
  EXPECT_EQ(j.at("synapses").get<long long>(), 20000LL * 80);
  EXPECT_EQ(j.at("steps").get<long long>(), 50);
  EXPECT_GT(j.at("steps_per_s").get<double>(), 0.0);
}

#if BIONMDA_TEST_MPI
// mpiexec -n ranks with the example and args; exit status, stderr in *err.
int run_ranks(int ranks, const std::string& args, std::string* err = nullptr, const std::string& env = "") {
  const fs::path e = fs::temp_directory_path() / ("bionmda_network_mpi_" + std::to_string(::getpid()) + ".err");
  const std::string cmd = env + " timeout 120 " + BIONMDA_MPIEXEC_PREFIX + " " + std::to_string(ranks) + " '" +
                          BIONMDA_NETWORK_PATH + "' " + args + " > /dev/null 2> '" + e.string() + "'";
  const int status = std::system(cmd.c_str());
  if (err != nullptr) *err = read_all(e);
  fs::remove(e);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string spikes_of(const std::string& args, int ranks) {
  const fs::path f = fs::temp_directory_path() / ("bionmda_spikes_mpi_" + std::to_string(::getpid()) + ".csv");
  fs::remove(f);
  const std::string all = "--backend cpu --raster '' " + args + " --spikes-out '" + f.string() + "'";
  std::string err;
  const int rc = ranks == 0 ? run_example(all, &err) : run_ranks(ranks, all, &err);
  EXPECT_EQ(rc, 0) << all << " on " << ranks << " ranks: " << err;
  std::string out = read_all(f);
  fs::remove(f);
  return out;
}

// The network over R ranks is the per-step network of one process, spike for
// spike: every partition, exchange, window and synapse mode.
TEST(NetworkOverRanks, EveryRankCountGivesThePerStepSpikes) {
  const std::string net = "--duration 300.7 --seed 3";
  const std::string reference = spikes_of(net + " --loop per-step", 0);
  ASSERT_GT(std::count(reference.begin(), reference.end(), '\n'), 2000);
  for (const auto& [ranks, extra] : std::vector<std::pair<int, std::string>>{
           {1, ""},
           {2, "--exchange point-to-point"},
           {3, "--partition round-robin --window 0.5"},
           {4, "--synapses per-synapse --exchange point-to-point --window 0.2"},
           {2, "--synapses per-synapse --partition round-robin"}}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks " + extra);
    EXPECT_TRUE(spikes_of(net + " " + extra, ranks) == reference) << "spikes differ from the per-step loop";
  }
  // A sparse network of 12000 neurons, fixed in-degree: each rank needs a
  // small share of the spikes.
  const std::string sparse = "--neurons 12000 --duration 40 --seed 5";
  const std::string sparse_ref = spikes_of(sparse + " --loop per-step", 0);
  ASSERT_GT(std::count(sparse_ref.begin(), sparse_ref.end(), '\n'), 1000);
  EXPECT_TRUE(spikes_of(sparse + " --exchange point-to-point --window 0.5", 3) == sparse_ref);
  EXPECT_TRUE(spikes_of(sparse + " --partition round-robin", 2) == sparse_ref);
}

// More ranks than neurons, and per-synapse ranks without a synapse: ranks
// with nothing to hold still take part, and the spikes are the per-step loop's.
TEST(NetworkOverRanks, RanksWithoutNeuronsOrSynapsesRunToo) {
  const std::string net = "--neurons 3 --duration 300 --seed 1";
  const std::string reference = spikes_of(net + " --loop per-step", 0);
  ASSERT_GT(std::count(reference.begin(), reference.end(), '\n'), 10);
  EXPECT_TRUE(spikes_of(net + " --synapses per-synapse", 4) == reference);
  EXPECT_TRUE(spikes_of(net + " --synapses per-synapse --exchange point-to-point --window 0.5", 5) == reference);
  EXPECT_TRUE(spikes_of(net + " --synapses per-synapse", 0) == reference);
}

// Saving at 120 ms over two ranks and restoring the two ranks from it gives
// the uninterrupted run's spikes from there on; saving does not change the run.
TEST(NetworkOverRanks, CheckpointRestartAtTwoRanksEqualsTheUninterruptedRun) {
  const fs::path dir = fs::temp_directory_path() / ("bionmda_net_ckpt_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string net = "--duration 300 --seed 3 --window 0.5";
  const std::string uninterrupted = spikes_of(net, 2);
  const std::string saving = spikes_of(net + " --checkpoint-out '" + dir.string() + "' --checkpoint-at 120", 2);
  EXPECT_TRUE(saving == uninterrupted);
  for (const char* f : {"manifest.json", "rank-0.units", "rank-0.state", "rank-1.units", "rank-1.state"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  const std::string restored = spikes_of(net + " --restore '" + dir.string() + "'", 2);
  // The uninterrupted spikes from step 1200 on.
  std::string tail = "step,neuron\n";
  std::istringstream lines(uninterrupted);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    if (std::stoll(line.substr(0, line.find(','))) >= 1200) tail += line + "\n";
  }
  EXPECT_GT(tail.size(), 1000u);
  EXPECT_TRUE(restored == tail) << "restored " << restored.size() << " bytes, expected " << tail.size();
  // Only at the same rank count and network.
  std::string err;
  EXPECT_EQ(run_ranks(3, "--backend cpu --raster '' " + net + " --restore '" + dir.string() + "'", &err), 2);
  EXPECT_NE(err.find("saved with ranks 2, this run has 3"), std::string::npos) << err;
  EXPECT_EQ(run_ranks(2, "--backend cpu --raster '' --duration 300 --seed 3 --restore '" + dir.string() + "'", &err), 2);
  EXPECT_NE(err.find("window_steps 5, this run has 10"), std::string::npos) << err;
  fs::resize_file(dir / "rank-1.state", 20);
  EXPECT_EQ(run_ranks(2, "--backend cpu --raster '' " + net + " --restore '" + dir.string() + "'", &err), 2);
  EXPECT_NE(err.find("rank-1.state"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(NetworkOverRanks, BadPartitionsAndMismatchedRanksEndEveryRankWithAnError) {
  const fs::path part = fs::temp_directory_path() / ("bionmda_partition_" + std::to_string(::getpid()) + ".txt");
  auto write_partition = [&](std::int64_t skip, std::int64_t duplicate) {
    std::ofstream f(part);
    f << "# rank neuron\n";
    for (std::int64_t j = 0; j < 1000; ++j) {
      if (j != skip) f << j % 2 << ' ' << j << '\n';
    }
    if (duplicate >= 0) f << (duplicate + 1) % 2 << ' ' << duplicate << '\n';
  };
  std::string err;
  write_partition(-1, -1);
  EXPECT_EQ(run_ranks(2, "--backend cpu --raster '' --duration 20 --partition '" + part.string() + "'", &err), 0) << err;
  write_partition(517, -1);
  EXPECT_EQ(run_ranks(2, "--backend cpu --raster '' --duration 20 --partition '" + part.string() + "'", &err), 2);
  EXPECT_NE(err.find("neuron 517 is owned by no rank"), std::string::npos) << err;
  {
    std::ofstream f(part);
    f << "0 0\n1 1\n2 2\n";
  }
  EXPECT_EQ(run_ranks(2, "--backend cpu --raster '' --duration 20 --partition '" + part.string() + "'", &err), 2);
  EXPECT_NE(err.find(":3: rank 2 outside [0, 2)"), std::string::npos) << err;
  write_partition(-1, 42);
  EXPECT_EQ(run_ranks(2, "--backend cpu --raster '' --duration 20 --partition '" + part.string() + "'", &err), 2);
  EXPECT_NE(err.find("neuron 42 is owned twice: by rank 0 and rank 1"), std::string::npos) << err;
  fs::remove(part);
  // Ranks launched with different delays (an MPMD launch) refuse to run.
  const std::string one = std::string(" '") + BIONMDA_NETWORK_PATH + "' --backend cpu --raster '' --duration 20";
  const std::string mpmd = std::string(BIONMDA_MPIEXEC_PREFIX) + " 1" + one + " --min-delay 1 : -n 1" + one +
                           " --min-delay 2 > /dev/null 2> '" + part.string() + "'";
  const int status = std::system(("timeout 120 " + mpmd).c_str());
  err = read_all(part);
  fs::remove(part);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 124) << err;
  EXPECT_NE(err.find("the ranks disagree on --min-delay (steps): rank 0 has 10, rank 1 has 20"), std::string::npos) << err;
  EXPECT_EQ(run_ranks(2, "--backend cpu --raster '' --duration 20 --loop per-step", &err), 2);
  EXPECT_NE(err.find("--loop per-step runs in one process"), std::string::npos) << err;
}

// A rank that dies mid-run (exits without MPI_Finalize) ends the run with an
// error on every rank, well before the timeout: nobody waits for it forever.
TEST(NetworkOverRanks, ARankThatDiesEndsTheRunInsteadOfHangingIt) {
  std::string err;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = run_ranks(3, "--backend cpu --raster '' --duration 2000", &err, "BIONMDA_NETWORK_TEST_EXIT=1:20");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(rc, 0) << err;
  EXPECT_NE(rc, 124) << "timed out: the other ranks hung";
  EXPECT_LT(s, 60.0);
}
#endif

#else
// Float rounding differs between the backends, so individual spike times
// diverge (the network is chaotic); population rates must agree within 15%.
TEST(NetworkExample, GpuRatesMatchCpu) {
  BIONMDA_SKIP_IF_UNAVAILABLE();
  const fs::path r = fs::temp_directory_path() / "bionmda_raster_gpu.svg";
  const auto cpu = run_network("cpu", r);
  const auto gpu = run_network("cuda", r);
  EXPECT_EQ(gpu.at("backend"), "cuda");
  for (const char* k : {"rate_e_hz", "rate_i_hz"}) {
    const double c = cpu.at(k).get<double>(), g = gpu.at(k).get<double>();
    EXPECT_NEAR(g, c, 0.15 * c) << k;
  }
  fs::remove(r);
}
#endif

}  // namespace
