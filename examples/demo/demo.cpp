// Demo: a million BioNMDA synapses driven by independent 20 Hz Poisson input,
// on the GPU when one is usable, else on the CPU. Prints the population's
// mean open fraction as it evolves, then the throughput.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "bionmda/bionmda.hpp"

int main(int argc, char** argv) {
  std::int64_t units = 1'000'000;
  std::int64_t batch = 1;
  std::int64_t steps = 2000;
  double dt = 0.1;
  double rate = 20.0;
  std::uint64_t seed = 1;
  std::string backend_name = "auto";
  std::string precision_name = "float32";
  CLI::App app{"bionmda demo: Poisson-driven BioNMDA synapses"};
  app.add_option("--size", units, "synapses N")->check(CLI::NonNegativeNumber);
  app.add_option("--batch", batch, "batch entries B")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "time steps")->check(CLI::NonNegativeNumber);
  app.add_option("--dt", dt, "time step [ms]")->check(CLI::PositiveNumber);
  app.add_option("--rate", rate, "Poisson rate per synapse [Hz]")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "random seed");
  app.add_option("--backend", backend_name, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--precision", precision_name, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}));
  CLI11_PARSE(app, argc, argv);

  try {
    bionmda::population_config cfg;
    cfg.units = units;
    cfg.batch = batch;
    cfg.dt = dt;
    cfg.backend = bionmda::parse_backend(backend_name);
    cfg.precision = bionmda::parse_precision(precision_name);
    cfg.host_input_staging = false;  // input is generated inside the step
    bionmda::population pop(cfg);

    std::string where = "CPU (" + std::string(bionmda::cpu_instruction_set()) + ")";
    if (pop.backend() == bionmda::backend::cuda) where = bionmda::cuda_devices().at(0).name;
    std::printf("bionmda %s demo: %lld synapses x %lld batch, %s, backend %s on %s\n",
                BIONMDA_VERSION_STRING, static_cast<long long>(units),
                static_cast<long long>(batch), precision_name.c_str(),
                bionmda::to_string(pop.backend()), where.c_str());
    std::printf("Poisson input %.1f Hz, dt %.3g ms, %lld steps (%.1f ms), pulse %lld steps\n", rate,
                dt, static_cast<long long>(steps), static_cast<double>(steps) * dt,
                static_cast<long long>(pop.pulse_steps()));
    std::printf("%10s %12s %12s %12s\n", "t [ms]", "mean g", "max g", "mean x");

    const std::int64_t report_every = std::max<std::int64_t>(1, steps / 10);
    double stepping_seconds = 0;
    for (std::int64_t done = 0; done < steps;) {
      const std::int64_t chunk = std::min(report_every, steps - done);
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t s = 0; s < chunk; ++s) pop.step_async(bionmda::poisson{rate, seed});
      pop.synchronize();
      stepping_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      done += chunk;
      const auto g = pop.g();
      const auto x = pop.x();
      const double n = std::max<double>(1.0, static_cast<double>(g.size()));
      std::printf("%10.1f %12.6f %12.6f %12.6f\n", pop.time(),
                  std::accumulate(g.begin(), g.end(), 0.0) / n,
                  g.empty() ? 0.0 : *std::max_element(g.begin(), g.end()),
                  std::accumulate(x.begin(), x.end(), 0.0) / n);
    }
    const double unit_steps = static_cast<double>(pop.elements()) * static_cast<double>(steps);
    std::printf("stepping: %.3f s, %.3g synapse-steps/s (%.3g us per step)\n", stepping_seconds,
                stepping_seconds > 0 ? unit_steps / stepping_seconds : 0.0,
                steps > 0 ? 1e6 * stepping_seconds / static_cast<double>(steps) : 0.0);
  } catch (const bionmda::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}
