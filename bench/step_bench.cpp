// Step throughput of a BioNMDA population: unit-steps per second, bytes per
// second, and the fraction of a copy bandwidth measured in the same run.
// Before timing each configuration, a sample is checked against the float64
// reference; a wrong answer gets no speed reported.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "roofline.hpp"
#include "step_bench.hpp"
#if BIONMDA_HAS_CUDA
#include "gpu_variants.hpp"
#endif
#include "bionmda/bionmda.hpp"

#if BIONMDA_HAS_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using namespace bionmda;
using bench::median;

using options = bench::bench_options;

std::vector<std::uint8_t> random_mask(std::mt19937_64& rng, std::int64_t n, double p) {
  std::bernoulli_distribution d(p);
  std::vector<std::uint8_t> m(static_cast<std::size_t>(n));
  for (auto& b : m) b = d(rng) ? 1 : 0;
  return m;
}

// Bit-mask words of a byte mask of rows of n elements (element i of a row:
// bit i % 32 of word i / 32), as bit_window takes them.
std::vector<std::uint32_t> pack_bits(const std::vector<std::uint8_t>& mask, std::int64_t n) {
  const std::int64_t w = (n + 31) / 32;
  const std::int64_t rows = n > 0 ? static_cast<std::int64_t>(mask.size()) / n : 0;
  std::vector<std::uint32_t> words(static_cast<std::size_t>(rows * w), 0u);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t i = 0; i < n; ++i) {
      if (mask[static_cast<std::size_t>(r * n + i)]) words[static_cast<std::size_t>(r * w + i / 32)] |= 1u << (i % 32);
    }
  }
  return words;
}

// The elements of a byte mask that spike, as spike_events and events_window take them.
std::vector<std::int64_t> events_of(const std::vector<std::uint8_t>& mask) {
  std::vector<std::int64_t> e;
  for (std::size_t k = 0; k < mask.size(); ++k) {
    if (mask[k]) e.push_back(static_cast<std::int64_t>(k));
  }
  return e;
}

// The spikes of `steps` steps in the form of one input kind, in host memory:
// the per-step forms for window 1 and the window forms otherwise.
struct host_input {
  std::vector<std::uint8_t> bytes;    // dense, presynaptic: [K][B][len]
  std::vector<std::uint32_t> words;   // bits: [K][B][W]
  std::vector<std::int64_t> offsets;  // events: K + 1
  std::vector<std::int64_t> events;   // events: elements, step after step
};

host_input make_input(const std::string& input, const std::vector<std::vector<std::uint8_t>>& masks,
                      std::int64_t first, std::int64_t steps, std::int64_t row) {
  host_input h;
  h.offsets.push_back(0);
  for (std::int64_t k = 0; k < steps; ++k) {
    const auto& m = masks[static_cast<std::size_t>((first + k) % static_cast<std::int64_t>(masks.size()))];
    if (input == "dense" || input == "presynaptic") {
      h.bytes.insert(h.bytes.end(), m.begin(), m.end());
    } else if (input == "bits") {
      const auto w = pack_bits(m, row);
      h.words.insert(h.words.end(), w.begin(), w.end());
    } else if (input == "events") {
      const auto e = events_of(m);
      h.events.insert(h.events.end(), e.begin(), e.end());
      h.offsets.push_back(static_cast<std::int64_t>(h.events.size()));
    }
  }
  return h;
}

