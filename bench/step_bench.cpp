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

// Checks a heterogeneous sample against the reference with the tests'
// tolerances. Returns an empty string when correct, else what was wrong.
std::string verify(backend be, precision prec, const std::string& input) {
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
  for (int s = 0; s < 300; ++s) {
    const auto mask = random_mask(rng, pop.elements(), 0.05);
    if (input == "presynaptic" && s == 0) {
      // Identity sources: the gathered mask equals the dense one.
      std::vector<std::int32_t> src(3001);
      for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::int32_t>(i);
      pop.set_presynaptic_sources(host_span<const std::int32_t>(src), 3001);
    }
    if (input == "presynaptic") {
      pop.step(presynaptic_mask(host_span<const std::uint8_t>(mask)));
    } else {
      pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    }
    ref.step(mask.data());
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

// Bytes moved per unit-step by the backend's step (reads plus writes of
// every array it touches), for uniform parameters.
double bytes_per_unit_step(backend be, precision prec, const std::string& input,
                           std::int64_t batch, double pre_ratio) {
  const double real = prec == precision::float32 ? 4.0 : 8.0;
  double b = 2 * real /*g, x read*/ + 2 * real /*g, x written*/ + 2 /*countdown read*/;
  // The CPU writes the countdown back every step; the GPU only where it changes.
  if (be == backend::cpu) b += 2;
  if (input == "dense") b += 1;
  if (input == "presynaptic") b += 4.0 / static_cast<double>(batch) + pre_ratio;
  return b;
}

struct result {
  std::string backend, device, precision, input;
  std::int64_t units, batch;
  double seconds_per_step, unit_steps_per_s, bytes_per_unit_step, bytes_per_s, copy_fraction;
  double reference_unit_steps_per_s;
};

class runner {
 public:
  runner(backend be, precision prec, const options& o, std::int64_t n)
      : be_(be), prec_(prec), o_(o), n_(n) {
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
    const std::int64_t mask_len = o.input == "presynaptic" ? n_pre_ * o.batch : e;
    // Several masks in rotation, so small sizes are not served from cache.
    for (int k = 0; k < masks_; ++k) host_masks_.push_back(random_mask(rng, mask_len, p));
    if (o.input == "presynaptic") {
      std::vector<std::int32_t> src(static_cast<std::size_t>(n));
      std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre_ - 1));
      for (auto& s : src) s = pick(rng);
      pop_->set_presynaptic_sources(host_span<const std::int32_t>(src), n_pre_);
    }
    // On the GPU the masks live in device memory (out_of_memory if they do not fit).
    if (pop_->space() == memory_space::device && o.input != "poisson") {
      for (const auto& m : host_masks_) {
        device_masks_.push_back(pop_->make_buffer<std::uint8_t>(static_cast<std::int64_t>(m.size()), "bench: device masks"));
        device_masks_.back().copy_from(host_span<const std::uint8_t>(m));
      }
    }
  }

  void step_async(std::int64_t s) {
    const std::size_t k = static_cast<std::size_t>(s % masks_);
    if (o_.input == "poisson") {
      pop_->step_async(poisson{o_.rate_hz, 99});
      return;
    }
    if (!device_masks_.empty()) {
      const device_span<const std::uint8_t> m = device_masks_[k].device_view();
      if (o_.input == "presynaptic") pop_->step_async(presynaptic_mask(m));
      else pop_->step_async(dense_mask(m));
      return;
    }
    host_span<const std::uint8_t> m(host_masks_[k]);
    if (o_.input == "presynaptic") pop_->step(presynaptic_mask(m));
    else pop_->step(dense_mask(m));
  }

  // Median seconds per step over repeats.
  double time_per_step() {
    for (int s = 0; s < 3; ++s) step_async(s);  // warm-up
    pop_->synchronize();
    // Calibrate the steps per repeat to about min_time.
    std::int64_t steps = 1;
    for (;;) {
      const double t = run(steps);
      if (t >= o_.min_time / 4 || steps >= (1 << 20)) {
        steps = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(steps) * o_.min_time / std::max(t, 1e-9)));
        break;
      }
      steps *= 4;
    }
    std::vector<double> per_step;
    for (int r = 0; r < o_.repeats; ++r) per_step.push_back(run(steps) / static_cast<double>(steps));
    return median(per_step);
  }

  [[nodiscard]] std::int64_t n_pre() const { return n_pre_; }

 private:
  double run(std::int64_t steps) {
#if BIONMDA_HAS_CUDA
    if (be_ == backend::cuda) {
      cudaEvent_t e0, e1;
      cudaEventCreate(&e0);
      cudaEventCreate(&e1);
      cudaEventRecord(e0);
      for (std::int64_t s = 0; s < steps; ++s) step_async(s);
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
    for (std::int64_t s = 0; s < steps; ++s) step_async(s);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  backend be_;
  precision prec_;
  const options& o_;
  std::int64_t n_;
  std::int64_t n_pre_ = 1;
  static constexpr int masks_ = 4;
  std::unique_ptr<population> pop_;
  std::vector<std::vector<std::uint8_t>> host_masks_;
  std::vector<buffer<std::uint8_t>> device_masks_;
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
      o.input = "dense";
      o.rate_hz = 20.0;
      runner r(backend::cpu, parse_precision(prec), o, n);
      row(std::string(prec) + " dense 20 Hz, " + std::to_string(threads) + " thread(s)", r.time_per_step());
    }
    omp_set_num_threads(all);
    for (const char* input : {"presynaptic", "poisson"}) {
      options o = base;
      o.input = input;
      o.rate_hz = 20.0;
      runner r(backend::cpu, parse_precision(prec), o, n);
      row(std::string(prec) + " " + input + " 20 Hz", r.time_per_step());
    }
    for (double rate : {1.0, 100.0}) {
      options o = base;
      o.input = "dense";
      o.rate_hz = rate;
      runner r(backend::cpu, parse_precision(prec), o, n);
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
    std::printf("# bionmda %s step benchmark: backend %s, device %s\n", BIONMDA_VERSION_STRING,
                to_string(be), device.c_str());
    std::printf("# copy bandwidth (read+write) %.1f GB/s; input %s at %.1f Hz; batch %lld\n",
                copy_bw * 1e-9, o.input.c_str(), o.rate_hz, static_cast<long long>(o.batch));
    std::printf("%-8s %10s %9s %12s %14s %8s %9s %7s %11s\n", "prec", "N", "B", "us/step",
                "unit-steps/s", "B/u-st", "GB/s", "%copy", "x reference");

    std::vector<result> results;
    for (const auto& pname : o.precisions) {
      const precision prec = parse_precision(pname);
      const std::string wrong = verify(be, prec, o.input);
      if (!wrong.empty()) {
        std::fprintf(stderr, "bionmda_bench_step: %s %s disagrees with the reference: %s; no speed reported\n",
                     to_string(be), pname.c_str(), wrong.c_str());
        return 1;
      }
      for (const std::int64_t n : o.sizes) {
        double sps = 0;
        std::int64_t n_pre = 1;
        try {
          runner r(be, prec, o, n);
          sps = r.time_per_step();
          n_pre = r.n_pre();
        } catch (const out_of_memory& e) {
          std::printf("%-8s %10lld  skipped: %s\n", pname.c_str(), static_cast<long long>(n), e.what());
          continue;
        }
        result res{};
        res.backend = to_string(be);
        res.device = device;
        res.precision = pname;
        res.input = o.input;
        res.units = n;
        res.batch = o.batch;
        res.seconds_per_step = sps;
        res.unit_steps_per_s = static_cast<double>(n * o.batch) / sps;
        res.bytes_per_unit_step = bytes_per_unit_step(be, prec, o.input, o.batch,
                                                       static_cast<double>(n_pre) / static_cast<double>(n));
        res.bytes_per_s = res.unit_steps_per_s * res.bytes_per_unit_step;
        res.copy_fraction = copy_bw > 0 ? res.bytes_per_s / copy_bw : 0;
        res.reference_unit_steps_per_s =
            o.reference && n * o.batch <= 10'000'000 ? reference_rate(n, o.batch, o.rate_hz) : 0;
        std::printf("%-8s %10lld %9lld %12.2f %14.4g %8.1f %9.1f %6.1f%% %11s\n", pname.c_str(),
                    static_cast<long long>(n), static_cast<long long>(o.batch), sps * 1e6,
                    res.unit_steps_per_s, res.bytes_per_unit_step, res.bytes_per_s * 1e-9,
                    100 * res.copy_fraction,
                    res.reference_unit_steps_per_s > 0
                        ? std::to_string(res.unit_steps_per_s / res.reference_unit_steps_per_s).substr(0, 6).c_str()
                        : "-");
        std::fflush(stdout);
        results.push_back(res);
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
      j["input"] = o.input;
      j["rate_hz"] = o.rate_hz;
      j["command"] = o.command;
      for (const auto& r : results) {
        j["results"].push_back({{"precision", r.precision}, {"input", r.input}, {"units", r.units},
                                {"batch", r.batch}, {"seconds_per_step", r.seconds_per_step},
                                {"unit_steps_per_s", r.unit_steps_per_s},
                                {"bytes_per_unit_step", r.bytes_per_unit_step},
                                {"bytes_per_s", r.bytes_per_s}, {"copy_fraction", r.copy_fraction},
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
