// `bionmda simulate`: run a population from options and files, record traces,
// write CSV/.npy/SVG outputs and a checkpoint all together or not at all,
// print a JSON summary on request.
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../io/message_text.hpp"
#include "../io/spike_file.hpp"
#include "../io/trace.hpp"
#include "../io/unit_values.hpp"
#include "../util/output_set.hpp"
#include "bionmda/bionmda.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace bionmda::cli {
namespace {

struct simulate_options {
  std::int64_t size = 1000;
  std::int64_t batch = 1;
  std::int64_t steps = 1000;
  double dt = 0.1;
  // Text of each kinetic parameter option, in the order of kinetic_parameters;
  // add_simulate fills in the defaults.
  std::array<std::string, kinetic_parameters.size()> params;
  std::string g0 = "0", x0 = "0";
  std::string backend = "auto";
  std::string precision = "float32";
  std::string spikes;
  double rate = -1;
  std::uint64_t seed = 0;
  std::string record;
  bool record_given = false;
  std::int64_t every = 1;
  std::string out;
  std::string plot;
  bool json = false;
  bool quiet = false;
  std::string save;
  std::string load;
  bool model_options_given = false;  // any of size, batch, dt, precision, parameters, g0, x0
  bool seed_given = false;
  bool out_given = false, plot_given = false, save_given = false;  // also when empty
};

// The numeric options as given on the command line, parsed by options.cpp.
struct simulate_numbers {
  std::string size, batch, steps, dt, rate, seed, every;
};

[[noreturn]] void fail(const std::string& what) { throw error("bionmda: " + what); }

std::string option_of(const parameter_info& info) { return std::string("--") + info.cli_name; }

// A number, or a file of one value per unit; either must be in range.
unit_value unit_option(const std::string& text, const std::string& option, std::int64_t units,
                       const io::value_range& range) {
  if (auto v = parse_number_or_file(text, option, range)) return *v;
  return io::read_unit_values(text, units, option, range);
}

initial_value initial_option(const std::string& text, const std::string& option, std::int64_t units) {
  const io::value_range unit_interval{0, 1};
  if (auto v = parse_number_or_file(text, option, unit_interval)) return initial_value::constant(*v);
  return initial_value::per_unit(io::read_unit_values(text, units, option, unit_interval));
}

// A live progress line on stderr, shown only on a terminal and for runs
// longer than a second.
class progress {
 public:
  progress(bool enabled, std::int64_t total) : enabled_(enabled && ::isatty(2) != 0), total_(total) {}
  void update(std::int64_t done) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (elapsed < 1.0 || std::chrono::duration<double>(now - last_).count() < 0.2) return;
    last_ = now;
    const double rate = static_cast<double>(done) / elapsed;
    const double left = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    std::fprintf(stderr, "\r%lld/%lld steps, %.0f steps/s, %.1f s left   ",
                 static_cast<long long>(done), static_cast<long long>(total_), rate, left);
    shown_ = true;
  }
  ~progress() {
    if (shown_) std::fprintf(stderr, "\r%60s\r", "");
  }
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

