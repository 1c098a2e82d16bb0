// The bionmda tool end to end: every option, every file format in and out,
// round trips, and every error with its exit code, message and no output left.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <set>
#include <thread>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "npy.hpp"
#include "spike_file.hpp"
#include "trace.hpp"
#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bionmda;

struct run_result {
  int code;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bionmda_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path path(const std::string& name) const { return dir_ / name; }

  run_result run(const std::string& args) const {
    const std::string cmd = std::string("cd '") + dir_.string() + "' && '" BIONMDA_CLI_PATH "' " + args +
                            " >stdout.txt 2>stderr.txt";
    const int status = std::system(cmd.c_str());
    run_result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(path("stdout.txt")),
                 slurp(path("stderr.txt"))};
    return r;
  }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
  }

  // Files in the directory other than the captured outputs.
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string n = e.path().filename().string();
      if (n != "stdout.txt" && n != "stderr.txt") v.push_back(n);
    }
    std::sort(v.begin(), v.end());
    return v;
  }

  fs::path dir_;
};

struct csv_row {
  long long step, batch, unit;
  double g, x;
};

std::vector<csv_row> read_trace_csv(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "step,batch,unit,g,x");
  std::vector<csv_row> rows;
  while (std::getline(in, line)) {
    csv_row r{};
    char c1, c2, c3, c4;
    std::istringstream ls(line);
    ls >> r.step >> c1 >> r.batch >> c2 >> r.unit >> c3 >> r.g >> c4 >> r.x;
    EXPECT_TRUE(ls && c1 == ',' && c4 == ',') << line;
    rows.push_back(r);
  }
  return rows;
}

// Random spikes for S steps, B batch, N units, as a dense list and a CSV file.
std::vector<std::vector<std::uint8_t>> random_spikes(std::int64_t S, std::int64_t B, std::int64_t N,
                                                     double p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::uint8_t>> m;
  for (std::int64_t s = 0; s < S; ++s) m.push_back(test::random_mask(rng, B * N, p));
  return m;
}

std::string spikes_csv(const std::vector<std::vector<std::uint8_t>>& m, std::int64_t N, bool with_batch) {
  std::string out = with_batch ? "step,batch,unit\n" : "step,unit\n";
  for (std::size_t s = 0; s < m.size(); ++s) {
    for (std::size_t e = 0; e < m[s].size(); ++e) {
      if (!m[s][e]) continue;
      const auto b = static_cast<std::int64_t>(e) / N, u = static_cast<std::int64_t>(e) % N;
      out += std::to_string(s) + (with_batch ? "," + std::to_string(b) : "") + "," + std::to_string(u) + "\n";
    }
  }
  return out;
}

std::string spikes_npy(const std::vector<std::vector<std::uint8_t>>& m, std::int64_t B, std::int64_t N,
                       bool three_d, const char* descr) {
  std::vector<std::uint8_t> flat;
  for (const auto& s : m) flat.insert(flat.end(), s.begin(), s.end());
  std::vector<std::int64_t> shape = {static_cast<std::int64_t>(m.size())};
  if (three_d) shape.push_back(B);
  shape.push_back(N);
  return io::npy_bytes(descr, shape, flat.data(), flat.size());
}

