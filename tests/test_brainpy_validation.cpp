// Agreement with the real brainpy.state.BioNMDA: each fixture under
// tests/data/brainpy (made by tools/brainpy_reference.py) is re-run through
// `bionmda simulate` on the CPU backend in both precisions and compared with
// BrainPy's float64 trace.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bionmda/parameters.hpp"

namespace {

using bionmda::kinetic_parameters;
using bionmda::parameter_info;

namespace fs = std::filesystem;
const fs::path data_dir = BIONMDA_TEST_DATA_DIR "/brainpy";

struct row {
  long long step, batch, unit;
  double g, x;
};

std::vector<row> read_trace(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "step,batch,unit,g,x") << p;
  std::vector<row> rows;
  while (std::getline(in, line)) {
    row r{};
    char c;
    std::istringstream ls(line);
    ls >> r.step >> c >> r.batch >> c >> r.unit >> c >> r.g >> c >> r.x;
    rows.push_back(r);
  }
  return rows;
}

// A number, or a file with one value per unit written next to the outputs.
std::string value_option(const nlohmann::json& v, const fs::path& dir, const std::string& name) {
  if (v.is_number()) {
    std::ostringstream s;
    s.precision(17);
    s << v.get<double>();
    return s.str();
  }
  const fs::path f = dir / (name + ".txt");
  std::ofstream out(f);
  out.precision(17);
  for (const auto& a : v) out << a.get<double>() << "\n";
  return f.string();
}

struct run_output {
  std::vector<row> rows;
  nlohmann::json meta;
};

run_output run_case(const std::string& name, const std::string& precision) {
  const fs::path src = data_dir / name;
  const nlohmann::json c = nlohmann::json::parse(std::ifstream(src / "case.json"));
  const fs::path work = fs::temp_directory_path() / ("bionmda_brainpy_" + name + "_" + precision + "_" +
                                                     std::to_string(::getpid()));
  fs::create_directories(work);
  std::ostringstream cmd;
  cmd.precision(17);
  cmd << "'" BIONMDA_CLI_PATH "' simulate --backend cpu --quiet --precision " << precision
      << " --size " << c.at("units").get<long long>() << " --batch " << c.at("batch").get<long long>()
      << " --steps " << c.at("steps").get<long long>() << " --dt " << c.at("dt").get<double>()
      << " --every " << c.at("every").get<long long>() << " --record all";
  const auto& p = c.at("params");
  for (const parameter_info& info : kinetic_parameters) {  // case.json uses BrainPy's names
    cmd << " --" << info.cli_name << " " << value_option(p.at(info.name), work, info.name);
  }
  cmd << " --g0 " << value_option(c.at("g0"), work, "g0") << " --x0 " << value_option(c.at("x0"), work, "x0");
  cmd << " --spikes '" << (src / "spikes.csv").string() << "' --out '" << (work / "out.csv").string() << "'";
  const int status = std::system(cmd.str().c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd.str();
  run_output r{read_trace(work / "out.csv"), c};
  fs::remove_all(work);
  return r;
}

// Largest |g| and |x| difference between two traces of the same shape.
double max_diff(const std::vector<row>& a, const std::vector<row>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
    EXPECT_EQ(a[k].step, b[k].step);
    EXPECT_EQ(a[k].unit, b[k].unit);
    worst = std::max({worst, std::fabs(a[k].g - b[k].g), std::fabs(a[k].x - b[k].x)});
  }
  return worst;
}

class BrainPyFixture : public ::testing::TestWithParam<const char*> {};