// Checks a heterogeneous sample against the reference with the tests'
// tolerances, through the input form and window the row times (Poisson:
// dense masks; the reference cannot draw its spikes). Returns an empty
// string when correct, else what was wrong.
std::string verify(backend be, precision prec, const std::string& input, std::int64_t window) {
  std::mt19937_64 rng(12345);
  population_config cfg;
  cfg.units = 3001;
  cfg.batch = 2;
  cfg.backend = be;
  cfg.precision = prec;
  std::uniform_real_distribution<double> u(0.5, 2.0);
  std::vector<double> a1(3001), t(3001);
  for (auto& a : a1) a = 2.0 * u(rng);
  for (auto& a : t) a = u(rng);
  cfg.params.alpha1 = a1;
  cfg.params.T = t;
  cfg.g0 = initial_value::uniform(0, 1, 1);
  cfg.x0 = initial_value::uniform(0, 1, 2);
  population pop(cfg);
  reference_population ref(cfg.units, cfg.batch, cfg.dt, cfg.params, pop.g(), pop.x());
  if (input == "presynaptic") {
    // Identity sources: the gathered mask equals the dense one.
    std::vector<std::int32_t> src(3001);
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::int32_t>(i);
    pop.set_presynaptic_sources(host_span<const std::int32_t>(src), 3001);
  }
  const std::string form = input == "poisson" ? "dense" : input;
  for (std::int64_t s = 0; s < 300;) {
    const std::int64_t k = std::min<std::int64_t>(window, 300 - s);
    std::vector<std::vector<std::uint8_t>> masks;
    for (std::int64_t j = 0; j < k; ++j) masks.push_back(random_mask(rng, pop.elements(), 0.05));
    const host_input h = make_input(form, masks, 0, k, cfg.units);
    if (window == 1 && form != "bits") {
      if (form == "presynaptic") pop.step(presynaptic_mask(host_span<const std::uint8_t>(h.bytes)));
      else if (form == "events") pop.step(spike_events(host_span<const std::int64_t>(h.events)));
      else pop.step(dense_mask(host_span<const std::uint8_t>(h.bytes)));
    } else if (form == "bits") {
      pop.step_window(k, bit_window(host_span<const std::uint32_t>(h.words)));
    } else if (form == "events") {
      pop.step_window(k, events_window(host_span<const std::int64_t>(h.offsets), host_span<const std::int64_t>(h.events)));
    } else if (form == "presynaptic") {
      pop.step_window(k, presynaptic_window(host_span<const std::uint8_t>(h.bytes)));
    } else {
      pop.step_window(k, dense_window(host_span<const std::uint8_t>(h.bytes)));
    }
    for (const auto& m : masks) ref.step(m.data());
    s += k;
  }
  const auto g = pop.g();
  const auto x = pop.x();
  for (std::size_t k = 0; k < g.size(); ++k) {
    for (auto [a, r, name] : {std::tuple{g[k], ref.g()[k], "g"}, std::tuple{x[k], ref.x()[k], "x"}}) {
      const bool ok = prec == precision::float64 ? std::fabs(a - r) <= 1e-12 * std::fabs(r)
                                                 : std::fabs(a - r) <= 1e-5;
      if (!ok) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "%s[%zu] = %.17g, reference %.17g", name, k, a, r);
        return buf;
      }
    }
  }
  return {};
}

// Bytes moved per unit-step (reads plus writes of every array touched) by
// passes of `window` steps, for uniform parameters: the state once per pass,
// the input every step. p: spike probability per unit-step.
double bytes_per_unit_step(backend be, precision prec, const std::string& input, std::int64_t batch,
                           double pre_ratio, std::int64_t window, double p) {
  const double real = prec == precision::float32 ? 4.0 : 8.0;
  double state = 2 * real /*g, x read*/ + 2 * real /*g, x written*/ + 2 /*countdown read*/;
  // The CPU writes the countdown back every pass; the GPU only where it changes.
  if (be == backend::cpu) state += 2;
  const auto k = static_cast<double>(window);
  double in = 0;
  if (input == "dense") in = 1;
  if (input == "bits") in = 1.0 / 8;
  // The sources are read once per pass, the gathered bytes every step.
  if (input == "presynaptic") in = 4.0 / (static_cast<double>(batch) * k) + pre_ratio;
  // 8-byte element indices; a window first turns them into a bit window
  // (written, then read).
  if (input == "events") in = 8 * p + (window > 1 ? 2.0 / 8 : 0.0);
  return state / k + in;
}

// Why a row is not measured (its input would not fit), reported in its place.
struct skipped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Host memory one window's input of this kind may take (a larger window is
// refused before the bench starts), and that a pool of windows in rotation may take.
constexpr double max_window_input_bytes = 8.0 * (1 << 30);
constexpr double max_pool_bytes = 1.0 * (1 << 30);

// Bytes of one pass's input of `window` steps.
double window_input_bytes(const std::string& input, std::int64_t n, std::int64_t batch, std::int64_t window,
                          double p) {
  const auto k = static_cast<double>(window), e = static_cast<double>(n * batch);
  if (input == "dense") return k * e;
  if (input == "presynaptic") return k * static_cast<double>(std::max<std::int64_t>(1, n / 100) * batch);
  if (input == "bits") return k * 4.0 * static_cast<double>(batch * ((n + 31) / 32));
  if (input == "events") return k * (8 * p * e + 8);
  return 0;
}