TEST_F(Cli, DoneWhenCommandWorks) {
  // The command named in the definition of done.
  const auto r = run("simulate --rate 20 --seed 1 --size 10 --steps 2000 --record all --out t.csv --plot t.svg");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = read_trace_csv(slurp(path("t.csv")));
  EXPECT_EQ(rows.size(), 2000u * 10u);
  const std::string svg = slurp(path("t.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("time [ms]"), std::string::npos);
  EXPECT_NE(svg.find("g (open fraction, 1)"), std::string::npos);
  EXPECT_NE(svg.find("batch 0, unit 9"), std::string::npos) << "legend names every series";
  std::size_t lines = 0;
  for (std::size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++lines;
  EXPECT_EQ(lines, 20u) << "one line per series in each of the g and x panels";
  // Something happened: 20 Hz over 200 ms opens some receptors.
  double gmax = 0;
  for (const auto& row : rows) gmax = std::max(gmax, row.g);
  EXPECT_GT(gmax, 0.1);
}

class CliVsReference : public Cli, public ::testing::WithParamInterface<const char*> {};

TEST_P(CliVsReference, CsvSpikesAndTraceMatchTheReference) {
  const std::string prec = GetParam();
  const std::int64_t S = 400, B = 2, N = 7;
  const auto m = random_spikes(S, B, N, 0.05, 3);
  write("s.csv", spikes_csv(m, N, true));
  const auto r = run("simulate --backend cpu --precision " + prec + " --size 7 --batch 2 --steps 400 --dt 0.125"
                     " --alpha1 1.5 --beta1 0.02 --alpha2 0.8 --beta2 0.4 --T 1.2 --T-dur 0.4"
                     " --g0 0.25 --x0 0.5 --spikes s.csv --record all --out t.csv --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << "--quiet prints nothing: " << r.err;
  const auto rows = read_trace_csv(slurp(path("t.csv")));
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(S * B * N));
  parameters p;
  p.alpha1 = 1.5;
  p.beta1 = 0.02;
  p.alpha2 = 0.8;
  p.beta2 = 0.4;
  p.T = 1.2;
  p.T_dur = 0.4;
  reference_population ref(N, B, 0.125, p, std::vector<double>(B * N, 0.25), std::vector<double>(B * N, 0.5));
  const double tol = prec == "float64" ? 1e-12 : 1e-5;
  std::size_t k = 0;
  for (std::int64_t s = 0; s < S; ++s) {
    ref.step(m[static_cast<std::size_t>(s)].data());
    for (std::int64_t e = 0; e < B * N; ++e, ++k) {
      const auto& row = rows[k];
      ASSERT_EQ(row.step, s);
      ASSERT_EQ(row.batch, e / N);
      ASSERT_EQ(row.unit, e % N);
      ASSERT_NEAR(row.g, ref.g()[static_cast<std::size_t>(e)], tol) << "step " << s;
      ASSERT_NEAR(row.x, ref.x()[static_cast<std::size_t>(e)], tol) << "step " << s;
    }
  }
}
INSTANTIATE_TEST_SUITE_P(Precisions, CliVsReference, ::testing::Values("float32", "float64"));

TEST_F(Cli, EverySpikeFormatGivesTheSameTrace) {
  const std::int64_t S = 200, N = 9;
  const auto m1 = random_spikes(S, 1, N, 0.08, 5);
  write("a.csv", spikes_csv(m1, N, false));
  write("b.csv", spikes_csv(m1, N, true));
  write("c.npy", spikes_npy(m1, 1, N, false, "|b1"));
  write("d.npy", spikes_npy(m1, 1, N, true, "|u1"));
  std::string first;
  for (const char* f : {"a.csv", "b.csv", "c.npy", "d.npy"}) {
    SCOPED_TRACE(f);
    const auto r = run(std::string("simulate --backend cpu --size 9 --steps 200 --spikes ") + f +
                       " --out t.csv --quiet");
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string t = slurp(path("t.csv"));
    if (first.empty()) first = t;
    EXPECT_EQ(t, first);
  }
  // A shorter .npy (S < --steps) means no spikes afterwards.
  std::vector<std::vector<std::uint8_t>> shorter(m1.begin(), m1.begin() + 50);
  write("e.npy", spikes_npy(shorter, 1, N, false, "|u1"));
  ASSERT_EQ(run("simulate --backend cpu --size 9 --steps 200 --spikes e.npy --out e.csv --quiet").code, 0);
  auto cut = m1;
  for (std::size_t s = 50; s < cut.size(); ++s) std::fill(cut[s].begin(), cut[s].end(), 0);
  write("f.csv", spikes_csv(cut, N, false));
  ASSERT_EQ(run("simulate --backend cpu --size 9 --steps 200 --spikes f.csv --out f_out.csv --quiet").code, 0);
  EXPECT_EQ(slurp(path("e.csv")), slurp(path("f_out.csv")));
}

// --window K only changes how many steps go through the state per pass: every
// output (trace, plot, checkpoint, JSON summary less its timings) is the same
// byte for byte for every K, and the same as the recording made step by step.
// --every 5 puts recorded steps inside windows (read from the window's trace)
// and at their ends (gathered).
TEST_F(Cli, EveryWindowGivesTheSameOutputs) {
  const std::int64_t S = 300, B = 2, N = 13;
  write("s.csv", spikes_csv(random_spikes(S, B, N, 0.05, 21), N, true));
  const std::string sources[] = {"--spikes s.csv --precision float32", "--rate 300 --seed 4 --precision float32",
                                 "--rate 300 --seed 4 --precision float64"};
  for (const std::string& source : sources) {
    for (const char* every : {"1", "5"}) {
      std::string first_trace, first_npy, first_plot, first_ckp;
      nlohmann::json first_json;
      for (const char* window : {"", "--window 1", "--window 7", "--window 64", "--window 65536"}) {
        SCOPED_TRACE(source + " --every " + every + " " + window);
        const std::string common = "simulate --backend cpu --size 13 --batch 2 --steps 300 --record all --every " +
                                   std::string(every) + " " + source + " " + window;
        const auto r = run(common + " --out t.csv --plot p.svg --save c.ckp --json");
        ASSERT_EQ(r.code, 0) << r.err;
        ASSERT_EQ(run(common + " --out t.npy --quiet").code, 0);
        auto j = nlohmann::json::parse(r.out);
        ASSERT_TRUE(j.contains("wall_seconds") && j.contains("unit_steps_per_second")) << r.out;
        j.erase("wall_seconds");  // the figures that differ between runs
        j.erase("unit_steps_per_second");
        ASSERT_TRUE(j.contains("window")) << r.out;
        j.erase("window");  // and the window, which is what varies here
        const std::string trace = slurp(path("t.csv")), npy = slurp(path("t.npy")), plot = slurp(path("p.svg")),
                          ckp = slurp(path("c.ckp"));
        ASSERT_GT(read_trace_csv(trace).size(), 50u);
        if (first_trace.empty()) {
          first_trace = trace, first_npy = npy, first_plot = plot, first_ckp = ckp, first_json = j;
          continue;
        }
        EXPECT_TRUE(trace == first_trace) << "CSV trace differs";
        EXPECT_TRUE(npy == first_npy) << ".npy trace differs";
        EXPECT_TRUE(plot == first_plot) << "SVG plot differs";
        EXPECT_TRUE(ckp == first_ckp) << "checkpoint differs";
        EXPECT_EQ(j, first_json);
      }
    }
  }
}

// A recording too large to keep for every step of a window (here 70000
// recorded elements x 64 steps, past the tool's 2^22 values) ends such windows
// at their recorded step instead: still the same trace.
TEST_F(Cli, WindowsOfALargeRecordingGiveTheSameTrace) {
  const std::string common = "simulate --backend cpu --size 35000 --batch 2 --steps 130 --every 50 --record all"
                             " --rate 200 --seed 8 --quiet";
  ASSERT_EQ(run(common + " --window 1 --out a.npy").code, 0);
  ASSERT_EQ(run(common + " --window 64 --out b.npy").code, 0);
  ASSERT_EQ(run(common + " --window 3 --out c.npy").code, 0);
  EXPECT_GT(fs::file_size(path("a.npy")), 2u * 70000u * 4u);
  EXPECT_TRUE(slurp(path("a.npy")) == slurp(path("b.npy")));
  EXPECT_TRUE(slurp(path("a.npy")) == slurp(path("c.npy")));
}

// The windows continue a loaded checkpoint's step numbering and Poisson keys.
TEST_F(Cli, WindowsContinueALoadedRun) {
  const std::string base = "simulate --backend cpu --size 20 --batch 2 --rate 80 --seed 3 --quiet";
  ASSERT_EQ(run(base + " --steps 37 --window 1 --save c.ckp").code, 0);
  ASSERT_EQ(run("simulate --backend cpu --load c.ckp --steps 80 --rate 80 --every 6 --window 1 --quiet --out a.csv").code, 0);
  ASSERT_EQ(run("simulate --backend cpu --load c.ckp --steps 80 --rate 80 --every 6 --window 29 --quiet --out b.csv").code, 0);
  EXPECT_EQ(slurp(path("a.csv")), slurp(path("b.csv")));
  EXPECT_EQ(read_trace_csv(slurp(path("a.csv"))).front().step, 37 + 5);
}

TEST_F(Cli, NpyTraceRoundTripsWithCsv) {
  for (const char* prec : {"float32", "float64"}) {
    SCOPED_TRACE(prec);
    const std::string common = std::string("simulate --backend cpu --precision ") + prec +
                               " --size 5 --batch 3 --steps 120 --rate 400 --seed 9 --every 7 --quiet";
    ASSERT_EQ(run(common + " --out t.csv").code, 0);
    ASSERT_EQ(run(common + " --out t.npy").code, 0);
    const auto rows = read_trace_csv(slurp(path("t.csv")));
    const io::npy_array a = io::read_npy(path("t.npy").string());
    const std::int64_t S_rec = 120 / 7;
    ASSERT_EQ(a.shape, (std::vector<std::int64_t>{S_rec, 3, 5, 2}));
    ASSERT_EQ(a.descr, std::string(prec) == "float32" ? "<f4" : "<f8");
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(S_rec * 15));
    for (std::size_t k = 0; k < rows.size(); ++k) {
      double g, x;
      if (a.descr == "<f4") {
        float v[2];
        std::memcpy(v, a.data.data() + k * 8, 8);
        g = v[0];
        x = v[1];
      } else {
        std::memcpy(&g, a.data.data() + k * 16, 8);
        std::memcpy(&x, a.data.data() + k * 16 + 8, 8);
      }
      // %.9g round-trips float32, %.17g float64: parsed back, the CSV value
      // is the .npy value exactly (in the run's precision).
      if (a.descr == "<f4") {
        ASSERT_EQ(static_cast<float>(rows[k].g), static_cast<float>(g)) << "row " << k;
        ASSERT_EQ(static_cast<float>(rows[k].x), static_cast<float>(x)) << "row " << k;
      } else {
        ASSERT_EQ(rows[k].g, g) << "row " << k;
        ASSERT_EQ(rows[k].x, x) << "row " << k;
      }
      ASSERT_EQ(rows[k].step, static_cast<long long>((k / 15 + 1) * 7 - 1)) << "--every 7 records steps 6, 13, ...";
    }
  }
}

TEST_F(Cli, RecordSubsetAndDefaults) {
  ASSERT_EQ(run("simulate --backend cpu --size 50 --steps 10 --record 3,0,49 --out t.csv --quiet").code, 0);
  const auto rows = read_trace_csv(slurp(path("t.csv")));
  ASSERT_EQ(rows.size(), 30u);
  EXPECT_EQ(rows[0].unit, 3);
  EXPECT_EQ(rows[1].unit, 0);
  EXPECT_EQ(rows[2].unit, 49);
  // N > 100 records nothing by default, so --out needs --record.
  const auto r = run("simulate --backend cpu --size 101 --steps 10 --out u.csv");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--record"), std::string::npos) << r.err;
}

// The value of a trace row in the run's precision: %.9g round-trips float32
// and %.17g float64, so equality here is bit-for-bit equality of the state.
bool same_in_precision(double trace_value, double state_value, bool float32) {
  return float32 ? static_cast<float>(trace_value) == static_cast<float>(state_value) : trace_value == state_value;
}

// --spikes feeds each step's element list as sparse events (no N*B mask): on
// a population where a dense mask would be noticeable, the trace is bit for
// bit that of the same spikes given to the library as dense masks.
TEST_F(Cli, SparseSpikeFileMatchesDenseMasksOnALargePopulation) {
  const std::int64_t N = 200000, B = 2, S = 50;
  const std::vector<std::int64_t> units = {0, 17, 99999, 123456, 199999};
  // A handful of spikes per step: mostly on recorded units (so the trace
  // moves), some anywhere, and one duplicate row (a duplicate is one spike).
  std::mt19937_64 rng(11);
  std::vector<std::vector<std::int64_t>> hits(static_cast<std::size_t>(S));
  std::string csv = "step,batch,unit\n";
  for (std::int64_t s = 0; s < S; ++s) {
    for (int k = 0; k < 4; ++k) {
      const std::int64_t b = static_cast<std::int64_t>(rng() % B);
      const std::int64_t u = k < 2 ? units[rng() % units.size()] : static_cast<std::int64_t>(rng() % N);
      if (rng() % 3 == 0) continue;  // some steps get fewer, some none
      hits[static_cast<std::size_t>(s)].push_back(b * N + u);
      csv += std::to_string(s) + "," + std::to_string(b) + "," + std::to_string(u) + "\n";
      if (s == 7 && k == 0) csv += std::to_string(s) + "," + std::to_string(b) + "," + std::to_string(u) + "\n";
    }
  }
  write("s.csv", csv);
  std::string record;
  for (auto u : units) record += (record.empty() ? "" : ",") + std::to_string(u);

  for (const bool float32 : {true, false}) {
    const std::string prec = float32 ? "float32" : "float64";
    SCOPED_TRACE(prec);
    const auto r = run("simulate --backend cpu --precision " + prec + " --size 200000 --batch 2 --steps 50"
                       " --alpha1 1.5 --beta1 0.02 --alpha2 0.8 --beta2 0.4 --T 1.2 --T-dur 0.35"
                       " --spikes s.csv --record " + record + " --out t.csv --quiet");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto rows = read_trace_csv(slurp(path("t.csv")));
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(S * B) * units.size());

    population_config cfg;
    cfg.units = N;
    cfg.batch = B;
    cfg.backend = backend::cpu;
    cfg.precision = float32 ? precision::float32 : precision::float64;
    cfg.params.alpha1 = 1.5;
    cfg.params.beta1 = 0.02;
    cfg.params.alpha2 = 0.8;
    cfg.params.beta2 = 0.4;
    cfg.params.T = 1.2;
    cfg.params.T_dur = 0.35;
    population pop(cfg);
    std::vector<std::uint8_t> mask(static_cast<std::size_t>(N * B), 0);
    std::size_t k = 0;
    bool moved = false;
    for (std::int64_t s = 0; s < S; ++s) {
      for (auto e : hits[static_cast<std::size_t>(s)]) mask[static_cast<std::size_t>(e)] = 1;
      pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
      for (auto e : hits[static_cast<std::size_t>(s)]) mask[static_cast<std::size_t>(e)] = 0;
      const auto g = pop.g(), x = pop.x();
      for (std::int64_t b = 0; b < B; ++b) {
        for (auto u : units) {
          const auto& row = rows[k++];
          const auto e = static_cast<std::size_t>(b * N + u);
          ASSERT_EQ(row.step, s);
          ASSERT_EQ(row.batch, b);
          ASSERT_EQ(row.unit, u);
          ASSERT_TRUE(same_in_precision(row.g, g[e], float32))
              << "step " << s << " batch " << b << " unit " << u << ": g " << row.g << " vs " << g[e];
          ASSERT_TRUE(same_in_precision(row.x, x[e], float32))
              << "step " << s << " batch " << b << " unit " << u << ": x " << row.x << " vs " << x[e];
          moved = moved || g[e] > 0;
        }
      }
    }
    EXPECT_TRUE(moved) << "the spikes must reach recorded units, or the comparison proves little";
  }
}

// --record i,j with --batch > 1: the CLI gathers only the recorded elements
// e = b * N + i, and each row (step, batch, unit) holds that element's g and x.
TEST_F(Cli, RecordedUnitsAcrossTheBatchMatchTheLibrary) {
  const std::int64_t N = 10, B = 2, S = 60;
  const std::vector<std::int64_t> units = {3, 7};
  const auto r = run("simulate --backend cpu --precision float64 --size 10 --batch 2 --steps 60"
                     " --g0 0.2 --x0 0.4 --rate 1500 --seed 6 --every 4 --record 3,7 --out t.csv --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = read_trace_csv(slurp(path("t.csv")));
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(S / 4 * B) * units.size());

  population_config cfg;
  cfg.units = N;
  cfg.batch = B;
  cfg.backend = backend::cpu;
  cfg.precision = precision::float64;
  cfg.g0 = initial_value::constant(0.2);
  cfg.x0 = initial_value::constant(0.4);
  population pop(cfg);
  std::size_t k = 0;
  for (std::int64_t s = 0; s < S; ++s) {
    pop.step(poisson{1500, 6});
    if ((s + 1) % 4 != 0) continue;
    const auto g = pop.g(), x = pop.x();
    for (std::int64_t b = 0; b < B; ++b) {
      for (auto u : units) {
        const auto& row = rows[k++];
        const auto e = static_cast<std::size_t>(b * N + u);
        ASSERT_EQ(row.step, s);
        ASSERT_EQ(row.batch, b);
        ASSERT_EQ(row.unit, u);
        ASSERT_EQ(row.g, g[e]) << "step " << s << " batch " << b << " unit " << u;
        ASSERT_EQ(row.x, x[e]) << "step " << s << " batch " << b << " unit " << u;
      }
    }
  }
  // The four series end apart, or a mixed-up order could go unseen.
  const auto g = pop.g();
  const std::vector<double> last = {g[3], g[7], g[N + 3], g[N + 7]};
  for (std::size_t i = 0; i < last.size(); ++i) {
    for (std::size_t j = i + 1; j < last.size(); ++j) EXPECT_NE(last[i], last[j]) << "series " << i << ", " << j;
  }
}

TEST_F(Cli, PoissonIsReproducibleFromTheSeed) {
  const std::string common = "simulate --backend cpu --size 20 --steps 300 --rate 100 --quiet --record all";
  ASSERT_EQ(run(common + " --seed 4 --out a.csv").code, 0);
  ASSERT_EQ(run(common + " --seed 4 --out b.csv").code, 0);
  ASSERT_EQ(run(common + " --seed 5 --out c.csv").code, 0);
  EXPECT_EQ(slurp(path("a.csv")), slurp(path("b.csv")));
  EXPECT_NE(slurp(path("a.csv")), slurp(path("c.csv")));
}

TEST_F(Cli, PerUnitParametersFromFiles) {
  write("a1.txt", "1\n2\n3\n");
  write("g0.csv", "0.1\n0.2\n0.3\n");
  const auto r = run("simulate --backend cpu --precision float64 --size 3 --steps 50 --rate 500 --seed 2"
                     " --alpha1 a1.txt --g0 g0.csv --out t.csv --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  parameters p;
  p.alpha1 = std::vector<double>{1, 2, 3};
  reference_population ref(3, 1, 0.1, p, {0.1, 0.2, 0.3}, {0, 0, 0});
  for (int s = 0; s < 50; ++s) {
    const auto mask = test::poisson_mask(500, 0.1, 2, s, 3);
    ref.step(mask.data());
  }
  const auto rows = read_trace_csv(slurp(path("t.csv")));
  for (int u = 0; u < 3; ++u) EXPECT_NEAR(rows[static_cast<std::size_t>(49 * 3 + u)].g, ref.g()[static_cast<std::size_t>(u)], 1e-12);
}

TEST_F(Cli, SaveAndLoadContinueTheRunExactly) {
  const std::string base = "simulate --backend cpu --size 20 --batch 2 --rate 80 --seed 3 --quiet";
  ASSERT_EQ(run(base + " --steps 200 --out full.csv").code, 0);
  ASSERT_EQ(run(base + " --steps 120 --save c.ckp --out a.csv").code, 0);
  const auto r = run("simulate --backend cpu --load c.ckp --steps 80 --rate 80 --quiet --out b.csv");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string full = slurp(path("full.csv"));
  const std::string a = slurp(path("a.csv"));
  const std::string b = slurp(path("b.csv"));
  // a's rows then b's rows (without its header) are the uninterrupted run.
  EXPECT_EQ(a + b.substr(b.find('\n') + 1), full);
  // --load with a model option, or a damaged checkpoint: exit 2, no output.
  const auto both = run("simulate --load c.ckp --size 5 --steps 1 --out x.csv");
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("--load takes"), std::string::npos) << both.err;
  std::string damaged = slurp(path("c.ckp"));
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 1);
  write("d.ckp", damaged);
  const auto bad = run("simulate --load d.ckp --steps 1 --out y.csv");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("checksum"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(path("x.csv")));
  EXPECT_FALSE(fs::exists(path("y.csv")));
}

