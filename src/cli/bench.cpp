// `bionmda bench`: step throughput against the memory-bandwidth roofline.
#include <cstdio>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "../util/output_set.hpp"
#include "bionmda/error.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "step_bench.hpp"

namespace bionmda::cli {

void add_bench(CLI::App& app, int argc, char** argv) {
  auto o = std::make_shared<bench::bench_options>();
  // The numeric options as given, parsed by options.cpp.
  struct numbers {
    std::vector<std::string> sizes, windows;
    std::string batch, rate, min_time, repeats, ceiling;
  };
  auto n = std::make_shared<numbers>();
  for (int a = 0; a < argc; ++a) o->command += (a ? " " : "") + std::string(argv[a]);
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Time the step on the backend auto picks (or --backend): unit-steps/s, bytes/s and the "
      "fraction of a copy bandwidth measured in the same run; checks against the float64 "
      "reference first");
  cmd->add_option("--backend", o->backend, "auto, cpu or cuda (default auto)");
  cmd->add_option("--precision", o->precisions, "float32 and/or float64 (default both)");
  cmd->add_option("--sizes", n->sizes, "units N to time (default: GPU 2^16..2^26, CPU 2^16..2^23)");
  cmd->add_option("--batch", n->batch, "batch entries B (default 1)");
  cmd->add_option("--input", o->inputs,
                  "input kinds, each timed: dense (bytes), bits (bit masks), presynaptic, events (sparse "
                  "lists) and/or poisson (default dense)");
  cmd->add_option("--window", n->windows,
                  "steps per timed pass K, each in [1, 65536]: 1 is the per-step population::step, K > 1 "
                  "population::step_window (default 1)");
  cmd->add_option("--ceiling", n->ceiling,
                  "the compute ceiling: windows of K steps with no input, timed first; every row is also given "
                  "as a fraction of it (default 256 when --window is given, else none; 0: none)");
  cmd->add_option("--rate", n->rate, "input rate [Hz] (default 20)");
  cmd->add_option("--min-time", n->min_time, "seconds of stepping per repeat (default 0.25)");
  cmd->add_option("--repeats", n->repeats, "timed repeats, median reported (default 5)");
  cmd->add_flag("!--no-reference", o->reference, "do not time the scalar float64 reference");
  cmd->add_flag("--variants", o->variants,
                "also time variants side by side (GPU: fused vs multi-pass Thrust, CUDA graph vs "
                "launches; CPU: 1 vs all threads; both: precision, input form, rate)");
  cmd->add_option("--json", o->json_path, "write every figure, the machine, commit and command here");
  cmd->callback([o, n, cmd] {
    const auto given = [&](const char* name) { return cmd->count(name) > 0; };
    parse_choice(o->backend, "--backend", {"auto", "cpu", "cuda"});
    for (const std::string& p : o->precisions) parse_choice(p, "--precision", {"float32", "float64"});
    for (const std::string& in : o->inputs) {
      parse_choice(in, "--input", {"dense", "bits", "presynaptic", "events", "poisson"});
    }
    if (given("--window")) {
      o->windows.clear();
      for (const std::string& k : n->windows) o->windows.push_back(parse_integer(k, "--window", 1, max_window));
      o->ceiling_window = 256;
    }
    if (given("--ceiling")) o->ceiling_window = parse_integer(n->ceiling, "--ceiling", 0, max_window);
    if (given("--sizes")) o->sizes = parse_sizes(n->sizes);
    if (given("--batch")) o->batch = parse_integer(n->batch, "--batch", 1);
    if (given("--rate")) o->rate_hz = parse_real(n->rate, "--rate", io::value_range{0});
    if (given("--min-time")) {
      o->min_time = parse_real(n->min_time, "--min-time", io::value_range{0, io::value_range{}.max, true});
    }
    if (given("--repeats")) {
      o->repeats = static_cast<int>(parse_integer(n->repeats, "--repeats", 1, std::numeric_limits<int>::max()));
    }
    // --json is checked and its temporary created before any benchmark runs;
    // the file appears only when the bench succeeds.
    detail::output_set outputs;
    bench::bench_options run = *o;
    if (given("--json")) {
      detail::temporary_file& json = outputs.add("--json", o->json_path, {".json"});
      for (const std::string& w : outputs.warnings()) std::fprintf(stderr, "bionmda: warning: %s\n", w.c_str());
      run.write_json = [&json](const std::string& text) { json.stream() << text; };
    }
    const int rc = bench::run_bench(run);
    if (rc != 0) throw bionmda::error("bionmda: bench failed (exit " + std::to_string(rc) + ")");
    outputs.commit();
  });
}

}  // namespace bionmda::cli