class runner {
 public:
  // input: one of the bench's kinds, or "none" (the ceiling); window: steps per pass.
  runner(backend be, precision prec, const options& o, std::int64_t n, std::string input, std::int64_t window)
      : be_(be), prec_(prec), o_(o), n_(n), input_(std::move(input)), window_(window) {
    population_config cfg;
    cfg.units = n;
    cfg.batch = o.batch;
    cfg.backend = be;
    cfg.precision = prec;
    cfg.host_input_staging = false;
    cfg.g0 = initial_value::uniform(0, 0.5, 1);
    cfg.x0 = initial_value::uniform(0, 0.5, 2);
    pop_ = std::make_unique<population>(cfg);
    const std::int64_t e = pop_->elements();
    n_pre_ = std::max<std::int64_t>(1, n / 100);
    const double p = o.rate_hz * cfg.dt / 1000.0;
    std::mt19937_64 rng(7);
    const std::int64_t mask_len = input_ == "presynaptic" ? n_pre_ * o.batch : e;
    const std::int64_t row = input_ == "presynaptic" ? n_pre_ : n;
    if (input_ == "presynaptic") {
      std::vector<std::int32_t> src(static_cast<std::size_t>(n));
      std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre_ - 1));
      for (auto& s : src) s = pick(rng);
      pop_->set_presynaptic_sources(host_span<const std::int32_t>(src), n_pre_);
    }
    if (input_ == "poisson" || input_ == "none") return;
    // Several masks in rotation (each pass's steps cycle through them), and
    // up to masks_ passes' input at different addresses, so small sizes are
    // not served from cache.
    std::vector<std::vector<std::uint8_t>> masks;
    for (int k = 0; k < masks_; ++k) masks.push_back(random_mask(rng, mask_len, p));
    const double pass_bytes = window_input_bytes(input_, n, o.batch, window_, p);
    if (pass_bytes > max_window_input_bytes) throw skipped("the input of one window would not fit");
    const int passes = std::max(1, std::min(masks_, static_cast<int>(max_pool_bytes / std::max(pass_bytes, 1.0))));
    for (int w = 0; w < passes; ++w) inputs_.push_back(make_input(input_, masks, w * window_, window_, row));
    // On the GPU the inputs live in device memory (out_of_memory if they do not fit).
    if (pop_->space() == memory_space::device) {
      for (const auto& h : inputs_) {
        device_input d;
        d.bytes = upload(h.bytes);
        d.words = upload(h.words);
        d.offsets = upload(h.offsets);
        d.events = upload(h.events);
        device_.push_back(std::move(d));
      }
    }
  }

  // One pass: one step (window 1 outside bits) or one window of window_ steps.
  void pass_async(std::int64_t w) {
    if (input_ == "none") {
      pop_->step_window_async(window_, no_spikes{});
      return;
    }
    if (input_ == "poisson") {
      if (window_ == 1) pop_->step_async(poisson{o_.rate_hz, 99});
      else pop_->step_window_async(window_, poisson{o_.rate_hz, 99});
      return;
    }
    const std::size_t k = static_cast<std::size_t>(w % static_cast<std::int64_t>(inputs_.size()));
    if (!device_.empty()) {
      device_input& d = device_[k];
      pass(d.bytes.device_view(), d.words.device_view(), d.offsets.device_view(), d.events.device_view(), true);
    } else {
      const host_input& h = inputs_[k];
      pass(host_span<const std::uint8_t>(h.bytes), host_span<const std::uint32_t>(h.words),
           host_span<const std::int64_t>(h.offsets), host_span<const std::int64_t>(h.events), false);
    }
  }

  // Median seconds per step over repeats.
  double time_per_step() {
    pass_async(0);  // warm-up
    pop_->synchronize();
    // Calibrate the passes per repeat to about min_time.
    std::int64_t passes = 1;
    for (;;) {
      const double t = run(passes);
      if (t >= o_.min_time / 4 || passes >= (1 << 20)) {
        passes = std::max<std::int64_t>(
            1, static_cast<std::int64_t>(static_cast<double>(passes) * o_.min_time / std::max(t, 1e-9)));
        break;
      }
      passes *= 4;
    }
    std::vector<double> per_step;
    for (int r = 0; r < o_.repeats; ++r) {
      per_step.push_back(run(passes) / static_cast<double>(passes * window_));
    }
    return median(per_step);
  }

  [[nodiscard]] std::int64_t n_pre() const { return n_pre_; }
  // The path a pass takes: population::step, or step_window.
  [[nodiscard]] const char* path() const {
    if (input_ == "none") return "ceiling";
    return window_ == 1 && input_ != "bits" ? "step" : "window";
  }

 private:
  struct device_input {
    buffer<std::uint8_t> bytes;
    buffer<std::uint32_t> words;
    buffer<std::int64_t> offsets, events;
  };

  template <class T>
  buffer<T> upload(const std::vector<T>& v) {
    buffer<T> b = pop_->make_buffer<T>(static_cast<std::int64_t>(v.size()), "bench: device input");
    b.copy_from(host_span<const T>(v));
    return b;
  }

  // One pass on the inputs in one memory space; host inputs wait (staging).
  template <class Bytes, class Words, class Offsets>
  void pass(Bytes bytes, Words words, Offsets offsets, Offsets events, bool async) {
    if (window_ == 1 && input_ != "bits") {
      if (input_ == "presynaptic") step(presynaptic_mask(bytes), async);
      else if (input_ == "events") step(spike_events(events), async);
      else step(dense_mask(bytes), async);
      return;
    }
    window_input in = no_spikes{};
    if (input_ == "presynaptic") in = presynaptic_window(bytes);
    else if (input_ == "bits") in = bit_window(words);
    else if (input_ == "events") in = events_window(offsets, events);
    else in = dense_window(bytes);
    if (async) pop_->step_window_async(window_, in);
    else pop_->step_window(window_, in);
  }
  void step(const spike_input& in, bool async) {
    if (async) pop_->step_async(in);
    else pop_->step(in);
  }

  double run(std::int64_t passes) {
#if BIONMDA_HAS_CUDA
    if (be_ == backend::cuda) {
      cudaEvent_t e0, e1;
      cudaEventCreate(&e0);
      cudaEventCreate(&e1);
      cudaEventRecord(e0);
      for (std::int64_t w = 0; w < passes; ++w) pass_async(w);
      cudaEventRecord(e1);
      cudaEventSynchronize(e1);
      float ms = 0;
      cudaEventElapsedTime(&ms, e0, e1);
      cudaEventDestroy(e0);
      cudaEventDestroy(e1);
      return ms * 1e-3;
    }
#endif
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t w = 0; w < passes; ++w) pass_async(w);
    pop_->synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  backend be_;
  precision prec_;
  const options& o_;
  std::int64_t n_;
  std::string input_;
  std::int64_t window_;
  std::int64_t n_pre_ = 1;
  static constexpr int masks_ = 4;
  std::unique_ptr<population> pop_;
  std::vector<host_input> inputs_;
  std::vector<device_input> device_;
};