// float64: same formulas, the fixtures' values printed with 17 digits; 1e-10
// absolute leaves room for expm1 implementations and summation order.
// float32: rounding of ~6e-8 per operation, contracted by the decay; 2e-6.
TEST_P(BrainPyFixture, MatchesBrainPyInBothPrecisions) {
  const std::string name = GetParam();
  const auto expected = read_trace(data_dir / name / "trace.csv");
  ASSERT_FALSE(expected.empty());
  const auto f64 = run_case(name, "float64");
  const auto f32 = run_case(name, "float32");
  const double d64 = max_diff(f64.rows, expected);
  const double d32 = max_diff(f32.rows, expected);
  RecordProperty("max_diff_float64", std::to_string(d64));
  RecordProperty("max_diff_float32", std::to_string(d32));
  std::printf("[ brainpy  ] %-14s float64 max |diff| %.3g, float32 max |diff| %.3g\n", name.c_str(), d64, d32);
  EXPECT_LE(d64, 1e-10);
  EXPECT_LE(d32, 2e-6);
  // The fixture is not trivial: something opened.
  double gmax = 0;
  for (const auto& r : expected) gmax = std::max(gmax, r.g);
  if (name != "tdur_zero") {
    EXPECT_GT(gmax, 0.05);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, BrainPyFixture,
                         ::testing::Values("defaults", "heterogeneous", "batch3", "high_rate",
                                           "nonzero_init", "tdur_zero", "long_run"));

// dt = 0.1 ms, T_dur = 0.5 ms: BrainPy's float-time test keeps some pulses on
// for 6 steps; bionmda counts exactly 5 (docs/validation.md). The traces agree
// until the first 6-step pulse passes its fifth step, then differ.
TEST(BrainPyPulseRounding, DiffersExactlyWhereBrainPyGivesSixSteps) {
  const auto expected = read_trace(data_dir / "dt01_tdur05" / "trace.csv");
  const auto out = run_case("dt01_tdur05", "float64");
  long long first_six = -1;
  int six = 0, five = 0;
  for (const auto& s : out.meta.at("brainpy_pulse_steps")) {
    if (s.at("steps_on") == 6) {
      ++six;
      if (first_six < 0) first_six = s.at("step").get<long long>();
    } else {
      ++five;
      EXPECT_EQ(s.at("steps_on"), 5);
    }
  }
  ASSERT_GT(six, 0);
  ASSERT_GT(five, 0);
  const long long n_units = out.meta.at("units").get<long long>();
  double before = 0, after = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const double d = std::max(std::fabs(out.rows[k].g - expected[k].g), std::fabs(out.rows[k].x - expected[k].x));
    // The 6th step of BrainPy's first long pulse is step first_six + 5.
    if (expected[k].step < first_six + 5) before = std::max(before, d);
    else after = std::max(after, d);
  }
  (void)n_units;
  std::printf("[ brainpy  ] dt01_tdur05 max |diff| before the first 6-step pulse %.3g, after %.3g\n", before, after);
  EXPECT_LE(before, 1e-10);
  EXPECT_GT(after, 1e-3) << "the sixth BrainPy step must show in the trace";
}


// Pulse length in steps per docs/model.md, written here from the contract:
// n = #{k >= 0 : k*dt < T_dur}, a ratio within 1e-9 relative of an integer
// counting as that integer, n = 0 for T_dur = 0.
long long contract_pulse_steps(double T_dur, double dt) {
  if (T_dur == 0) return 0;
  const double r = T_dur / dt;
  const double nearest = std::round(r);
  if (std::fabs(r - nearest) <= 1e-9 * std::max(std::fabs(r), 1.0)) return static_cast<long long>(nearest);
  return static_cast<long long>(std::ceil(r));
}

// For each (batch, unit): the first step at which BrainPy's transmitter
// differs from bionmda's, from the fixture's per-spike pulse lengths
// (`brainpy_pulse_steps`, read by tools/brainpy_reference.py from BrainPy's
// own x trace). A spike at step s whose BrainPy pulse lasts m steps where
// bionmda counts n first differs at step s + min(m, n). No entry: no
// difference in the whole run.
struct pulse_differences {
  std::map<std::pair<long long, long long>, long long> first_step;
  int longer = 0, shorter = 0, same = 0;
};

pulse_differences find_pulse_differences(const nlohmann::json& meta) {
  const double dt = meta.at("dt").get<double>();
  const auto& T_dur = meta.at("params").at("T_dur");
  pulse_differences out;
  for (const auto& s : meta.at("brainpy_pulse_steps")) {
    const long long unit = s.at("unit").get<long long>();
    const double td = T_dur.is_number() ? T_dur.get<double>() : T_dur.at(unit).get<double>();
    const long long n = contract_pulse_steps(td, dt);
    const long long m = s.at("steps_on").get<long long>();
    if (m == n) {
      ++out.same;
      continue;
    }
    ++(m > n ? out.longer : out.shorter);
    const auto key = std::make_pair(s.at("batch").get<long long>(), unit);
    const long long first = s.at("step").get<long long>() + std::min(m, n);
    auto it = out.first_step.find(key);
    if (it == out.first_step.end() || first < it->second) out.first_step[key] = first;
  }
  return out;
}