TEST_F(Cli, JsonSummary) {
  const auto r = run("simulate --backend cpu --size 64 --batch 2 --steps 100 --dt 0.05 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("backend"), "cpu");
  EXPECT_EQ(j.at("precision"), "float32");
  EXPECT_EQ(j.at("N"), 64);
  EXPECT_EQ(j.at("B"), 2);
  EXPECT_EQ(j.at("steps"), 100);
  EXPECT_DOUBLE_EQ(j.at("dt").get<double>(), 0.05);
  EXPECT_EQ(j.at("version"), BIONMDA_VERSION_STRING);
  EXPECT_GT(j.at("wall_seconds").get<double>(), 0.0);
  EXPECT_GT(j.at("unit_steps_per_second").get<double>(), 0.0);
  EXPECT_TRUE(j.contains("device"));
  EXPECT_EQ(j.at("window"), 64);  // automatic, nothing recorded
}

// The summary names the window the run used: given, or the recording interval capped at 64.
TEST_F(Cli, JsonSummaryNamesTheWindow) {
  const auto given = run("simulate --backend cpu --size 16 --steps 50 --window 7 --json");
  ASSERT_EQ(given.code, 0) << given.err;
  EXPECT_EQ(nlohmann::json::parse(given.out).at("window"), 7);
  const auto every = run("simulate --backend cpu --size 16 --steps 50 --every 10 --out w.csv --json");
  ASSERT_EQ(every.code, 0) << every.err;
  EXPECT_EQ(nlohmann::json::parse(every.out).at("window"), 10);
}

// On a terminal a run longer than a second shows a live progress line; with
// --quiet, or when stderr is not a terminal, it does not.
TEST_F(Cli, ProgressLineOnlyOnATerminal) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "util-linux 'script' not installed";
  const std::string sim = std::string("'") + BIONMDA_CLI_PATH +
                          "' simulate --backend cpu --size 1000 --steps 20000000 --rate 20";
  // `script` gives the tool a pseudo-terminal; timeout ends the run after ~2.5 s.
  const std::string cmd = "cd '" + dir_.string() + "' && timeout 2.5 script -qc \"" + sim +
                          "\" /dev/null > tty.txt 2>&1";
  const int rc_tty = std::system(cmd.c_str());  // timeout ends it: the status is not the point
  (void)rc_tty;
  const std::string tty = slurp(path("tty.txt"));
  EXPECT_NE(tty.find("steps/s"), std::string::npos) << tty.substr(0, 400);
  EXPECT_NE(tty.find("s left"), std::string::npos) << tty.substr(0, 400);
  const std::string quiet = "cd '" + dir_.string() + "' && timeout 2.5 script -qc \"" + sim +
                            " --quiet\" /dev/null > quiet.txt 2>&1";
  const int rc_quiet = std::system(quiet.c_str());
  (void)rc_quiet;
  EXPECT_EQ(slurp(path("quiet.txt")).find("steps/s"), std::string::npos);
  const auto r = run("simulate --backend cpu --size 100000 --steps 2000");  // stderr is a file
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.err.find("s left"), std::string::npos) << r.err;
}

TEST_F(Cli, Info) {
  const auto r = run("info");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("backends compiled in: cpu"), std::string::npos) << r.out;
  // Either the devices found or why there are none.
  EXPECT_NE(r.out.find(cuda_devices().empty() ? "cuda devices: none (" : "cuda device 0: "), std::string::npos)
      << r.out;
}