// Unit-steps per second of the scalar float64 reference at size n.
double reference_rate(std::int64_t n, std::int64_t batch, double rate_hz) {
  parameters p;
  const auto total = static_cast<std::size_t>(n * batch);
  reference_population ref(n, batch, 0.1, p, std::vector<double>(total, 0.1),
                           std::vector<double>(total, 0.1));
  std::mt19937_64 rng(3);
  const auto mask = random_mask(rng, n * batch, rate_hz * 0.1 / 1000.0);
  ref.step(mask.data());  // warm-up
  std::vector<double> t;
  const int reps = n * batch >= 5'000'000 ? 2 : 5;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    ref.step(mask.data());
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return static_cast<double>(n * batch) / median(t);
}

// CPU variants side by side at N = 2^22: the backend with 1 thread and with
// all threads against the scalar reference; precision, input form and rate.
nlohmann::json run_cpu_variants(const options& base) {
  nlohmann::json out;
  const std::int64_t n = std::int64_t{1} << 22;
  std::printf("\n## CPU variants, N = 2^22, B = 1 (side by side)\n%-40s %12s %14s %10s\n", "variant",
              "us/step", "unit-steps/s", "x reference");
  const double ref = reference_rate(n, 1, 20.0);
  auto row = [&](const std::string& name, double sec) {
    const double rate = static_cast<double>(n) / sec;
    std::printf("%-40s %12.1f %14.4g %10.2f\n", name.c_str(), sec * 1e6, rate, rate / ref);
    std::fflush(stdout);
    out.push_back({{"variant", name}, {"N", n}, {"seconds_per_step", sec}, {"unit_steps_per_s", rate}});
  };
  row("scalar float64 reference, 1 thread", static_cast<double>(n) / ref);
  const int all = omp_get_max_threads();
  for (const char* prec : {"float32", "float64"}) {
    for (int threads : {1, all}) {
      omp_set_num_threads(threads);
      options o = base;
      o.rate_hz = 20.0;
      runner r(backend::cpu, parse_precision(prec), o, n, "dense", 1);
      row(std::string(prec) + " dense 20 Hz, " + std::to_string(threads) + " thread(s)", r.time_per_step());
    }
    omp_set_num_threads(all);
    for (const char* input : {"presynaptic", "poisson"}) {
      options o = base;
      o.rate_hz = 20.0;
      runner r(backend::cpu, parse_precision(prec), o, n, input, 1);
      row(std::string(prec) + " " + input + " 20 Hz", r.time_per_step());
    }
    for (double rate : {1.0, 100.0}) {
      options o = base;
      o.rate_hz = rate;
      runner r(backend::cpu, parse_precision(prec), o, n, "dense", 1);
      row(std::string(prec) + " dense " + std::to_string(static_cast<int>(rate)) + " Hz", r.time_per_step());
    }
  }
  // Per-post aggregation on the CPU: per-presynaptic sum and per-synapse
  // fused step+sum, N_pre = 2^18, n_post = 2^14, 100 synapses per post.
  {
    const std::int64_t n_pre = std::int64_t{1} << 18, n_post = std::int64_t{1} << 14, per_post = 100;
    csr_connectivity conn;
    conn.n_post = n_post;
    std::mt19937_64 rng(4);
    std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
    for (std::int64_t r = 0; r <= n_post; ++r) conn.row_offsets.push_back(r * per_post);
    conn.source.resize(static_cast<std::size_t>(n_post * per_post));
    for (auto& src : conn.source) src = pick(rng);
    conn.gmax.assign(conn.source.size(), 0.5);
    population_config cfg;
    cfg.units = n_pre;
    cfg.backend = backend::cpu;
    population pop(cfg);
    const postsynaptic_map map(pop, conn);
    std::vector<float> gp(static_cast<std::size_t>(n_post)), v(static_cast<std::size_t>(n_post), -60.f),
        cur(static_cast<std::size_t>(n_post));
    auto time_it = [](auto f) {
      std::vector<double> t;
      for (int r = 0; r < 7; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < 20; ++k) f();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 20);
      }
      return median(t);
    };
    const double nnz = static_cast<double>(n_post * per_post);
    const double sum_s = time_it([&] {
      map.compute<float>(pop, host_span<float>(gp), host_span<const float>(v), host_span<float>(cur));
    });
    cfg.units = n_post * per_post;
    population syn(cfg);
    const postsynaptic_map fused = postsynaptic_map::per_synapse(syn, conn, n_pre);
    std::vector<std::uint8_t> pre = random_mask(rng, n_pre, 0.002);
    const double bare_s = time_it([&] { syn.step(presynaptic_mask(host_span<const std::uint8_t>(pre))); });
    const double fused_s = time_it([&] {
      fused.step<float>(syn, host_span<const std::uint8_t>(pre), host_span<float>(gp), host_span<const float>(v),
                        host_span<float>(cur));
    });
    std::printf("\n## CPU per-post aggregation, float32: N_pre = 2^18, n_post = 2^14, 100 synapses per post\n");
    std::printf("per-presynaptic sum + current: %.1f us (%.4g synapse-steps/s)\n", sum_s * 1e6, nnz / sum_s);
    std::printf("per-synapse: bare step of %.0f synapses %.1f us; fused step + sum + current %.1f us (%.4g synapse-steps/s)\n",
                nnz, bare_s * 1e6, fused_s * 1e6, nnz / fused_s);
    out.push_back({{"variant", "per-post sum (per-presynaptic)"}, {"synapses", nnz}, {"seconds", sum_s}});
    out.push_back({{"variant", "per-synapse bare step"}, {"synapses", nnz}, {"seconds", bare_s}});
    out.push_back({{"variant", "per-synapse fused step+sum"}, {"synapses", nnz}, {"seconds", fused_s}});
  }
  return out;
}

}  // namespace

