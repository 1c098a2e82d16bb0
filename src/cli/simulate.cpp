// `bionmda simulate`: run a population from options and files, record traces,
// write CSV/.npy/SVG outputs and a checkpoint all together or not at all,
// print a JSON summary on request.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
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
  std::int64_t window = 0;  // steps per window; 0: automatic
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
  std::string size, batch, steps, dt, rate, seed, every, window;
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

// The steps of a window that are recorded: window_trace writes g and x of the
// recorded elements after every step of a window, [K][n_rec] in the state's
// precision and memory space; the tool keeps the rows of its recorded steps.
class window_recorder {
 public:
  window_recorder(population& pop, std::int64_t max_steps)
      : f32_(pop.precision() == precision::float32), n_rec_(pop.recorded_count()), max_steps_(max_steps) {}

  // Steps `steps` (<= max_steps) steps of input, recording every one of them.
  void step(population& pop, std::int64_t steps, const window_input& input) {
    if (f32_) {
      run(pop, steps, input, f_);
    } else {
      run(pop, steps, input, d_);
    }
  }
  // g and x (float64, exactly the state's values) of the recorded elements after step k of the last window.
  void row(std::int64_t k, std::vector<double>& g, std::vector<double>& x) const {
    const auto at = static_cast<std::size_t>(k * n_rec_);
    for (std::size_t r = 0; r < static_cast<std::size_t>(n_rec_); ++r) {
      g[r] = f32_ ? static_cast<double>(f_.g[at + r]) : d_.g[at + r];
      x[r] = f32_ ? static_cast<double>(f_.x[at + r]) : d_.x[at + r];
    }
  }

 private:
  template <class Real>
  struct store {
    std::vector<Real> g, x;                  // host copy, [max_steps][n_rec]
    std::optional<buffer<Real>> dev_g, dev_x; // where a CUDA backend's window writes
  };

  template <class Real>
  void run(population& pop, std::int64_t steps, const window_input& input, store<Real>& s) {
    const std::int64_t size = max_steps_ * n_rec_;
    if (s.g.empty()) {
      s.g.resize(static_cast<std::size_t>(size));
      s.x.resize(static_cast<std::size_t>(size));
      if (pop.space() == memory_space::device) {
        s.dev_g.emplace(pop.make_buffer<Real>(size, "simulate: window trace g"));
        s.dev_x.emplace(pop.make_buffer<Real>(size, "simulate: window trace x"));
      }
    }
    if (s.dev_g) {
      pop.step_window(steps, input, window_trace<Real>(s.dev_g->device_view(), s.dev_x->device_view()));
      s.dev_g->copy_to(host_span<Real>(s.g));
      s.dev_x->copy_to(host_span<Real>(s.x));
    } else {
      pop.step_window(steps, input, window_trace<Real>(host_span<Real>(s.g), host_span<Real>(s.x)));
    }
  }

  bool f32_;
  std::int64_t n_rec_;
  std::int64_t max_steps_;
  store<float> f_;
  store<double> d_;
};

// The spikes of a file for the window of steps [first, first + steps), as
// the events_window of the same elements: offsets into the file's sorted list.
class file_window {
 public:
  explicit file_window(const io::spike_train& train) : train_(train) {}
  // The window's input: no_spikes when none of its steps has a spike.
  window_input at(std::int64_t first, std::int64_t steps) {
    const auto begin = train_.spike_step.begin();
    const auto end = train_.spike_step.end();
    const auto start = std::lower_bound(begin, end, first);
    offsets_.resize(static_cast<std::size_t>(steps + 1));
    auto next = start;
    for (std::int64_t k = 0; k <= steps; ++k) {
      next = std::lower_bound(next, end, first + k);
      offsets_[static_cast<std::size_t>(k)] = next - start;
    }
    const std::int64_t count = offsets_.back();
    if (count == 0) return no_spikes{};
    return events_window(host_span<const std::int64_t>(offsets_),
                         host_span<const std::int64_t>(train_.spike_element.data() + (start - begin), count));
  }

 private:
  const io::spike_train& train_;
  std::vector<std::int64_t> offsets_;
};

// The window at step s of the run: `window` steps (fewer at the end). When a
// recorded step lies inside it (before its last step) and recording all of
// its steps would pass max_trace values, it ends at that recorded step
// instead, whose state the tool then gathers.
constexpr std::int64_t max_trace = std::int64_t{1} << 22;  // values per array (16 MiB of float32)

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
  const auto n_rec = static_cast<std::int64_t>(recorded.size());
  // Automatic window: the recording interval, so that each window ends at a
  // recorded step, at most 64 steps (the CPU's tiles and the GPU's registers
  // gain little beyond); 64 when nothing is recorded.
  const std::int64_t window = o.window > 0 ? o.window : recording ? std::min<std::int64_t>(o.every, 64) : 64;
  // Windows with a recorded step before their end record all their steps.
  const std::int64_t traced_steps =
      recording ? std::min({window, o.steps, std::max<std::int64_t>(1, max_trace / std::max<std::int64_t>(1, n_rec))})
                : 0;
  std::optional<window_recorder> traced;
  if (traced_steps > 1) {
    pop.set_recorded_elements(host_span<const std::int64_t>(recorded));
    traced.emplace(pop, traced_steps);
  }
  file_window file_spikes(spikes);
  auto record = [&](std::int64_t s) {
    if (trace_out) {
      trace_out->record(first_step + s, rec_g, rec_x);
      if (!out_file->stream()) out_file->finish();  // a failed write (disk full) ends the run, naming why
    }
    if (plot) plot->record(first_step + s, rec_g, rec_x);
  };

  const auto t0 = std::chrono::steady_clock::now();
  {
    progress bar(!o.quiet, o.steps);
    for (std::int64_t s = 0; s < o.steps;) {
      std::int64_t len = std::min(window, o.steps - s);
      // s + next is the first recorded step from s on (no overflow for any --every).
      const std::int64_t next = o.every - 1 - s % o.every;
      bool trace = false;
      if (recording && next < len - 1) {  // a recorded step before the window's last
        if (len <= traced_steps) {
          trace = true;
        } else {
          len = next + 1;
        }
      }
      // The file's spikes of the window as sparse events: no N*B mask. A
      // host event list is staged by the CUDA backend, so this waits
      // (once per window) before the offsets are reused.
      window_input input = no_spikes{};
      if (!o.spikes.empty()) {
        input = file_spikes.at(s, len);
      } else if (o.rate >= 0) {
        input = poisson{o.rate, seed};
      }
      const bool host_events = !std::holds_alternative<no_spikes>(input) && !std::holds_alternative<poisson>(input);
      if (trace) {
        traced->step(pop, len, input);
        for (std::int64_t k = next;; k += o.every) {
          traced->row(k, rec_g, rec_x);
          record(s + k);
          if (len - 1 - k < o.every) break;  // k + every would pass the window (or overflow)
        }
      } else {
        if (host_events) {
          pop.step_window(len, input);
        } else {
          pop.step_window_async(len, input);
        }
        if (recording && next == len - 1) {
          pop.gather(host_span<const std::int64_t>(recorded), host_span<double>(rec_g), host_span<double>(rec_x));
          record(s + next);
        }
      }
      s += len;
      bar.update(s);
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
                        {"window", window},
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
  cmd->add_option("--window", n->window,
                  "advance K steps per pass over the state, in [1, 65536] (default: --every, at most 64; "
                  "64 when nothing is recorded); the outputs are the same for every K");
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
    if (given("--window")) o->window = parse_integer(n->window, "--window", 1, max_window);
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