// Every kinetic parameter is an option whose help line gives its meaning,
// unit and default, all from kinetic_parameters.
TEST_F(Cli, SimulateHelpListsEveryKineticParameter) {
  const auto r = run("simulate --help");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (const parameter_info& info : kinetic_parameters) {
    SCOPED_TRACE(info.name);
    const std::string option = std::string("--") + info.cli_name + " ";
    std::ostringstream def;
    def << "(default " << info.default_value << ")";
    int found = 0;
    for (const std::string& line : lines) {
      if (line.find(option) == std::string::npos) continue;
      ++found;
      EXPECT_NE(line.find(info.meaning), std::string::npos) << line;
      EXPECT_NE(line.find(std::string("[") + info.unit + "]"), std::string::npos) << line;
      EXPECT_NE(line.find(def.str()), std::string::npos) << line;
    }
    EXPECT_EQ(found, 1) << r.out;
  }
  // Independently of the table: BrainPy's T_dur is --T-dur, in ms, 0.5 by default.
  EXPECT_NE(r.out.find("--T-dur"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[ms]: a number or a file of N values (default 0.5)"), std::string::npos) << r.out;
}

// --- Errors: exit 2, a message naming the problem, no output file ---------

struct error_case {
  const char* name;
  const char* setup_file;     // file to create: "name=content" or ""
  const char* args;
  const char* message;        // substring expected on stderr
};

class CliErrors : public Cli, public ::testing::WithParamInterface<error_case> {};

TEST_P(CliErrors, ExitTwoWithMessageAndNoOutput) {
  const error_case& c = GetParam();
  const std::string setup = c.setup_file;
  if (!setup.empty()) {
    const auto eq = setup.find('=');
    std::string content = setup.substr(eq + 1);
    if (content.rfind("NPY:", 0) == 0) {  // NPY:<descr>:<dims>:<bytes>
      std::istringstream in(content.substr(4));
      std::string descr, dims, bytes;
      std::getline(in, descr, ':');
      std::getline(in, dims, ':');
      std::getline(in, bytes);
      std::vector<std::int64_t> shape;
      std::istringstream ds(dims);
      std::string d;
      while (std::getline(ds, d, 'x')) shape.push_back(std::stoll(d));
      std::vector<std::uint8_t> data(std::stoul(bytes), 0);
      content = io::npy_bytes(descr, shape, data.data(), data.size());
    } else if (content.rfind("NPYF8:", 0) == 0) {  // NPYF8:<v>,<v>,... (1-d float64)
      std::istringstream in(content.substr(6));
      std::vector<double> values;
      for (std::string v; std::getline(in, v, ',');) values.push_back(std::strtod(v.c_str(), nullptr));
      content = io::npy_bytes("<f8", {static_cast<std::int64_t>(values.size())}, values.data(),
                              values.size() * sizeof(double));
    }
    if (content == "DIR") {
      fs::create_directory(path(setup.substr(0, eq)));
    } else {
      write(setup.substr(0, eq), content);
    }
  }
  write("keep.csv", "old content\n");
  const auto before = files();
  const auto r = run(std::string("simulate ") + c.args + " --out keep.csv --plot p.svg");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(c.message), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(slurp(path("keep.csv")), "old content\n") << "an existing output must stay untouched";
  EXPECT_EQ(files(), before) << "no partial or temporary file may be left";
  // In the tool's own words: short, one line, no echo of CLI11's bounds or of
  // the library's internals.
  EXPECT_LT(r.err.size(), 400u) << "stderr: " << r.err;
  EXPECT_EQ(r.err.find("179769313486231570"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("basic_filebuf"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("std::"), std::string::npos) << r.err;
}

const error_case error_cases[] = {
    {"unknown_option", "", "--size 3 --frobnicate 2", "frobnicate"},
    {"bad_number", "", "--size three", "--size: 'three' is not a decimal integer"},
    {"negative_size", "", "--size -5", "--size"},
    {"bad_dt", "", "--size 3 --dt -0.1", "--dt: must be > 0, got -0.1"},
    {"zero_dt", "", "--size 3 --dt 0", "--dt: must be > 0, got 0"},
    {"bad_rate_value", "", "--size 3 --alpha1 -2", "--alpha1: must be >= 0, got -2"},
    {"nan_beta2", "", "--size 3 --beta2 nan", "--beta2: 'nan' is not a finite number"},
    {"bad_g0", "", "--size 3 --g0 1.5", "--g0: must be in [0, 1], got 1.5"},
    {"param_not_file", "", "--size 3 --T-dur nosuchfile", "--T-dur"},
    {"param_wrong_length", "v.txt=1\n2\n", "--size 3 --alpha2 v.txt", "2 values"},
    {"bad_backend", "", "--size 3 --backend gpu", "--backend: 'gpu' is not one of auto, cpu or cuda"},
    {"bad_precision", "", "--size 3 --precision half", "--precision: 'half' is not one of float32 or float64"},
    {"both_sources", "", "--size 3 --rate 5 --spikes s.csv", "exclusive"},
    {"missing_spike_file", "", "--size 3 --spikes nosuch.csv", "nosuch.csv"},
    {"spike_ext", "s.txt=step,unit\n", "--size 3 --spikes s.txt", ".csv or .npy"},
    {"csv_bad_header", "s.csv=time,neuron\n0,1\n", "--size 3 --spikes s.csv", "s.csv:1"},
    {"csv_bad_field", "s.csv=step,unit\n0,1\n1,x\n", "--size 3 --spikes s.csv", "s.csv:3"},
    {"csv_missing_field", "s.csv=step,batch,unit\n0,0\n", "--size 3 --spikes s.csv", "expected 3 fields"},
    {"csv_unit_range", "s.csv=step,unit\n0,3\n", "--size 3 --spikes s.csv", "unit 3 out of range"},
    {"csv_batch_range", "s.csv=step,batch,unit\n0,1,0\n", "--size 3 --spikes s.csv", "batch 1 out of range"},
    {"csv_step_beyond", "s.csv=step,unit\n10,0\n", "--size 3 --steps 10 --spikes s.csv", "beyond --steps"},
    {"csv_negative_step", "s.csv=step,unit\n-1,0\n", "--size 3 --spikes s.csv", "step -1"},
    {"csv_empty", "s.csv=", "--size 3 --spikes s.csv", "empty"},
    {"npy_bad_magic", "s.npy=NOTNUMPYxxxxxxxxxxxxxxxx", "--size 3 --spikes s.npy", "bad magic"},
    {"npy_truncated_preamble", "s.npy=\x93NUMPY", "--size 3 --spikes s.npy", "shorter than"},
    {"npy_dtype", "s.npy=NPY:<f4:10x3:120", "--size 3 --steps 10 --spikes s.npy", "dtype"},
    {"npy_shape_units", "s.npy=NPY:|u1:10x4:40", "--size 3 --steps 10 --spikes s.npy", "N = 4"},
    {"npy_shape_batch", "s.npy=NPY:|u1:10x2x3:60", "--size 3 --steps 10 --spikes s.npy", "B = 2"},
    {"npy_too_many_steps", "s.npy=NPY:|u1:11x3:33", "--size 3 --steps 10 --spikes s.npy", "beyond --steps"},
    {"npy_rank", "s.npy=NPY:|u1:30:30", "--size 3 --steps 10 --spikes s.npy", "shape [S, N]"},
    {"npy_truncated_data", "s.npy=NPY:|u1:10x3:20", "--size 3 --steps 10 --spikes s.npy", "truncated"},
    {"record_range", "", "--size 3 --record 0,7", "unit 7 out of range"},
    {"record_garbage", "", "--size 3 --record a,b", "--record"},
    {"record_huge", "", "--size 3 --record 1000000000000000000000000000000", "out of range"},
    {"record_inf", "", "--size 3 --record inf", "--record"},
    // --record: all, none, or decimal indices separated by single commas.
    {"record_exponent", "", "--size 3 --record 1e0", "--record: '1e0' is not a unit index"},
    {"record_hex", "", "--size 5 --record 0x3", "--record: '0x3' is not a unit index"},
    {"record_space", "", "--size 3 --record ' 1'", "--record: ' 1' is not a unit index"},
    {"record_sign", "", "--size 3 --record +1", "--record: '+1' is not a unit index"},
    {"record_negative", "", "--size 3 --record -1", "--record: '-1' is not a unit index"},
    {"record_fraction", "", "--size 3 --record 1.0", "--record: '1.0' is not a unit index"},
    {"record_trailing_comma", "", "--size 3 --record 1,2,", "--record: empty item"},
    {"record_leading_comma", "", "--size 3 --record ,1", "--record: empty item"},
    {"record_double_comma", "", "--size 3 --record 0,,1", "--record: empty item"},
    {"record_empty", "", "--size 3 --record ''", "--record: empty"},
    {"record_duplicate", "", "--size 3 --record 1,1,1", "--record: unit 1 is listed twice"},
    {"record_duplicate_apart", "", "--size 5 --record 4,0,4", "--record: unit 4 is listed twice"},
    {"record_none_with_out", "", "--size 3 --record none", "--record none records no unit"},
    {"every_zero", "", "--size 3 --every 0", "--every"},
    {"window_zero", "", "--size 3 --window 0", "--window: must be >= 1, got 0"},
    {"window_negative", "", "--size 3 --window -1", "--window: must be >= 1, got -1"},
    {"window_fraction", "", "--size 3 --window 1.5", "--window: '1.5' is not a decimal integer"},
    {"window_exponent", "", "--size 3 --window 1e3", "--window: '1e3' is not a decimal integer"},
    {"window_too_long", "", "--size 3 --window 65537", "--window: must be <= 65536, got 65537"},
    {"window_huge", "", "--size 3 --window 99999999999999999999", "--window: out of range [1, 65536]"},
    {"window_empty", "", "--size 3 --window ''", "--window: '' is not a decimal integer"},
    // Every floating option is finite (a number given to an option is never
    // taken for a file name, whatever its spelling).
    {"rate_nan", "", "--size 3 --rate nan", "--rate: 'nan' is not a finite number"},
    {"rate_inf", "", "--size 3 --rate inf", "--rate: 'inf' is not a finite number"},
    {"rate_overflow", "", "--size 3 --rate 1e400", "--rate: '1e400' is not a finite number"},
    {"rate_negative", "", "--size 3 --rate -5", "--rate: must be >= 0, got -5"},
    {"dt_nan", "", "--size 3 --dt nan", "--dt: 'nan' is not a finite number"},
    {"dt_inf", "", "--size 3 --dt -inf", "--dt: '-inf' is not a finite number"},
    {"dt_overflow", "", "--size 3 --dt 1e309", "--dt: '1e309' is not a finite number"},
    {"dt_hex", "", "--size 3 --dt 0x1p-3", "--dt: '0x1p-3' is not a decimal number"},
    {"dt_word", "", "--size 3 --dt fast", "--dt: 'fast' is not a decimal number"},
    {"alpha1_nan", "", "--size 3 --alpha1 nan", "--alpha1: 'nan' is not a finite number"},
    {"alpha1_inf", "", "--size 3 --alpha1 INF", "--alpha1: 'INF' is not a finite number"},
    {"beta1_overflow", "", "--size 3 --beta1 -1e999", "--beta1: '-1e999' is not a finite number"},
    {"T_dur_infinity", "", "--size 3 --T-dur infinity", "--T-dur: 'infinity' is not a finite number"},
    {"g0_nan", "", "--size 3 --g0 nan", "--g0: 'nan' is not a finite number"},
    {"x0_inf", "", "--size 3 --x0 inf", "--x0: 'inf' is not a finite number"},
    // Numbers read from a file: the file, its line, the option.
    {"param_file_nan", "a.txt=1\nnan\n3\n", "--size 3 --alpha2 a.txt", "a.txt:2: --alpha2 value 'nan' is not a finite number"},
    {"param_file_inf", "a.txt=1\n2\n-inf\n", "--size 3 --beta2 a.txt", "a.txt:3: --beta2 value '-inf' is not a finite number"},
    {"param_file_overflow", "a.txt=1e999\n2\n3\n", "--size 3 --T a.txt", "a.txt:1: --T value '1e999' is not a finite number"},
    {"param_file_negative", "a.txt=1\n-2\n3\n", "--size 3 --alpha1 a.txt", "a.txt:2: --alpha1 value -2 must be >= 0"},
    {"param_file_hex", "a.txt=1\n0x10\n3\n", "--size 3 --alpha1 a.txt", "a.txt:2: --alpha1 value '0x10' is not a decimal number"},
    {"g0_file_nan", "g.csv=0.5\nNaN\n0.1\n", "--size 3 --g0 g.csv", "g.csv:2: --g0 value 'NaN' is not a finite number"},
    {"x0_file_range", "x.csv=0.5\n0.2\n1.5\n", "--size 3 --x0 x.csv", "x.csv:3: --x0 value 1.5 must be in [0, 1]"},
    {"param_npy_nan", "a.npy=NPYF8:1,nan,3", "--size 3 --alpha1 a.npy", "a.npy[1]: --alpha1 value nan is not a finite number"},
    {"param_npy_inf", "a.npy=NPYF8:1,2,-inf", "--size 3 --alpha1 a.npy", "a.npy[2]: --alpha1 value -inf is not a finite number"},
    // Integers are given as decimal integers, in range; messages in the tool's words.
    {"size_exponent", "", "--size 1e3", "--size: '1e3' is not a decimal integer"},
    {"size_negative", "", "--size -5", "--size: must be >= 0, got -5"},
    {"size_300_digits", "", "--size 1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", "--size: out of range"},
    {"batch_zero", "", "--size 3 --batch 0", "--batch: must be >= 1, got 0"},
    {"steps_fraction", "", "--size 3 --steps 10.5", "--steps: '10.5' is not a decimal integer"},
    {"every_huge", "", "--size 3 --every 99999999999999999999", "--every: out of range"},
    {"seed_negative", "", "--size 3 --rate 10 --seed -1", "--seed: '-1' is not a decimal integer in [0, 18446744073709551615]"},
    {"seed_2_64", "", "--size 3 --rate 10 --seed 18446744073709551616", "--seed: '18446744073709551616' is not a decimal integer in [0, 18446744073709551615]"},
    {"seed_exponent", "", "--size 3 --rate 10 --seed 1e23", "--seed: '1e23' is not a decimal integer"},
    {"seed_hex", "", "--size 3 --rate 10 --seed 0x10", "--seed: '0x10' is not a decimal integer"},
    {"seed_space", "", "--size 3 --rate 10 --seed ' 1'", "--seed: ' 1' is not a decimal integer"},
    // Directories and other unreadable inputs are named as such.
    {"spikes_directory", "dir.csv=DIR", "--size 3 --spikes dir.csv", "dir.csv' is a directory"},
    {"spikes_npy_directory", "dir.npy=DIR", "--size 3 --spikes dir.npy", "dir.npy' is a directory"},
    {"load_directory", "dir.ckp=DIR", "--load dir.ckp --steps 1", "dir.ckp' is a directory"},
    {"param_directory", "dir.csv=DIR", "--size 3 --alpha1 dir.csv", "dir.csv' is a directory"},
    {"param_npy_directory", "dir.npy=DIR", "--size 3 --alpha1 dir.npy", "dir.npy' is a directory"},
    // A spike index for 10^12 steps is refused with its size, before allocating it.
    {"cuda_without_device_or_ok", "", "--size 3 --backend cuda --T -1", "T"},
};
INSTANTIATE_TEST_SUITE_P(AllErrors, CliErrors, ::testing::ValuesIn(error_cases),
                         [](const auto& p) { return std::string(p.param.name); });

// bench refuses a bad option before it measures anything: nothing on stdout.
struct bench_error_case {
  const char* name;
  const char* args;
  const char* message;
};

class CliBenchErrors : public Cli, public ::testing::WithParamInterface<bench_error_case> {};

TEST_P(CliBenchErrors, ExitTwoBeforeAnyMeasurement) {
  const bench_error_case& c = GetParam();
  // Short settings where the case does not set its own: a bench that wrongly
  // accepts the case ends soon and fails the test.
  std::string args = std::string("bench --no-reference --json b.json ") + c.args;
  for (const char* quick : {"--backend cpu", "--repeats 1", "--min-time 0.001", "--sizes 1000"}) {
    if (args.find(std::string(quick).substr(0, std::string(quick).find(' '))) == std::string::npos) {
      args += std::string(" ") + quick;
    }
  }
  const auto r = run(args);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(c.message), std::string::npos) << "stderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << "nothing may be measured or printed: " << r.out;
  EXPECT_LT(r.err.size(), 400u) << r.err;
  EXPECT_TRUE(files().empty());
}

const bench_error_case bench_error_cases[] = {
    // --sizes are decimal integers >= 1: never cast from a double.
    {"sizes_nan", "--sizes nan", "--sizes: 'nan' is not a decimal integer"},
    {"sizes_huge_float", "--sizes 1e30", "--sizes: '1e30' is not a decimal integer"},
    {"sizes_fraction", "--sizes 1000.7", "--sizes: '1000.7' is not a decimal integer"},
    {"sizes_zero", "--sizes 0", "--sizes: must be >= 1, got 0"},
    {"sizes_negative", "--sizes -5", "--sizes: must be >= 1, got -5"},
    {"sizes_overflow", "--sizes 99999999999999999999", "--sizes: out of range"},
    {"sizes_second_bad", "--sizes 1000 inf", "--sizes: 'inf' is not a decimal integer"},
    {"rate_nan", "--rate nan", "--rate: 'nan' is not a finite number"},
    {"rate_inf", "--rate inf", "--rate: 'inf' is not a finite number"},
    {"rate_negative", "--rate -1", "--rate: must be >= 0, got -1"},
    {"min_time_nan", "--min-time nan", "--min-time: 'nan' is not a finite number"},
    {"min_time_inf", "--min-time 1e999", "--min-time: '1e999' is not a finite number"},
    {"min_time_zero", "--min-time 0", "--min-time: must be > 0, got 0"},
    {"repeats_zero", "--repeats 0", "--repeats: must be >= 1, got 0"},
    {"repeats_float", "--repeats 1e9", "--repeats: '1e9' is not a decimal integer"},
    {"repeats_huge", "--repeats 3000000000", "--repeats: must be <= 2147483647, got 3000000000"},
    {"batch_zero", "--batch 0", "--batch: must be >= 1, got 0"},
    {"backend_unknown", "--backend gpu", "--backend: 'gpu' is not one of auto, cpu or cuda"},
    {"precision_unknown", "--precision float32 half", "--precision: 'half' is not one of float32 or float64"},
    {"input_unknown", "--input sparse", "--input: 'sparse' is not one of dense, bits, presynaptic, events or poisson"},
    {"input_second_unknown", "--input bits bytes", "--input: 'bytes' is not one of dense, bits, presynaptic, events or poisson"},
    {"window_zero", "--window 0", "--window: must be >= 1, got 0"},
    {"window_negative", "--window 32 -1", "--window: must be >= 1, got -1"},
    {"window_fraction", "--window 1.5", "--window: '1.5' is not a decimal integer"},
    {"window_too_long", "--window 1 65537", "--window: must be <= 65536, got 65537"},
    {"window_huge", "--window 99999999999999999999", "--window: out of range [1, 65536]"},
    {"ceiling_negative", "--ceiling -1", "--ceiling: must be >= 0, got -1"},
    {"ceiling_fraction", "--ceiling 4e3", "--ceiling: '4e3' is not a decimal integer"},
    {"ceiling_too_long", "--ceiling 100000", "--ceiling: must be <= 65536, got 100000"},
    // One window of dense input at N = 2^27 and K = 65536 would be 8 PiB:
    // refused before anything is timed.
    {"window_input_too_large", "--window 65536 --sizes 134217728", "--window 65536: one window of dense input"},
};
INSTANTIATE_TEST_SUITE_P(AllErrors, CliBenchErrors, ::testing::ValuesIn(bench_error_cases),
                         [](const auto& p) { return std::string(p.param.name); });

// A long line, a long argument or binary garbage is quoted in part: about 80
// characters, non-printable bytes escaped, with the full length given.
TEST_F(Cli, LongOrBinaryInputIsCutInMessages) {
  const std::string ten_mb(10 * 1024 * 1024, 'q');
  std::string garbage;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>(rng() % 256));
  garbage.erase(std::remove(garbage.begin(), garbage.end(), '\n'), garbage.end());
  write("long_header.csv", ten_mb + "\n0,1\n");
  write("long_field.csv", "step,unit\n0," + ten_mb + "\n");
  write("garbage.csv", garbage + "\n");
  write("long_value.txt", "1\n" + ten_mb + "\n3\n");
  write("garbage.txt", garbage + "\n");
  std::string long_descr;
  {
    // An empty array whose header names a 5000-character dtype.
    const std::string descr(5000, 'd');
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (0,), }";
    header.append((64 - (12 + header.size() + 1) % 64) % 64, ' ');
    header.push_back('\n');
    long_descr = std::string("\x93NUMPY\x02\x00", 8);
    for (int k = 0; k < 4; ++k) long_descr.push_back(static_cast<char>((header.size() >> (8 * k)) & 0xff));
    long_descr += header;
  }
  write("long_descr.npy", long_descr);
  const std::string long_arg(100000, 'w');
  struct cut_case {
    std::string args, message;
  };
  const cut_case cases[] = {
      {"--size 3 --spikes long_header.csv", "long_header.csv:1: header must be"},
      {"--size 3 --spikes long_field.csv", "long_field.csv:2: column 'unit'"},
      {"--size 3 --spikes garbage.csv", "garbage.csv:1: header must be"},
      {"--size 3 --alpha1 long_value.txt", "long_value.txt:2: --alpha1 value"},
      {"--size 3 --alpha1 garbage.txt", "garbage.txt:1: --alpha1 value"},
      {"--size 0 --alpha1 long_descr.npy", "long_descr.npy: invalid .npy file: unsupported dtype"},
      {"--size 3 --record " + long_arg, "--record: 'www"},
      {"--size 3 --dt " + long_arg, "--dt: 'www"},
      {"--size " + long_arg, "--size: 'www"},
      {"--size 3 --rate 1 --seed " + long_arg, "--seed: 'www"},
      {"--size 3 --backend " + long_arg, "--backend: 'www"},
  };
  for (const cut_case& c : cases) {
    SCOPED_TRACE(c.args.substr(0, 60));
    const auto r = run("simulate " + c.args + " --steps 2 --quiet");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err.substr(0, 400);
    EXPECT_LT(r.err.size(), 400u) << r.err.substr(0, 400);
    EXPECT_NE(r.err.find(" bytes)"), std::string::npos) << "the cut names the full length: " << r.err.substr(0, 400);
    for (const char ch : r.err) {
      const auto u = static_cast<unsigned char>(ch);
      ASSERT_TRUE(ch == '\n' || (u >= 0x20 && u < 0x7f)) << "raw byte " << int(u) << " in: " << r.err.substr(0, 400);
    }
  }
  // CLI11's own messages (an unknown option) are cut too.
  const auto r = run("simulate --size 3 --" + long_arg);
  EXPECT_EQ(r.code, 2);
  EXPECT_LT(r.err.size(), 400u) << r.err.substr(0, 400);
}

// --quiet silences everything on stderr, the CPU-fallback notice included;
// without it, the notice says why the CPU backend runs.
TEST_F(Cli, QuietSuppressesTheCpuFallbackNotice) {
  const auto quiet = run("simulate --size 3 --steps 2 --quiet");
  ASSERT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
  const auto loaded = [&] {
    EXPECT_EQ(run("simulate --backend cpu --size 3 --steps 2 --save c.ckp --quiet").code, 0);
    return run("simulate --load c.ckp --steps 2 --quiet");
  }();
  ASSERT_EQ(loaded.code, 0) << loaded.err;
  EXPECT_EQ(loaded.err, "");
  if (!cuda_devices().empty()) GTEST_SKIP() << "a CUDA device is present: auto picks it, there is no fallback";
  const auto loud = run("simulate --size 3 --steps 2");
  ASSERT_EQ(loud.code, 0) << loud.err;
  const auto at = loud.err.find("no usable CUDA device");
  EXPECT_NE(at, std::string::npos) << loud.err;
  EXPECT_EQ(loud.err.find("no usable CUDA device", at + 1), std::string::npos) << "once: " << loud.err;
  const auto explicit_cpu = run("simulate --backend cpu --size 3 --steps 2");
  EXPECT_EQ(explicit_cpu.err.find("no usable CUDA device"), std::string::npos) << "cpu was asked for: " << explicit_cpu.err;
}

// --seed takes every value of [0, 2^64) and nothing else.
TEST_F(Cli, SeedTakesTheWholeUnsignedRange) {
  const std::string common = "simulate --backend cpu --size 20 --steps 100 --rate 300 --quiet --record all";
  ASSERT_EQ(run(common + " --seed 18446744073709551615 --out max.csv").code, 0);
  ASSERT_EQ(run(common + " --seed 18446744073709551614 --out below.csv").code, 0);
  ASSERT_EQ(run(common + " --seed 0 --out zero.csv").code, 0);
  ASSERT_EQ(run(common + " --seed 000 --out zeros.csv").code, 0);
  EXPECT_NE(slurp(path("max.csv")), slurp(path("below.csv"))) << "2^64-1 is its own seed, not a saturated value";
  EXPECT_EQ(slurp(path("zero.csv")), slurp(path("zeros.csv")));
}

// Reseals a checkpoint after an edit: its last 8 bytes are the xxHash64 of the rest.
std::string reseal(std::string ckp) {
  const std::uint64_t sum = XXH64(ckp.data(), ckp.size() - 8, 0);
  std::memcpy(&ckp[ckp.size() - 8], &sum, 8);
  return ckp;
}

// A checkpoint with a valid checksum but a bad parameter: the message names
// the checkpoint file and the parameter.
TEST_F(Cli, ParameterErrorsFromACheckpointNameTheFile) {
  ASSERT_EQ(run("simulate --backend cpu --size 4 --steps 3 --save c.ckp --quiet").code, 0);
  const std::string good = slurp(path("c.ckp"));
  // The payload starts after the 73-byte header with alpha1: a one-byte
  // per-unit flag, then the value.
  constexpr std::size_t alpha1_at = 73 + 1;
  double alpha1 = 0;
  std::memcpy(&alpha1, good.data() + alpha1_at, 8);
  ASSERT_EQ(alpha1, kinetic_parameters[0].default_value) << "the layout this test edits has changed";
  for (const double bad : {-1.0, std::nan("")}) {
    SCOPED_TRACE(bad);
    std::string edited = good;
    std::memcpy(&edited[alpha1_at], &bad, 8);
    write("bad.ckp", reseal(edited));
    const auto r = run("simulate --load bad.ckp --steps 1 --backend cpu --out t.csv");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("checkpoint bad.ckp: parameter alpha1 must be finite and >= 0"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(path("t.csv")));
  }
}

TEST_F(Cli, BadOutputExtensionLeavesNothing) {
  const auto r = run("simulate --size 3 --steps 5 --out t.txt");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(".csv or .npy"), std::string::npos) << r.err;
  EXPECT_TRUE(files().empty());
  const auto r2 = run("simulate --size 3 --steps 5 --out t.csv --plot t.png");
  EXPECT_EQ(r2.code, 2);
  EXPECT_NE(r2.err.find(".svg"), std::string::npos) << r2.err;
}