 private:
  bool enabled_;
  std::int64_t total_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

void run_simulate(const simulate_options& given) {
  simulate_options o = given;
  if (!o.load.empty()) {
    if (o.model_options_given) {
      fail("--load takes sizes, dt, precision, parameters and state from the checkpoint; do not also pass "
           "--size, --batch, --dt, --precision, " +
           option_of(kinetic_parameters.front()) + ".." + option_of(kinetic_parameters.back()) + ", --g0 or --x0");
    }
    const checkpoint_info info = read_checkpoint_info(o.load);
    o.size = info.units;
    o.batch = info.batch;
    o.dt = info.dt;
    o.precision = to_string(info.precision);
  }
  if (!o.spikes.empty() && o.rate >= 0) fail("--spikes and --rate are exclusive: give one spike source");

  // Every output checked and its temporary created before anything runs;
  // they are renamed together at the end, or all removed.
  detail::output_set outputs;
  detail::temporary_file* out_file = o.out_given ? &outputs.add("--out", o.out, {".csv", ".npy"}) : nullptr;
  detail::temporary_file* plot_file = o.plot_given ? &outputs.add("--plot", o.plot, {".svg"}) : nullptr;
  detail::temporary_file* save_file = o.save_given ? &outputs.add("--save", o.save, {".ckp"}) : nullptr;
  for (const std::string& w : outputs.warnings()) std::fprintf(stderr, "bionmda: warning: %s\n", w.c_str());

  population_config cfg;
  cfg.units = o.size;
  cfg.batch = o.batch;
  cfg.dt = o.dt;
  cfg.backend = parse_backend(o.backend);
  // The tool resolves `auto` itself: the library's own notice of a CPU
  // fallback could not be silenced by --quiet.
  const bool cpu_fallback = cfg.backend == backend::automatic && resolve_backend(backend::automatic) == backend::cpu;
  if (cpu_fallback) cfg.backend = backend::cpu;
  cfg.precision = parse_precision(o.precision);
  for (std::size_t k = 0; k < kinetic_parameters.size(); ++k) {
    const parameter_info& info = kinetic_parameters[k];
    cfg.params.*info.member = unit_option(o.params[k], option_of(info), o.size, io::value_range{info.minimum});
  }
  cfg.g0 = initial_option(o.g0, "--g0", o.size);
  cfg.x0 = initial_option(o.x0, "--x0", o.size);
  // --spikes passes host-memory event lists, which the CUDA backend stages
  // through a device buffer; other runs save that buffer.
  cfg.host_input_staging = !o.spikes.empty();

  // Read and check every input before the (possibly long) run.
  io::spike_train spikes;
  if (!o.spikes.empty()) spikes = io::read_spike_file(o.spikes, o.steps, o.batch, o.size);
  io::trace_layout tr;
  tr.batch = o.batch;
  if (o.record_given) {
    tr.units = parse_record(o.record, o.size);
  } else if (o.size <= 100) {
    tr.units = parse_record("all", o.size);
  }
  tr.records = o.steps / o.every;
  tr.float32 = cfg.precision == precision::float32;
  tr.dt = o.dt;
  if ((out_file != nullptr || plot_file != nullptr) && tr.units.empty()) {
    const std::string which = out_file != nullptr && plot_file != nullptr ? "--out and --plot"
                              : out_file != nullptr                     ? "--out"
                                                                        : "--plot";
    if (o.record_given && o.record == "none") {
      fail(which + " would be empty: --record none records no unit; drop " + which +
           ", or record units with --record all or --record i,j,k");
    }
    if (o.size == 0) fail(which + " would be empty: the population has no unit (--size 0)");
    fail(which + " needs recorded units: with more than 100 units (here " + std::to_string(o.size) +
         ") none is recorded by default; pass --record all or --record i,j,k");
  }
  // The trace goes to its file as it is recorded; the plot keeps a bounded summary.
  std::optional<io::trace_writer> trace_out;
  if (out_file != nullptr) trace_out.emplace(out_file->stream(), *io::trace_format_of(o.out), tr);
  std::optional<io::trace_plot> plot;
  if (plot_file != nullptr) plot.emplace(tr);
  const bool recording = trace_out || plot;

  std::uint64_t seed = o.seed;
  std::int64_t first_step = 0;
  population pop = [&] {
    if (o.load.empty()) return population(cfg);
    checkpoint_info info;
    population loaded = load_checkpoint(o.load, cfg.backend, &info);
    if (!o.seed_given) seed = info.poisson_seed;
    first_step = info.step_count;
    return loaded;
  }();
  if (cpu_fallback && !o.quiet) {
    std::fprintf(stderr, "bionmda: no usable CUDA device (%s); using the CPU backend\n",
                 cuda_unavailable_reason().c_str());
  }
  // Only the recorded elements cross to the host: gathered where the state lives.
  const std::vector<std::int64_t> recorded = tr.elements(pop.units());
  std::vector<double> rec_g(recorded.size()), rec_x(recorded.size());

  const auto t0 = std::chrono::steady_clock::now();
  {
    progress bar(!o.quiet, o.steps);
    for (std::int64_t s = 0; s < o.steps; ++s) {
      if (!o.spikes.empty()) {
        // The file's element list of this step as sparse events: no N*B mask
        // and no wait. The list outlives the run, so the CUDA backend's
        // upload may read it after step_async returns.
        const host_span<const std::int64_t> hits = spikes.at(s);
        if (hits.size == 0) {
          pop.step_async();
        } else {
          pop.step_async(spike_events(hits));
        }
      } else if (o.rate >= 0) {
        pop.step_async(poisson{o.rate, seed});
      } else {
        pop.step_async();
      }
      if (recording && (s + 1) % o.every == 0) {
        pop.gather(host_span<const std::int64_t>(recorded), host_span<double>(rec_g), host_span<double>(rec_x));
        if (trace_out) {
          trace_out->record(first_step + s, rec_g, rec_x);
          if (!out_file->stream()) out_file->finish();  // a failed write (disk full) ends the run, naming why
        }
        if (plot) plot->record(first_step + s, rec_g, rec_x);
      }
      bar.update(s + 1);
    }
    pop.synchronize();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (trace_out) trace_out->finish();
  if (plot) plot_file->stream() << plot->svg();
  // The checkpoint goes to its temporary (written atomically there too).
  if (save_file != nullptr) save_checkpoint(pop, save_file->path(), seed);
  outputs.commit();

  const double unit_steps = static_cast<double>(pop.elements()) * static_cast<double>(o.steps);
  std::string device = std::string("CPU (") + cpu_instruction_set() + ")";
  if (pop.backend() == backend::cuda) device = cuda_devices().at(static_cast<std::size_t>(cfg.device)).name;
  if (o.json) {
    nlohmann::json j = {{"version", BIONMDA_VERSION_STRING},
                        {"backend", to_string(pop.backend())},
                        {"device", device},
                        {"precision", to_string(pop.precision())},
                        {"N", o.size},
                        {"B", o.batch},
                        {"steps", o.steps},
                        {"dt", o.dt},
                        {"wall_seconds", wall},
                        {"unit_steps_per_second", wall > 0 ? unit_steps / wall : 0.0}};
    std::printf("%s\n", j.dump().c_str());
  } else if (!o.quiet) {
    std::fprintf(stderr, "bionmda: %lld steps of %lld x %lld units on %s (%s) in %.3f s, %.3g unit-steps/s\n",
                 static_cast<long long>(o.steps), static_cast<long long>(o.size),
                 static_cast<long long>(o.batch), to_string(pop.backend()), device.c_str(), wall,
                 wall > 0 ? unit_steps / wall : 0.0);
  }
}

}  // namespace

void add_simulate(CLI::App& app) {
  auto o = std::make_shared<simulate_options>();
  auto n = std::make_shared<simulate_numbers>();
  CLI::App* cmd = app.add_subcommand("simulate", "Run a BioNMDA population and record g and x");
  cmd->add_option("--size", n->size, "units N (default 1000)");
  cmd->add_option("--batch", n->batch, "batch entries B (default 1)");
  cmd->add_option("--steps", n->steps, "time steps S (default 1000)");
  cmd->add_option("--dt", n->dt, "time step [ms] (default 0.1)");
  for (std::size_t k = 0; k < kinetic_parameters.size(); ++k) {
    const parameter_info& info = kinetic_parameters[k];
    o->params[k] = io::shortest(info.default_value);
    cmd->add_option(option_of(info), o->params[k],
                    std::string(info.meaning) + " [" + info.unit + "]: a number or a file of N values (default " +
                        o->params[k] + ")");
  }
  cmd->add_option("--g0", o->g0, "initial g in [0, 1]: a number or a file of N values (default 0)");
  cmd->add_option("--x0", o->x0, "initial x in [0, 1] (default 0)");
  cmd->add_option("--backend", o->backend, "auto, cpu or cuda (default auto)");
  cmd->add_option("--precision", o->precision, "float32 or float64 (default float32)");
  cmd->add_option("--spikes", o->spikes, "spike file: .csv (step,unit or step,batch,unit) or .npy [S,N]/[S,B,N]");
  cmd->add_option("--rate", n->rate, "independent Poisson input [Hz]");
  cmd->add_option("--seed", n->seed, "seed of the Poisson input, in [0, 2^64) (default 0)");
  cmd->add_option("--record", o->record, "units to record: all, none or i,j,k (default all when N <= 100)");
  cmd->add_option("--every", n->every, "record every K-th step (default 1)");
  cmd->add_option("--out", o->out, "trace file: .csv or .npy");
  cmd->add_option("--plot", o->plot, "trace plot: .svg");
  cmd->add_flag("--json", o->json, "print a one-object JSON summary on stdout");
  cmd->add_flag("--quiet", o->quiet, "no progress line or summary on stderr");
  cmd->add_option("--save", o->save, "write a checkpoint (.ckp) of the final state (and the Poisson seed) here");
  cmd->add_option("--load", o->load,
                  "start from a checkpoint: its sizes, dt, precision, parameters, state and step counter "
                  "(recorded steps continue its numbering; the Poisson seed defaults to the saved one)");
  cmd->callback([o, n, cmd] {
    const auto given = [&](const char* name) { return cmd->count(name) > 0; };
    if (given("--size")) o->size = parse_integer(n->size, "--size", 0);
    if (given("--batch")) o->batch = parse_integer(n->batch, "--batch", 1);
    if (given("--steps")) o->steps = parse_integer(n->steps, "--steps", 0);
    if (given("--dt")) o->dt = parse_real(n->dt, "--dt", io::value_range{0, io::value_range{}.max, true});
    if (given("--rate")) o->rate = parse_real(n->rate, "--rate", io::value_range{0});
    if (given("--seed")) o->seed = parse_seed(n->seed);
    if (given("--every")) o->every = parse_integer(n->every, "--every", 1);
    o->record_given = given("--record");
    parse_choice(o->backend, "--backend", {"auto", "cpu", "cuda"});
    parse_choice(o->precision, "--precision", {"float32", "float64"});
    std::vector<std::string> model_options = {"--size", "--batch", "--dt", "--precision", "--g0", "--x0"};
    for (const parameter_info& info : kinetic_parameters) model_options.push_back(option_of(info));
    for (const std::string& name : model_options) {
      if (cmd->count(name) > 0) o->model_options_given = true;
    }
    o->seed_given = cmd->count("--seed") > 0;
    o->out_given = cmd->count("--out") > 0;
    o->plot_given = cmd->count("--plot") > 0;
    o->save_given = cmd->count("--save") > 0;
    run_simulate(*o);
  });
}

}  // namespace bionmda::cli