namespace bionmda::bench {

int run_bench(const bench_options& opts) {
  bench_options o = opts;
  try {
    const backend be = resolve_backend(parse_backend(o.backend));
    std::string device = bench::cpu_name() + " (" + std::to_string(omp_get_max_threads()) +
                         " threads, " + cpu_instruction_set() + ")";
    double copy_bw = 0;
    if (be == backend::cuda) {
      const auto devs = cuda_devices();
      device = devs.at(0).name;
      copy_bw = bench::device_copy_bandwidth(std::size_t{1} << 30);
    } else {
      copy_bw = bench::host_copy_bandwidth(std::size_t{1} << 28);
    }
    if (o.sizes.empty()) {
      if (be == backend::cuda) {
        for (int k = 16; k <= 26; k += 2) o.sizes.push_back(std::int64_t{1} << k);
      } else {
        for (int k : {16, 18, 20, 22, 23}) o.sizes.push_back(std::int64_t{1} << k);
      }
    }
    const double p = o.rate_hz * 0.1 / 1000.0;  // the runner's dt
    // Every window's input is checked before anything is timed.
    for (const std::string& input : o.inputs) {
      for (const std::int64_t k : o.windows) {
        for (const std::int64_t n : o.sizes) {
          const double bytes = window_input_bytes(input, n, o.batch, k, p);
          if (bytes > max_window_input_bytes) {
            throw bionmda::error("bionmda: --window " + std::to_string(k) + ": one window of " + input +
                                 " input at N = " + std::to_string(n) + ", B = " + std::to_string(o.batch) +
                                 " takes " + std::to_string(static_cast<long long>(bytes / (1 << 20))) +
                                 " MiB, over the bench's 8192 MiB; give a shorter window or smaller --sizes");
          }
        }
      }
    }
    std::string inputs;
    for (const auto& in : o.inputs) inputs += (inputs.empty() ? "" : ", ") + in;
    std::printf("# bionmda %s step benchmark: backend %s, device %s\n", BIONMDA_VERSION_STRING,
                to_string(be), device.c_str());
    std::printf("# copy bandwidth (read+write) %.1f GB/s; input %s at %.1f Hz; batch %lld\n",
                copy_bw * 1e-9, inputs.c_str(), o.rate_hz, static_cast<long long>(o.batch));
    if (o.ceiling_window > 0) {
      std::printf("# compute ceiling: windows of %lld steps with no input (%%ceil = unit-steps/s over the ceiling's)\n",
                  static_cast<long long>(o.ceiling_window));
    }
    std::printf("%-8s %10s %5s %-12s %6s %-8s %12s %14s %8s %9s %7s %7s %11s\n", "prec", "N", "B", "input", "K",
                "path", "us/step", "unit-steps/s", "B/u-st", "GB/s", "%copy", "%ceil", "x reference");

    struct result {
      std::string precision, input, path;
      std::int64_t units, batch, window;
      double seconds_per_step, unit_steps_per_s, bytes_per_unit_step, bytes_per_s, copy_fraction;
      double compute_fraction, reference_unit_steps_per_s;
    };
    std::vector<result> results;
    for (const auto& pname : o.precisions) {
      const precision prec = parse_precision(pname);
      for (const std::string& input : o.inputs) {
        for (const std::int64_t k : o.windows) {
          // A short window check suffices: the pass is the same at any K.
          const std::string wrong = verify(be, prec, input, std::min<std::int64_t>(k, 37));
          if (!wrong.empty()) {
            std::fprintf(stderr,
                         "bionmda_bench_step: %s %s %s input, window %lld disagrees with the reference: %s; no "
                         "speed reported\n",
                         to_string(be), pname.c_str(), input.c_str(), static_cast<long long>(k), wrong.c_str());
            return 1;
          }
        }
      }
      for (const std::int64_t n : o.sizes) {
        const double ref_rate =
            o.reference && n * o.batch <= 10'000'000 ? reference_rate(n, o.batch, o.rate_hz) : 0;
        double ceiling = 0;
        auto measure = [&](const std::string& input, std::int64_t k) {
          double sps = 0;
          std::int64_t n_pre = 1;
          std::string path;
          try {
            runner r(be, prec, o, n, input, k);
            sps = r.time_per_step();
            n_pre = r.n_pre();
            path = r.path();
          } catch (const out_of_memory& e) {
            std::printf("%-8s %10lld %5s %-12s %6lld  skipped: %s\n", pname.c_str(), static_cast<long long>(n), "",
                        input.c_str(), static_cast<long long>(k), e.what());
            return;
          } catch (const skipped& e) {
            std::printf("%-8s %10lld %5s %-12s %6lld  skipped: %s\n", pname.c_str(), static_cast<long long>(n), "",
                        input.c_str(), static_cast<long long>(k), e.what());
            return;
          }
          result res{};
          res.precision = pname;
          res.input = input;
          res.path = path;
          res.units = n;
          res.batch = o.batch;
          res.window = k;
          res.seconds_per_step = sps;
          res.unit_steps_per_s = static_cast<double>(n * o.batch) / sps;
          res.bytes_per_unit_step = bytes_per_unit_step(be, prec, input, o.batch,
                                                         static_cast<double>(n_pre) / static_cast<double>(n), k, p);
          res.bytes_per_s = res.unit_steps_per_s * res.bytes_per_unit_step;
          res.copy_fraction = copy_bw > 0 ? res.bytes_per_s / copy_bw : 0;
          if (input == "none") ceiling = res.unit_steps_per_s;
          res.compute_fraction = ceiling > 0 ? res.unit_steps_per_s / ceiling : 0;
          res.reference_unit_steps_per_s = ref_rate;
          char pct[16] = "-";
          if (res.compute_fraction > 0) std::snprintf(pct, sizeof pct, "%.1f%%", 100 * res.compute_fraction);
          std::printf("%-8s %10lld %5lld %-12s %6lld %-8s %12.2f %14.4g %8.3g %9.2f %6.1f%% %7s %11s\n",
                      pname.c_str(), static_cast<long long>(n), static_cast<long long>(o.batch), input.c_str(),
                      static_cast<long long>(k), path.c_str(), sps * 1e6, res.unit_steps_per_s,
                      res.bytes_per_unit_step, res.bytes_per_s * 1e-9, 100 * res.copy_fraction, pct,
                      ref_rate > 0 ? std::to_string(res.unit_steps_per_s / ref_rate).substr(0, 6).c_str() : "-");
          std::fflush(stdout);
          results.push_back(res);
        };
        // The ceiling first, so every row can be given as a fraction of it.
        if (o.ceiling_window > 0) measure("none", o.ceiling_window);
        for (const std::string& input : o.inputs) {
          for (const std::int64_t k : o.windows) measure(input, k);
        }
      }
    }

    nlohmann::json j;
    if (o.variants) {
      if (be == backend::cuda) {
#if BIONMDA_HAS_CUDA
        j["variants"] = run_gpu_variants(o.repeats);
#endif
      } else {
        j["variants"] = run_cpu_variants(o);
      }
    }
    if (!o.json_path.empty() || o.write_json) {
      j["version"] = BIONMDA_VERSION_STRING;
      j["commit"] = BIONMDA_GIT_COMMIT;
      j["backend"] = to_string(be);
      j["machine"] = device;
      j["copy_bandwidth_bytes_per_s"] = copy_bw;
      j["inputs"] = o.inputs;
      j["windows"] = o.windows;
      j["ceiling_window"] = o.ceiling_window;
      j["rate_hz"] = o.rate_hz;
      j["command"] = o.command;
      for (const auto& r : results) {
        // window: steps per timed pass; path: "step" (population::step, one
        // step per pass), "window" (population::step_window) or "ceiling"
        // (step_window with no input: the compute ceiling).
        j["results"].push_back({{"precision", r.precision}, {"input", r.input}, {"units", r.units},
                                {"batch", r.batch}, {"window", r.window}, {"path", r.path},
                                {"seconds_per_step", r.seconds_per_step},
                                {"unit_steps_per_s", r.unit_steps_per_s},
                                {"bytes_per_unit_step", r.bytes_per_unit_step},
                                {"bytes_per_s", r.bytes_per_s}, {"copy_fraction", r.copy_fraction},
                                {"compute_fraction", r.compute_fraction},
                                {"reference_unit_steps_per_s", r.reference_unit_steps_per_s}});
      }
      const std::string text = j.dump(2) + "\n";
      if (o.write_json) {
        o.write_json(text);
      } else if (!(std::ofstream(o.json_path) << text)) {
        throw bionmda::error("bionmda: cannot write --json '" + o.json_path + "'");
      }
    }
  } catch (const bionmda::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}

}  // namespace bionmda::bench