TEST_F(Cli, CudaBackendWithoutDeviceIsAClearError) {
  if (!cuda_devices().empty()) GTEST_SKIP() << "a CUDA device is present";
  const auto r = run("simulate --size 3 --steps 5 --backend cuda");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no CUDA device"), std::string::npos) << r.err;
}

// --- Outputs: validated before the run, all or nothing, never through a link --

// The exit status as a shell reports it: 128 + the signal for a killed process.
int shell_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The tool run in the background, its pid known before it starts: prepare(pid)
// runs in the test between fork and exec (the child waits on a pipe), so a
// test can race the names the tool will use or signal it mid-run.
class background_run {
 public:
  background_run(const fs::path& dir, const std::vector<std::string>& args,
                 const std::function<void(pid_t)>& prepare = {}) {
    // Everything the child touches is prepared before fork: after it, only
    // async-signal-safe calls (the test process may have threads).
    std::vector<std::string> all = {BIONMDA_CLI_PATH};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string dir_s = dir.string(), out_s = (dir / "stdout.txt").string(),
                      err_s = (dir / "stderr.txt").string();
    int go[2];
    if (::pipe(go) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      char c;
      ::close(go[1]);
      if (::read(go[0], &c, 1) != 1) ::_exit(126);
      // Default dispositions whatever the test runner set (a background
      // shell job starts with SIGINT ignored).
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(s, &dfl, nullptr);
      const rlimit no_core{0, 0};  // SIGQUIT's core file would be an output of its own
      ::setrlimit(RLIMIT_CORE, &no_core);
      const int o = ::open(out_s.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err_s.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || e < 0 || ::chdir(dir_s.c_str()) != 0) ::_exit(126);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(go[0]);
    if (prepare) prepare(pid_);
    const char c = 'g';
    if (::write(go[1], &c, 1) != 1) ADD_FAILURE() << "cannot start the child";
    ::close(go[1]);
  }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // The raw waitpid status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  [[nodiscard]] bool running() const {
    int status = 0;
    return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
  }
  ~background_run() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  background_run(const background_run&) = delete;
  background_run& operator=(const background_run&) = delete;

