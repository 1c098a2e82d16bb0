// `bionmda bench`: step throughput against the memory-bandwidth roofline.
#include <cstdio>
#include <memory>
#include <ostream>
#include <string>

#include "../util/output_set.hpp"
#include "bionmda/error.hpp"
#include "commands.hpp"
#include "step_bench.hpp"

namespace bionmda::cli {

void add_bench(CLI::App& app, int argc, char** argv) {
  auto o = std::make_shared<bench::bench_options>();
  for (int a = 0; a < argc; ++a) o->command += (a ? " " : "") + std::string(argv[a]);
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Time the step on the backend auto picks (or --backend): unit-steps/s, bytes/s and the "
      "fraction of a copy bandwidth measured in the same run; checks against the float64 "
      "reference first");
  cmd->add_option("--backend", o->backend, "auto, cpu or cuda (default auto)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--precision", o->precisions, "float32 and/or float64 (default both)")
      ->check(CLI::IsMember({"float32", "float64"}));
  cmd->add_option("--sizes", o->sizes, "units N to time (default: GPU 2^16..2^26, CPU 2^16..2^23)");
  cmd->add_option("--batch", o->batch, "batch entries B (default 1)")->check(CLI::PositiveNumber);
  cmd->add_option("--input", o->input, "dense, presynaptic or poisson (default dense)")
      ->check(CLI::IsMember({"dense", "presynaptic", "poisson"}));
  cmd->add_option("--rate", o->rate_hz, "input rate [Hz] (default 20)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-time", o->min_time, "seconds of stepping per repeat (default 0.25)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--repeats", o->repeats, "timed repeats, median reported (default 5)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("!--no-reference", o->reference, "do not time the scalar float64 reference");
  cmd->add_flag("--variants", o->variants,
                "also time variants side by side (GPU: fused vs multi-pass Thrust, CUDA graph vs "
                "launches; CPU: 1 vs all threads; both: precision, input form, rate)");
  cmd->add_option("--json", o->json_path, "write every figure, the machine, commit and command here");
  cmd->callback([o, cmd] {
    // --json is checked and its temporary created before any benchmark runs;
    // the file appears only when the bench succeeds.
    detail::output_set outputs;
    bench::bench_options run = *o;
    if (cmd->count("--json") > 0) {
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
