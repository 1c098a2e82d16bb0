// An excitatory-inhibitory network of leaky integrate-and-fire neurons with
// NMDA excitation through bionmda.
//
// 800 excitatory and 200 inhibitory neurons, 10% random connectivity. Each
// excitatory neuron drives one BioNMDA unit (per-presynaptic mode); a
// postsynaptic_map sums gmax * g onto every neuron and applies the Mg block at
// the neuron's voltage. Inhibition is a fast voltage kick per spike; every
// neuron also receives independent Poisson background kicks. The synapses run
// on the CPU or the GPU (--backend); the 1000 neurons are updated on the host.
// Writes a spike raster (SVG) and prints the population firing rates.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bionmda/bionmda.hpp"

namespace {

struct options {
  std::string backend = "auto";
  double duration_ms = 1000.0;
  double dt = 0.1;
  std::uint64_t seed = 1;
  std::string raster = "raster.svg";
  bool json = false;
};

struct spike {
  float t_ms;
  int neuron;
};

void write_raster(const std::string& path, const std::vector<spike>& spikes, int n_exc, int n, double t_end,
                  double rate_e, double rate_i, const std::string& where) {
  const int W = 900, H = 520, left = 70, top = 40, pw = 800, ph = 420;
  std::ofstream f(path);
  f << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  f << "<text x=\"" << left << "\" y=\"22\" font-size=\"14\">E/I LIF network with BioNMDA excitation (" << where
    << "): E " << rate_e << " Hz, I " << rate_i << " Hz</text>\n";
  f << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  // One path per population, a short horizontal tick per spike (compact).
  for (int pop = 0; pop < 2; ++pop) {
    f << "<path stroke=\"" << (pop == 0 ? "#1f77b4" : "#d62728") << "\" stroke-width=\"0.8\" d=\"";
    char buf[48];
    for (const auto& s : spikes) {
      if ((s.neuron < n_exc) != (pop == 0)) continue;
      const double x = left + s.t_ms / t_end * pw;
      const double y = top + ph - (s.neuron + 0.5) / n * ph;
      std::snprintf(buf, sizeof buf, "M%.1f %.1fh1.2", x, y);
      f << buf;
    }
    f << "\"/>\n";
  }
  for (int k = 0; k <= 5; ++k) {
    const double t = t_end * k / 5;
    const double x = left + pw * k / 5.0;
    f << "<text x=\"" << x << "\" y=\"" << top + ph + 18 << "\" text-anchor=\"middle\">" << t << "</text>\n";
  }
  f << "<text x=\"" << left + pw / 2 << "\" y=\"" << top + ph + 36 << "\" text-anchor=\"middle\">time [ms]</text>\n";
  f << "<text transform=\"translate(20," << top + ph / 2
    << ") rotate(-90)\" text-anchor=\"middle\">neuron (blue: excitatory, red: inhibitory)</text>\n";
  for (int k : {0, n_exc, n}) {
    f << "<text x=\"" << left - 6 << "\" y=\"" << top + ph - static_cast<double>(k) / n * ph + 4
      << "\" text-anchor=\"end\">" << k << "</text>\n";
  }
  f << "</svg>\n";
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"E/I LIF network with BioNMDA excitation"};
  app.add_option("--backend", o.backend, "auto, cpu or cuda (the synapses)")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--duration", o.duration_ms, "simulated time [ms]")->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed of connectivity and background input");
  app.add_option("--raster", o.raster, "spike raster output (.svg)");
  app.add_flag("--json", o.json, "print the rates as one JSON object");
  CLI11_PARSE(app, argc, argv);

  using namespace bionmda;
  const int n_exc = 800, n_inh = 200, n = n_exc + n_inh;
  const double p_conn = 0.1;
  // Neurons [ms, mV]; currents in pA with a 10 nS leak (R = 0.1 mV/pA).
  const double tau_m = 20.0, E_L = -65.0, V_th = -50.0, V_reset = -65.0, t_ref = 2.0, R = 0.1;
  const double J_inh = 2.0;                    // mV per inhibitory spike
  const double bg_rate_hz = 1500.0, J_bg = 0.5;  // Poisson background kicks, mV
  const double gmax_nmda = 0.6;                // nS per synapse

  try {
    std::mt19937_64 rng(o.seed);
    // Post-major CSR of E -> all NMDA synapses; I -> all as target lists.
    csr_connectivity conn;
    conn.n_post = n;
    conn.row_offsets.push_back(0);
    std::bernoulli_distribution connect(p_conn);
    std::vector<std::vector<int>> inh_targets(n_inh);
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < n_exc; ++i) {
        if (i != j && connect(rng)) {
          conn.source.push_back(i);
          conn.gmax.push_back(gmax_nmda);
        }
      }
      conn.row_offsets.push_back(static_cast<std::int64_t>(conn.source.size()));
      for (int i = 0; i < n_inh; ++i) {
        if (n_exc + i != j && connect(rng)) inh_targets[static_cast<std::size_t>(i)].push_back(j);
      }
    }

    population_config cfg;
    cfg.units = n_exc;
    cfg.dt = o.dt;
    cfg.backend = parse_backend(o.backend);
    population syn(cfg);
    const postsynaptic_map map(syn, conn);
    const bool gpu = syn.backend() == backend::cuda;

    std::vector<float> V(n, static_cast<float>(E_L)), g_post(n), I(n);
    std::vector<double> refractory_until(n, -1.0);
    std::uniform_real_distribution<double> v0(E_L, V_th);
    for (auto& v : V) v = static_cast<float>(v0(rng));
    std::vector<std::uint8_t> exc_spikes(n_exc, 0);
    std::vector<spike> spikes;
    std::poisson_distribution<int> background(bg_rate_hz * o.dt / 1000.0);
    // On the GPU, g_post, V and I live in device buffers where the synapses are.
    buffer<float> d_gp, d_v, d_i;
    if (gpu) {
      d_gp = syn.make_buffer<float>(n, "g_post");
      d_v = syn.make_buffer<float>(n, "V");
      d_i = syn.make_buffer<float>(n, "I");
    }
    const auto steps = static_cast<std::int64_t>(std::llround(o.duration_ms / o.dt));
    std::vector<double> kick(n, 0.0);
    for (std::int64_t s = 0; s < steps; ++s) {
      const double t = static_cast<double>(s) * o.dt;
      // Synapses: last step's excitatory spikes, then the NMDA current at V.
      syn.step(dense_mask(host_span<const std::uint8_t>(exc_spikes)));
      if (gpu) {
        d_v.copy_from(host_span<const float>(V));
        map.compute_async<float>(syn, d_gp.device_view(), d_v.device_view(), d_i.device_view());
        d_i.copy_to(host_span<float>(I));  // stream-ordered after the sums; waits
      } else {
        map.compute<float>(syn, host_span<float>(g_post), host_span<const float>(V), host_span<float>(I));
      }
      // Neurons.
      std::fill(exc_spikes.begin(), exc_spikes.end(), 0);
      for (int j = 0; j < n; ++j) {
        kick[static_cast<std::size_t>(j)] += J_bg * background(rng);
        if (t < refractory_until[static_cast<std::size_t>(j)]) {
          kick[static_cast<std::size_t>(j)] = 0;
          continue;
        }
        double v = V[static_cast<std::size_t>(j)];
        v += o.dt / tau_m * (E_L - v + R * I[static_cast<std::size_t>(j)]) + kick[static_cast<std::size_t>(j)];
        kick[static_cast<std::size_t>(j)] = 0;
        if (v >= V_th) {
          v = V_reset;
          refractory_until[static_cast<std::size_t>(j)] = t + t_ref;
          spikes.push_back({static_cast<float>(t), j});
          if (j < n_exc) {
            exc_spikes[static_cast<std::size_t>(j)] = 1;
          } else {
            for (int target : inh_targets[static_cast<std::size_t>(j - n_exc)]) kick[static_cast<std::size_t>(target)] -= J_inh;
          }
        }
        V[static_cast<std::size_t>(j)] = static_cast<float>(v);
      }
    }
    std::int64_t n_e = 0, n_i = 0;
    for (const auto& sp : spikes) (sp.neuron < n_exc ? n_e : n_i)++;
    const double seconds = o.duration_ms / 1000.0;
    const double rate_e = static_cast<double>(n_e) / n_exc / seconds;
    const double rate_i = static_cast<double>(n_i) / n_inh / seconds;
    const std::string where = gpu ? cuda_devices().at(0).name : std::string("CPU");
    if (!o.raster.empty()) write_raster(o.raster, spikes, n_exc, n, o.duration_ms, std::round(rate_e * 10) / 10,
                                        std::round(rate_i * 10) / 10, where);
    if (o.json) {
      std::printf("{\"backend\": \"%s\", \"rate_e_hz\": %.6f, \"rate_i_hz\": %.6f, \"spikes\": %lld, \"synapses\": %lld}\n",
                  to_string(syn.backend()), rate_e, rate_i, static_cast<long long>(spikes.size()),
                  static_cast<long long>(map.synapses()));
    } else {
      std::printf("E/I network, %d neurons, %lld NMDA synapses on %s, %.0f ms: E %.2f Hz, I %.2f Hz; raster %s\n", n,
                  static_cast<long long>(map.synapses()), where.c_str(), o.duration_ms, rate_e, rate_i,
                  o.raster.c_str());
    }
  } catch (const bionmda::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}