 private:
  pid_t pid_ = -1;
};

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string w; in >> w;) v.push_back(w);
  return v;
}

class CliOutputs : public Cli {
 protected:
  // A run that takes far longer than any check before it (10^10 steps; one
  // recorded row, so no memory grows): an output error reported within the
  // timeout was reported before the run, not after it.
  run_result run_long(const std::string& outputs) const {
    const std::string cmd = std::string("cd '") + dir_.string() + "' && timeout 20 '" BIONMDA_CLI_PATH
                            "' simulate --backend cpu --size 1 --steps 10000000000 --every 10000000000 --quiet " +
                            outputs + " >stdout.txt 2>stderr.txt";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(path("stdout.txt")), slurp(path("stderr.txt"))};
  }

  // Waits until the background run has written into a file that was not
  // there before (the streamed trace or, on old builds, the final write).
  bool wait_until_writing(background_run& r, const std::set<std::string>& before) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < until && r.running()) {
      for (const auto& n : files()) {
        std::error_code ec;
        if (before.count(n) == 0 && fs::is_regular_file(path(n), ec) && fs::file_size(path(n), ec) > 0) return true;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return false;
  }
};

TEST_F(CliOutputs, BadOutputPathsAreRefusedBeforeTheRun) {
  struct bad_case {
    const char* outputs;
    const char* option;   // named in the message
    const char* message;  // and this
  };
  fs::create_directories(path("d.csv"));
  const bad_case cases[] = {
      {"--out t.txt", "--out", ".csv or .npy"},
      {"--out T.CSVX", "--out", ".csv or .npy"},
      {"--out t", "--out", ".csv or .npy"},
      {"--plot t.png", "--plot", ".svg"},
      {"--save c.bin", "--save", ".ckp"},
      {"--out nodir/t.csv", "--out", "nodir"},
      {"--plot nodir/deeper/t.svg", "--plot", "nodir/deeper"},
      {"--save nodir/c.ckp", "--save", "nodir"},
      {"--out d.csv", "--out", "is a directory"},
      {"--out ''", "--out", "empty"},
      {"--out t.csv --plot nodir/t.svg", "--plot", "nodir"},
  };
  const auto before = files();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.outputs);
    const auto r = run_long(c.outputs);
    EXPECT_EQ(r.code, 2) << "(124: the run started; the path was checked only after it) " << r.err;
    EXPECT_NE(r.err.find(c.option), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(files(), before) << "nothing written, no temporary left";
  }
}