long long first_difference(const pulse_differences& d, const row& r) {
  auto it = d.first_step.find({r.batch, r.unit});
  return it == d.first_step.end() ? std::numeric_limits<long long>::max() : it->second;
}

// Every row before its unit's first differing step agrees within tol;
// names the first row that does not.
::testing::AssertionResult agrees_before_first_difference(const std::vector<row>& actual,
                                                          const std::vector<row>& expected,
                                                          const pulse_differences& d, double tol) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << "trace has " << actual.size() << " rows, BrainPy's " << expected.size();
  }
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const row& a = actual[k];
    const row& e = expected[k];
    if (a.step != e.step || a.batch != e.batch || a.unit != e.unit) {
      return ::testing::AssertionFailure() << "row " << k << " is step " << a.step << " unit " << a.unit
                                           << ", BrainPy's step " << e.step << " unit " << e.unit;
    }
    if (e.step >= first_difference(d, e)) continue;
    const double dg = std::fabs(a.g - e.g), dx = std::fabs(a.x - e.x);
    if (!(dg <= tol && dx <= tol)) {  // NaN fails too
      return ::testing::AssertionFailure() << "step " << e.step << " batch " << e.batch << " unit " << e.unit
                                           << " (before its first pulse difference): g " << a.g << " vs BrainPy "
                                           << e.g << ", x " << a.x << " vs " << e.x << " (tolerance " << tol << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

// Fixtures whose spikes are isolated and whose case.json records BrainPy's
// pulse length per spike: dt01_tdur05 (t precomputed, float-time rounding)
// and the jit_t_* cases (t = i*dt made inside the compiled loop, where XLA
// contracts t - t_spike into a fused multiply-add; docs/validation.md).
// bionmda must agree with BrainPy exactly wherever BrainPy's pulses had
// bionmda's length, and differ exactly at the step where a pulse did not.
class BrainPyPulseLengths : public ::testing::TestWithParam<const char*> {};

TEST_P(BrainPyPulseLengths, AgreeUntilTheFirstDifferentPulseAndDifferThere) {
  const std::string name = GetParam();
  const auto expected = read_trace(data_dir / name / "trace.csv");
  ASSERT_FALSE(expected.empty());
  const auto f64 = run_case(name, "float64");
  const auto f32 = run_case(name, "float32");
  ASSERT_EQ(f64.meta.at("every").get<long long>(), 1) << "the differing step must be a recorded row";
  const pulse_differences d = find_pulse_differences(f64.meta);
  std::printf("[ brainpy  ] %-17s t_mode %s: BrainPy pulses as long as bionmda's %d, longer %d, shorter %d; "
              "%zu of %lld units differ somewhere\n",
              name.c_str(), f64.meta.at("t_mode").get<std::string>().c_str(), d.same, d.longer, d.shorter,
              d.first_step.size(), f64.meta.at("units").get<long long>() * f64.meta.at("batch").get<long long>());
  // The fixture shows the effect it was made for (otherwise this test would
  // only repeat MatchesBrainPyInBothPrecisions).
  ASSERT_GT(d.longer + d.shorter, 0) << name << ": no spike with a pulse length other than bionmda's";
  ASSERT_GT(d.same, 0) << name << ": no spike with bionmda's pulse length";

  // Same tolerances as MatchesBrainPyInBothPrecisions.
  EXPECT_TRUE(agrees_before_first_difference(f64.rows, expected, d, 1e-10)) << "float64";
  EXPECT_TRUE(agrees_before_first_difference(f32.rows, expected, d, 2e-6)) << "float32";

  // At each unit's first differing step the transmitter is on in one and off
  // in the other: x moves by dt*alpha2*T*(1-x) (>= 0.02 here) in one of them.
  int checked = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const row& e = expected[k];
    if (e.step != first_difference(d, e)) continue;
    ++checked;
    const double dx = std::fabs(f64.rows[k].x - e.x);
    EXPECT_GT(dx, 1e-3) << "step " << e.step << " unit " << e.unit << ": BrainPy x " << e.x << ", bionmda x "
                        << f64.rows[k].x << " should differ where the pulse lengths differ";
  }
  EXPECT_EQ(checked, static_cast<int>(d.first_step.size()));
}

INSTANTIATE_TEST_SUITE_P(Cases, BrainPyPulseLengths,
                         ::testing::Values("dt01_tdur05", "jit_t_mixed_tdur", "jit_t_dt005_tdur1"));

}  // namespace
