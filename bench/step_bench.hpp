#pragma once
// The engine behind `bionmda bench`: a size sweep of the step (per step and
// in windows of K steps) against the copy roofline and a compute ceiling, and
// the variants timed side by side.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bionmda::bench {

struct bench_options {
  std::string backend = "auto";
  std::vector<std::string> precisions = {"float32", "float64"};
  std::vector<std::int64_t> sizes;    ///< units N, each >= 1; empty: GPU 2^16..2^26, CPU 2^16..2^23
  std::int64_t batch = 1;
  /// Input kinds, each timed in turn: dense (bytes), bits (bit masks),
  /// presynaptic (bytes gathered through sources), events (sparse lists) or poisson.
  std::vector<std::string> inputs = {"dense"};
  /// Steps per timed pass, each >= 1. 1 is the per-step path (population::step;
  /// for bits, which have no per-step form, a window of one step); K > 1 are
  /// windows of K steps (population::step_window).
  std::vector<std::int64_t> windows = {1};
  /// The compute ceiling: a window of this many steps with no input, so that
  /// neither the state's nor the input's memory traffic counts; every row is
  /// also given as a fraction of it. 0: no ceiling row.
  std::int64_t ceiling_window = 0;
  double rate_hz = 20.0;
  double min_time = 0.25;             ///< seconds of stepping per repeat
  int repeats = 5;                    ///< median of these
  bool reference = true;              ///< also time the scalar float64 reference
  bool variants = false;              ///< also run the side-by-side variants
  std::string json_path;              ///< write every figure here
  /// Where the JSON text goes when set (the tool writes it to a checked
  /// temporary); otherwise it is written to json_path.
  std::function<void(const std::string&)> write_json;
  std::string command;                ///< the command line, for the JSON
};

/// Runs the sweep (and variants); prints tables on stdout. Returns 0, or 1
/// when a backend disagrees with the reference (no speed is reported then).
int run_bench(const bench_options& o);

}  // namespace bionmda::bench