TEST_F(CliOutputs, AllOutputsOfARunAppearTogetherOrNotAtAll) {
  // A good --out with a bad --plot, a good --save with a bad --out: nothing.
  for (const char* outputs : {"--out o.csv --plot o.png", "--save c.ckp --out o.txt", "--out o.npy --save c.ckp --plot nodir/p.svg"}) {
    SCOPED_TRACE(outputs);
    const auto r = run(std::string("simulate --backend cpu --size 3 --steps 5 --quiet ") + outputs);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_TRUE(files().empty()) << "left: " << ::testing::PrintToString(files());
    for (const auto& n : files()) fs::remove_all(path(n));  // each case on its own
  }
  // An existing file is untouched by a failed run, and replaced by a good one.
  write("o.csv", "old trace\n");
  write("c.ckp", "old checkpoint\n");
  EXPECT_EQ(run("simulate --backend cpu --size 3 --steps 5 --quiet --out o.csv --save c.ckp --plot p.png").code, 2);
  EXPECT_EQ(slurp(path("o.csv")), "old trace\n");
  EXPECT_EQ(slurp(path("c.ckp")), "old checkpoint\n");
  EXPECT_EQ(files(), (std::vector<std::string>{"c.ckp", "o.csv"}));
  const auto ok = run("simulate --backend cpu --size 3 --steps 5 --quiet --out o.csv --save c.ckp --plot p.svg");
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(slurp(path("o.csv")).rfind("step,batch,unit,g,x\n", 0), 0u);
  EXPECT_EQ(slurp(path("c.ckp")).rfind("BNMDACKP", 0), 0u);
  EXPECT_EQ(files(), (std::vector<std::string>{"c.ckp", "o.csv", "p.svg"})) << "no temporary left";
}

TEST_F(CliOutputs, TwoOutputsOnOneFileAreRefused) {
  fs::create_directories(path("sub"));
  fs::create_symlink("o.csv", path("l.ckp"));
  fs::create_symlink("sub", path("s"));
  struct dup_case {
    const char* outputs;
    const char* first;
    const char* second;
  };
  const dup_case cases[] = {
      {"--save o.csv --out o.csv", "--save", "--out"},
      {"--save o.svg --plot o.svg", "--save", "--plot"},
      {"--out o.csv --save ./o.csv", "--out", "--save"},
      {"--out sub/../o.csv --plot o.csv", "--out", "--plot"},
      {"--out o.csv --save l.ckp", "--out", "--save"},          // l.ckp is a link to o.csv
      {"--out s/o.csv --plot sub/o.csv", "--out", "--plot"},    // s is a link to sub
  };
  const auto before = files();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.outputs);
    const auto r = run(std::string("simulate --backend cpu --size 3 --steps 5 --quiet ") + c.outputs);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("same file"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.first), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.second), std::string::npos) << r.err;
    EXPECT_EQ(files(), before);
  }
}

// Old builds wrote to the predictable name <target>.tmp.<pid>: a link planted
// there redirected the write into another file.
TEST_F(CliOutputs, APlantedLinkAtTheTemporaryNameIsNotFollowed) {
  write("victim.txt", "precious\n");
  {
    background_run r(dir_, words("simulate --backend cpu --size 3 --steps 5 --quiet --out t.csv --save c.ckp"),
                     [&](pid_t pid) {
                       for (const char* target : {"t.csv", "c.ckp"}) {
                         const std::string name = std::string(target) + ".tmp." + std::to_string(pid);
                         fs::create_symlink("victim.txt", path(name));
                       }
                     });
    EXPECT_EQ(shell_status(r.wait()), 0) << slurp(path("stderr.txt"));
  }
  EXPECT_EQ(slurp(path("victim.txt")), "precious\n");
  EXPECT_FALSE(fs::is_symlink(path("t.csv")));
  EXPECT_EQ(slurp(path("t.csv")).rfind("step,batch,unit,g,x\n", 0), 0u);
}

// The documented choice for a target that is itself a symbolic link: the link
// is replaced by the new file; the file it pointed to is never written.
TEST_F(CliOutputs, AnOutputThatIsALinkIsReplacedNotFollowed) {
  write("victim.txt", "precious\n");
  fs::create_symlink("victim.txt", path("t.csv"));
  fs::create_symlink("nowhere.ckp", path("c.ckp"));  // dangling
  const auto r = run("simulate --backend cpu --size 3 --steps 5 --quiet --out t.csv --save c.ckp");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(path("victim.txt")), "precious\n");
  EXPECT_FALSE(fs::is_symlink(path("t.csv")));
  EXPECT_FALSE(fs::is_symlink(path("c.ckp")));
  EXPECT_FALSE(fs::exists(path("nowhere.ckp")));
  EXPECT_EQ(slurp(path("t.csv")).rfind("step,batch,unit,g,x\n", 0), 0u);
  // A link to a directory is refused like a directory.
  fs::create_directories(path("dir"));
  fs::create_symlink("dir", path("d.csv"));
  const auto d = run("simulate --backend cpu --size 3 --steps 5 --quiet --out d.csv");
  EXPECT_EQ(d.code, 2);
  EXPECT_NE(d.err.find("directory"), std::string::npos) << d.err;
}

// SIGINT, SIGTERM, SIGHUP or SIGQUIT while the run writes its outputs: no
// partial output, no temporary, old outputs untouched (no new checkpoint
// beside an old trace), and the shell sees 128 + the signal (130, 143, ...).
class CliSignals : public CliOutputs, public ::testing::WithParamInterface<int> {};

TEST_P(CliSignals, InterruptedRunLeavesOldOutputsAndNoTemporary) {
  const int sig = GetParam();
  write("t.csv", "old trace\n");
  write("c.ckp", "old checkpoint\n");
  const auto before_v = files();
  const std::set<std::string> before(before_v.begin(), before_v.end());
  background_run r(dir_, words("simulate --backend cpu --size 100 --steps 20000 --record all --rate 50 --quiet"
                               " --out t.csv --save c.ckp --plot p.svg"));
  ASSERT_TRUE(wait_until_writing(r, before)) << "the run never started writing: " << slurp(path("stderr.txt"));
  ::kill(r.pid(), sig);
  EXPECT_EQ(shell_status(r.wait()), 128 + sig) << slurp(path("stderr.txt"));
  EXPECT_EQ(files(), before_v) << "no partial output, no temporary";
  EXPECT_EQ(slurp(path("t.csv")), "old trace\n");
  EXPECT_EQ(slurp(path("c.ckp")), "old checkpoint\n");
}
INSTANTIATE_TEST_SUITE_P(IntTermHupQuit, CliSignals, ::testing::Values(SIGINT, SIGTERM, SIGHUP, SIGQUIT),
                         [](const auto& p) {
                           return std::string(p.param == SIGINT    ? "SIGINT"
                                              : p.param == SIGTERM ? "SIGTERM"
                                              : p.param == SIGHUP  ? "SIGHUP"
                                                                   : "SIGQUIT");
                         });

// A write that fails mid-run (a full disk; here the file-size limit of
// `ulimit -f`) ends the run at once with the reason, and leaves nothing.
TEST_F(CliOutputs, AFailedWriteEndsTheRunAndLeavesNothing) {
  write("t.csv", "old trace\n");
  const std::string cmd = std::string("cd '") + dir_.string() + "' && ulimit -f 512 && timeout 60 '" BIONMDA_CLI_PATH
                          "' simulate --backend cpu --size 10 --steps 10000000000 --record all --quiet --out t.csv"
                          " >stdout.txt 2>stderr.txt";
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(shell_status(status), 2) << "(153: killed by SIGXFSZ; 124: the run went on) " << slurp(path("stderr.txt"));
  EXPECT_NE(slurp(path("stderr.txt")).find("writing 't.csv' failed: " + std::string(std::strerror(EFBIG))),
            std::string::npos)
      << slurp(path("stderr.txt"));
  EXPECT_EQ(files(), std::vector<std::string>{"t.csv"});
  EXPECT_EQ(slurp(path("t.csv")), "old trace\n");
}

// SIGKILL cannot be handled: the temporaries stay. The next run writing the
// same output names them in a warning (and leaves them: they are not provably
// its own).
TEST_F(CliOutputs, StaleTemporaryOfAKilledRunIsReported) {
  std::vector<std::string> left;
  {
    background_run r(dir_, words("simulate --backend cpu --size 100 --steps 20000 --record all --quiet --out t.csv"));
    ASSERT_TRUE(wait_until_writing(r, {}));
    ::kill(r.pid(), SIGKILL);
    r.wait();
    left = files();
  }
  ASSERT_FALSE(left.empty()) << "a SIGKILLed writer leaves its temporary";
  const auto next = run("simulate --backend cpu --size 3 --steps 5 --out t.csv");
  ASSERT_EQ(next.code, 0) << next.err;
  for (const auto& n : left) {
    EXPECT_NE(next.err.find(n), std::string::npos) << "not named: " << n << "\nstderr: " << next.err;
    EXPECT_TRUE(fs::exists(path(n))) << "not the next run's to delete: " << n;
  }
  EXPECT_NE(next.err.find("warning"), std::string::npos) << next.err;
  // A run writing other files says nothing about them.
  const auto other = run("simulate --backend cpu --size 3 --steps 5 --out u.csv");
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(other.err.find("warning"), std::string::npos) << other.err;
}

// bench --json is checked before any benchmark runs.
TEST_F(CliOutputs, BenchJsonPathIsCheckedBeforeTheBench) {
  fs::create_directories(path("d.json"));
  const std::string fast = "bench --backend cpu --precision float32 --sizes 1000 --min-time 0.01 --repeats 1 --no-reference";
  struct bad_case {
    const char* json;
    const char* message;
  };
  for (const bad_case& c : {bad_case{"/nonexistent/x.json", "/nonexistent"}, bad_case{"d.json", "is a directory"},
                            bad_case{".", "directory"}, bad_case{"x.txt", ".json"}}) {
    SCOPED_TRACE(c.json);
    const auto r = run(fast + " --json " + c.json);
    EXPECT_EQ(r.code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("--json"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("benchmark"), std::string::npos) << "the bench ran first: " << r.out;
    EXPECT_EQ(files(), std::vector<std::string>{"d.json"});
  }
  const auto ok = run(fast + " --json b.json");
  ASSERT_EQ(ok.code, 0) << ok.err;
  const auto j = nlohmann::json::parse(slurp(path("b.json")));
  EXPECT_EQ(j.at("results").size(), 1u);
  EXPECT_EQ(files(), (std::vector<std::string>{"b.json", "d.json"}));
}

// bench --window: one row per input kind and window, after the compute
// ceiling (a window with no input), each with its window, path and fraction
// of the ceiling; K = 1 is the per-step path except for bit masks, which have
// no per-step form.
TEST_F(Cli, BenchWindowsAndTheComputeCeiling) {
  const auto r = run("bench --backend cpu --precision float32 --sizes 1000 --min-time 0.001 --repeats 1 --no-reference"
                     " --input dense bits events presynaptic poisson --window 1 4 --ceiling 16 --json b.json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(path("b.json")));
  const auto& rows = j.at("results");
  ASSERT_EQ(rows.size(), 1u + 5u * 2u) << rows.dump();
  EXPECT_EQ(rows[0].at("input"), "none");
  EXPECT_EQ(rows[0].at("path"), "ceiling");
  EXPECT_EQ(rows[0].at("window"), 16);
  EXPECT_EQ(rows[0].at("compute_fraction"), 1.0);
  const double ceiling = rows[0].at("unit_steps_per_s").get<double>();
  std::size_t k = 1;
  for (const char* input : {"dense", "bits", "events", "presynaptic", "poisson"}) {
    for (const int window : {1, 4}) {
      SCOPED_TRACE(std::string(input) + " window " + std::to_string(window));
      const auto& row = rows.at(k++);
      EXPECT_EQ(row.at("input"), input);
      EXPECT_EQ(row.at("window"), window);
      EXPECT_EQ(row.at("path"), window == 1 && std::string(input) != "bits" ? "step" : "window");
      const double rate = row.at("unit_steps_per_s").get<double>();
      EXPECT_GT(rate, 0.0);
      EXPECT_DOUBLE_EQ(row.at("compute_fraction").get<double>(), rate / ceiling);
      EXPECT_GT(row.at("copy_fraction").get<double>(), 0.0);
      // A window moves the state once per pass: fewer bytes per unit-step.
      if (window == 4) {
        EXPECT_LT(row.at("bytes_per_unit_step").get<double>(), rows.at(k - 2).at("bytes_per_unit_step").get<double>());
      }
    }
  }
  EXPECT_EQ(j.at("windows"), nlohmann::json({1, 4}));
  EXPECT_EQ(j.at("ceiling_window"), 16);
  // Without --window: the per-step rows only, no ceiling.
  const auto plain = run("bench --backend cpu --precision float32 --sizes 1000 --min-time 0.001 --repeats 1"
                         " --no-reference --json c.json");
  ASSERT_EQ(plain.code, 0) << plain.err;
  const auto c = nlohmann::json::parse(slurp(path("c.json")));
  ASSERT_EQ(c.at("results").size(), 1u);
  EXPECT_EQ(c.at("results")[0].at("path"), "step");
  EXPECT_EQ(c.at("results")[0].at("window"), 1);
}

// A spike file costs memory per spike, not per step: 10^12 steps with three
// spikes is three entries (the earlier list per step was 24 TB).
TEST(SpikeTrain, MemoryFollowsTheSpikesNotTheSteps) {
  const std::int64_t steps = 1'000'000'000'000;
  const auto t = io::parse_spike_csv("step,batch,unit\n999999999999,1,2\n5,0,1\n5,1,0\n", "s.csv", steps, 2, 3);
  EXPECT_EQ(t.count(), 3);
  EXPECT_EQ(t.spike_step.capacity(), 3u);
  EXPECT_EQ(t.at(0).size, 0);
  const auto at5 = t.at(5);
  ASSERT_EQ(at5.size, 2);
  EXPECT_EQ(std::set<std::int64_t>(at5.data, at5.data + 2), (std::set<std::int64_t>{1, 3}));
  const auto last = t.at(steps - 1);
  ASSERT_EQ(last.size, 1);
  EXPECT_EQ(last.data[0], 5);
  EXPECT_EQ(t.at(6).size, 0);
  // The same from .npy, in step order.
  std::vector<std::uint8_t> dense(4 * 3, 0);
  dense[3 * 3 + 1] = dense[1 * 3 + 0] = dense[1 * 3 + 2] = 1;
  const auto n = io::spikes_from_npy(io::parse_npy(std::vector<std::uint8_t>([&] {
                                                      const std::string b = io::npy_bytes("|u1", {4, 3}, dense.data(), dense.size());
                                                      return std::vector<std::uint8_t>(b.begin(), b.end());
                                                    }()),
                                                    "s.npy"),
                                     "s.npy", steps, 1, 3);
  EXPECT_EQ(n.count(), 3);
  EXPECT_EQ(n.at(1).size, 2);
  EXPECT_EQ(n.at(3).size, 1);
  EXPECT_EQ(n.at(2).size, 0);
}

// The tool with such a file runs (no std::bad_alloc): still stepping when
// timeout ends it.
TEST_F(Cli, SpikeFileForAVeryLongRunNeedsNoMemoryPerStep) {
  write("s.csv", "step,unit\n0,1\n7,2\n");
  const std::string cmd = std::string("cd '") + dir_.string() + "' && timeout 5 '" BIONMDA_CLI_PATH
                          "' simulate --backend cpu --size 3 --steps 1000000000000 --spikes s.csv --quiet"
                          " >stdout.txt 2>stderr.txt";
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 124) << slurp(path("stderr.txt"));
}

// The SVG plot keeps at most trace_plot::default_max_points points per line,
// each bucket's minimum and maximum: the axes, ticks and each line's extremes
// are those of the full plot.
TEST(TracePlot, DecimatedPlotKeepsTheRangeAndThePeaks) {
  io::trace_layout l;
  l.batch = 2;
  l.units = {0, 4, 9};
  l.records = 25'013;  // not a multiple of the bucket
  std::mt19937_64 rng(4);
  io::trace_plot small(l), full(l, 1u << 30);
  std::vector<double> g(6), x(6);
  for (std::int64_t s = 0; s < l.records; ++s) {
    for (std::size_t q = 0; q < 6; ++q) {
      // Rare narrow peaks on a slow wave: what plain striding would miss.
      g[q] = 0.3 + 0.2 * std::sin(static_cast<double>(s) * 1e-3 + static_cast<double>(q)) +
             (rng() % 5000 == 0 ? 0.4 : 0.0);
      x[q] = rng() % 7919 == 0 ? 1.0 : 0.01 * static_cast<double>(q);
    }
    small.record(s + 100, g, x);
    full.record(s + 100, g, x);
  }
  const std::string a = small.svg(), b = full.svg();
  // Lines as lists of (x, y) pixels; everything else must be identical.
  auto split = [](const std::string& svg, std::vector<std::vector<std::pair<double, double>>>& lines) {
    std::string rest;
    std::size_t at = 0;
    for (;;) {
      const std::size_t p = svg.find("points=\"", at);
      if (p == std::string::npos) break;
      const std::size_t e = svg.find('"', p + 8);
      rest += svg.substr(at, p - at);
      std::istringstream in(svg.substr(p + 8, e - p - 8));
      std::vector<std::pair<double, double>> pts;
      double px, py;
      char comma;
      while (in >> px >> comma >> py) pts.emplace_back(px, py);
      lines.push_back(pts);
      at = e;
    }
    return rest + svg.substr(at);
  };
  std::vector<std::vector<std::pair<double, double>>> la, lb;
  EXPECT_EQ(split(a, la), split(b, lb)) << "axes, ticks and legend";
  ASSERT_EQ(la.size(), 12u);
  ASSERT_EQ(lb.size(), 12u);
  for (std::size_t k = 0; k < la.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(lb[k].size(), static_cast<std::size_t>(l.records));
    EXPECT_LE(la[k].size(), io::trace_plot::default_max_points);
    EXPECT_GE(la[k].size(), io::trace_plot::default_max_points * 9 / 10) << "not needlessly coarse";
    auto ys = [](const auto& pts) {
      auto [lo, hi] = std::minmax_element(pts.begin(), pts.end(), [](auto p, auto q) { return p.second < q.second; });
      return std::make_pair(lo->second, hi->second);
    };
    EXPECT_EQ(ys(la[k]), ys(lb[k])) << "the line's lowest and highest points";
    EXPECT_EQ(la[k].front().first, lb[k].front().first);
    EXPECT_EQ(la[k].back().first, lb[k].back().first);
    EXPECT_TRUE(std::is_sorted(la[k].begin(), la[k].end(), [](auto p, auto q) { return p.first < q.first; }))
        << "in time order";
  }
}

}  // namespace
