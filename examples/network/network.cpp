// An excitatory-inhibitory network of leaky integrate-and-fire neurons with
// NMDA excitation through bionmda.
//
// N neurons (--neurons, default 1000), 80% excitatory and 20% inhibitory.
// Connectivity: up to 10^4 neurons, every ordered pair is connected with
// probability 0.1 (p*N^2 connections); above that, or with --in-degree C,
// every neuron receives a fixed C inputs (80% excitatory, default C = 100),
// drawn at random, so a large network stays sparse. Weights scale as
// 1 / in-degree: every neuron gets the mean input of the 1000-neuron network.
// Each excitatory neuron drives one BioNMDA unit (per-presynaptic mode); a
// postsynaptic_map sums gmax * g onto every neuron, and the Mg block is applied
// at the neuron's voltage. Inhibition is a fast voltage kick per spike; every
// neuron also receives independent Poisson background kicks. The synapses run
// on the CPU or the GPU (--backend); the neurons are updated on the host.
//
// Delays: an excitatory spike emitted at step s reaches the NMDA synapses at
// step s + D, D = --min-delay / dt (default 1 ms, D = 10 at dt = 0.1 ms), held
// in a ring buffer of D spike masks. --loop per-step steps the synapses once a
// step and computes the current with postsynaptic_map::compute; --loop window
// (the default) advances the synapses a window of D steps at once from the
// previous window's spikes (the ring buffer), gets g_post after every step from
// postsynaptic_map::step_window, and the neurons integrate the D steps with
// bionmda::mg_current at their own voltage. Both loops give identical spikes.
//
// Writes a spike raster (SVG), optionally every spike as CSV (--spikes-out),
// and prints the population firing rates and the network steps per second.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <string>
#include <vector>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "bionmda/bionmda.hpp"

namespace {

struct options {
  std::string backend = "auto";
  double duration_ms = 1000.0;
  double dt = 0.1;
  double min_delay_ms = 1.0;
  std::string loop = "window";
  std::int64_t neurons = 1000;
  std::int64_t in_degree = -1;  // -1: 0 up to 10^4 neurons, 100 above
  std::uint64_t seed = 1;
  std::string raster = "raster.svg";
  std::string spikes_out;
  bool json = false;
};

// A command-line value the network cannot run with (exit code 2).
struct usage_error {
  std::string what;
};

struct spike {
  std::int64_t step;
  int neuron;
};

void write_raster(const std::string& path, const std::vector<spike>& spikes, int n_exc, int n, double dt,
                  double t_end, double rate_e, double rate_i, const std::string& where) {
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
      const auto t_ms = static_cast<float>(static_cast<double>(s.step) * dt);
      const double x = left + t_ms / t_end * pw;
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


// The neurons, their background input and the inhibitory connections: all on
// the host, one step at a time, in the same order in both loops.
struct network {
  int n = 0, n_exc = 0, n_inh = 0;
  bionmda::csr_connectivity nmda;         // E -> all, post-major
  std::vector<std::int64_t> inh_offsets;  // I -> all, per inhibitory neuron its targets
  std::vector<std::int32_t> inh_targets;
  double gmax = 0.0;   // nS per NMDA synapse
  double J_inh = 0.0;  // mV per inhibitory spike
};

// Connection probability of the default network; the 1000-neuron network's
// expected excitatory and inhibitory in-degrees, which set the weights.
constexpr double p_conn = 0.1;
constexpr double k_ref_e = 80.0, k_ref_i = 20.0;
constexpr double gmax_ref = 0.6;  // nS per synapse at k_ref_e inputs
constexpr double J_inh_ref = 2.0;  // mV per spike at k_ref_i inputs

std::int64_t excitatory_count(std::int64_t n) { return n * 4 / 5; }

// k distinct values of [lo, lo + range) other than `exclude`, sorted.
void draw_distinct(std::mt19937_64& rng, int lo, int range, int exclude, int k, std::vector<int>& out) {
  const bool skip = exclude >= lo && exclude < lo + range;
  std::uniform_int_distribution<int> pick(0, range - (skip ? 2 : 1));
  out.clear();
  while (static_cast<int>(out.size()) < k) {
    while (static_cast<int>(out.size()) < k) {
      int v = pick(rng);
      if (skip && v >= exclude - lo) ++v;
      out.push_back(lo + v);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

// Every ordered pair (i, j), i != j, connected with probability p_conn.
// O(N^2) draws: the original 1000-neuron network, up to 10^4 neurons.
network random_network(int n, std::mt19937_64& rng) {
  network net;
  net.n = n;
  net.n_exc = static_cast<int>(excitatory_count(n));
  net.n_inh = n - net.n_exc;
  net.gmax = gmax_ref * (k_ref_e / (p_conn * net.n_exc));
  net.J_inh = J_inh_ref * (k_ref_i / (p_conn * net.n_inh));
  net.nmda.n_post = n;
  net.nmda.row_offsets.push_back(0);
  std::bernoulli_distribution connect(p_conn);
  std::vector<std::vector<int>> targets(static_cast<std::size_t>(net.n_inh));
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < net.n_exc; ++i) {
      if (i != j && connect(rng)) {
        net.nmda.source.push_back(i);
        net.nmda.gmax.push_back(net.gmax);
      }
    }
    net.nmda.row_offsets.push_back(static_cast<std::int64_t>(net.nmda.source.size()));
    for (int i = 0; i < net.n_inh; ++i) {
      if (net.n_exc + i != j && connect(rng)) targets[static_cast<std::size_t>(i)].push_back(j);
    }
  }
  net.inh_offsets.push_back(0);
  for (const auto& t : targets) {
    net.inh_targets.insert(net.inh_targets.end(), t.begin(), t.end());
    net.inh_offsets.push_back(static_cast<std::int64_t>(net.inh_targets.size()));
  }
  return net;
}

// Every neuron receives k_e excitatory and k_i inhibitory inputs from distinct
// random neurons other than itself: O(N * (k_e + k_i)).
network fixed_in_degree_network(int n, int k_e, int k_i, std::mt19937_64& rng) {
  network net;
  net.n = n;
  net.n_exc = static_cast<int>(excitatory_count(n));
  net.n_inh = n - net.n_exc;
  net.gmax = k_e > 0 ? gmax_ref * (k_ref_e / k_e) : 0.0;
  net.J_inh = k_i > 0 ? J_inh_ref * (k_ref_i / k_i) : 0.0;
  auto& c = net.nmda;
  c.n_post = n;
  c.row_offsets.resize(static_cast<std::size_t>(n) + 1);
  c.source.reserve(static_cast<std::size_t>(n) * static_cast<std::size_t>(k_e));
  std::vector<std::int32_t> inh_source;  // post-major, then transposed
  inh_source.reserve(static_cast<std::size_t>(n) * static_cast<std::size_t>(k_i));
  std::vector<int> drawn;
  c.row_offsets[0] = 0;
  for (int j = 0; j < n; ++j) {
    draw_distinct(rng, 0, net.n_exc, j, k_e, drawn);
    c.source.insert(c.source.end(), drawn.begin(), drawn.end());
    c.row_offsets[static_cast<std::size_t>(j) + 1] = static_cast<std::int64_t>(c.source.size());
    draw_distinct(rng, net.n_exc, net.n_inh, j, k_i, drawn);
    for (int i : drawn) inh_source.push_back(i - net.n_exc);
  }
  c.gmax.assign(c.source.size(), net.gmax);
  // Transpose the inhibitory inputs into target lists (targets ascending).
  net.inh_offsets.assign(static_cast<std::size_t>(net.n_inh) + 1, 0);
  for (std::int32_t i : inh_source) ++net.inh_offsets[static_cast<std::size_t>(i) + 1];
  for (std::size_t i = 0; i < static_cast<std::size_t>(net.n_inh); ++i) net.inh_offsets[i + 1] += net.inh_offsets[i];
  net.inh_targets.resize(inh_source.size());
  std::vector<std::int64_t> fill(net.inh_offsets.begin(), net.inh_offsets.end() - 1);
  for (int j = 0; j < n; ++j) {
    for (int q = 0; q < k_i; ++q) {
      const std::int32_t i = inh_source[static_cast<std::size_t>(j) * static_cast<std::size_t>(k_i) + static_cast<std::size_t>(q)];
      net.inh_targets[static_cast<std::size_t>(fill[static_cast<std::size_t>(i)]++)] = j;
    }
  }
  return net;
}

double physical_memory_bytes() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<double>(pages) * static_cast<double>(page);
#endif
  return 16.0 * (1ull << 30);
}

// Checks the options the parser cannot check; throws usage_error.
int delay_steps(const options& o) {
  const double ratio = o.min_delay_ms / o.dt;
  const double d = std::round(ratio);
  // A multiple of dt within rounding of the decimal input (0.3 / 0.1 = 2.9999999999999996).
  if (!std::isfinite(o.min_delay_ms) || !(o.min_delay_ms > 0.0) || d < 1.0 || std::abs(ratio - d) > 1e-6 ||
      d > 1e6) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "--min-delay %g: must be a positive multiple of dt = %g ms (at most 10^6 steps)",
                  o.min_delay_ms, o.dt);
    throw usage_error{buf};
  }
  return static_cast<int>(d);
}

network make_network(const options& o, std::mt19937_64& rng) {
  if (o.neurons < 2 || o.neurons > 100000000) {
    throw usage_error{"--neurons " + std::to_string(o.neurons) + ": must lie in [2, 10^8]"};
  }
  const auto n = static_cast<int>(o.neurons);
  const std::int64_t n_exc = excitatory_count(n), n_inh = n - n_exc;
  const std::int64_t in_degree = o.in_degree >= 0 ? o.in_degree : (n <= 10000 ? 0 : 100);
  std::int64_t k_e = 0, k_i = 0;
  double synapses = 0.0, targets = 0.0;
  if (in_degree == 0) {
    synapses = p_conn * static_cast<double>(n_exc) * static_cast<double>(n);
    targets = p_conn * static_cast<double>(n_inh) * static_cast<double>(n);
  } else {
    k_e = std::llround(0.8 * static_cast<double>(in_degree));
    k_i = in_degree - k_e;
    if (k_e > n_exc - 1 || k_i > n_inh - 1) {
      throw usage_error{"--in-degree " + std::to_string(in_degree) + ": needs " + std::to_string(k_e) +
                        " excitatory and " + std::to_string(k_i) + " inhibitory inputs, but " + std::to_string(n) +
                        " neurons have " + std::to_string(n_exc) + " and " + std::to_string(n_inh) +
                        " (a neuron is never its own input)"};
    }
    synapses = static_cast<double>(k_e) * static_cast<double>(n);
    targets = static_cast<double>(k_i) * static_cast<double>(n);
  }
  // Host CSR (int32 source + float64 gmax) and the map's copy (int32 + float32).
  const double bytes = synapses * 20.0 + targets * 8.0;
  const double budget = 0.5 * physical_memory_bytes();
  if (bytes > budget) {
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "--neurons %lld: %.3g NMDA synapses need about %.1f GiB, more than half of this machine's "
                  "%.1f GiB; %s",
                  static_cast<long long>(n), synapses, bytes / (1ull << 30), 2.0 * budget / (1ull << 30),
                  in_degree == 0 ? "give a fixed --in-degree C for a sparse network" : "give a smaller --in-degree");
    throw usage_error{buf};
  }
  return in_degree == 0 ? random_network(n, rng)
                        : fixed_in_degree_network(n, static_cast<int>(k_e), static_cast<int>(k_i), rng);
}

// Every spike as CSV, `step,neuron`, via a temporary file renamed into place.
// Refuses an output path that cannot be written before the run starts: its
// temporary (FILE.tmp, renamed onto FILE at the end) is created and removed.
void check_writable(const std::string& path, const char* option) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw usage_error{std::string(option) + ": cannot write " + tmp};
  }
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
}

void write_spikes(const std::string& path, const std::vector<spike>& spikes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << "step,neuron\n";
    for (const auto& s : spikes) f << s.step << ',' << s.neuron << '\n';
    f.close();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw usage_error{"cannot write " + tmp};
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw usage_error{"cannot rename " + tmp + " to " + path + ": " + ec.message()};
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"E/I LIF network with BioNMDA excitation"};
  app.add_option("--backend", o.backend, "auto, cpu or cuda (the synapses)")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--duration", o.duration_ms, "simulated time [ms]")->check(CLI::PositiveNumber);
  app.add_option("--min-delay", o.min_delay_ms,
                 "delay of an excitatory spike to the NMDA synapses [ms], a positive multiple of dt = 0.1 ms; "
                 "the window length (default 1)");
  app.add_option("--loop", o.loop, "window (default): the synapses a window of min-delay steps at once; "
                                   "per-step: one step at a time. Identical spikes.")
      ->check(CLI::IsMember({"window", "per-step"}));
  app.add_option("--neurons", o.neurons, "neurons, 80% excitatory (default 1000)");
  app.add_option("--in-degree", o.in_degree,
                 "inputs per neuron (80% excitatory), fixed: keeps a large network sparse. 0: every pair "
                 "connected with probability 0.1 (p*N^2 synapses). Default 0 up to 10^4 neurons, 100 above. "
                 "Weights scale as 1/in-degree.");
  app.add_option("--seed", o.seed, "seed of connectivity and background input");
  app.add_option("--raster", o.raster, "spike raster output (.svg; empty: none)");
  app.add_option("--spikes-out", o.spikes_out, "every spike as CSV `step,neuron`, in step then neuron order");
  app.add_flag("--json", o.json, "print the rates and steps per second as one JSON object");
  CLI11_PARSE(app, argc, argv);

  using namespace bionmda;
  // Neurons [ms, mV]; currents in pA with a 10 nS leak (R = 0.1 mV/pA).
  const double tau_m = 20.0, E_L = -65.0, V_th = -50.0, V_reset = -65.0, t_ref = 2.0, R = 0.1;
  const double bg_rate_hz = 1500.0, J_bg = 0.5;  // Poisson background kicks, mV

  try {
    const int D = delay_steps(o);
    check_writable(o.spikes_out, "--spikes-out");
    std::mt19937_64 rng(o.seed);
    const network net = make_network(o, rng);
    const int n = net.n, n_exc = net.n_exc, n_inh = net.n_inh;
    const auto un = static_cast<std::size_t>(n), un_exc = static_cast<std::size_t>(n_exc);

    population_config cfg;
    cfg.units = n_exc;
    cfg.dt = o.dt;
    cfg.backend = parse_backend(o.backend);
    population syn(cfg);
    const postsynaptic_map map(syn, net.nmda);
    const bool gpu = syn.backend() == backend::cuda;
    const bool windowed = o.loop == "window";

    std::vector<float> V(un, static_cast<float>(E_L)), g_post(un), I(un);
    std::vector<double> refractory_until(un, -1.0);
    std::uniform_real_distribution<double> v0(E_L, V_th);
    for (auto& v : V) v = static_cast<float>(v0(rng));
    // The excitatory spikes of the last D steps: slot s % D holds those
    // emitted at step s - D until step s reads them, then those emitted at s.
    std::vector<std::uint8_t> ring(static_cast<std::size_t>(D) * un_exc, 0);
    std::vector<float> g_window(windowed ? static_cast<std::size_t>(D) * un : 0);
    std::vector<spike> spikes;
    std::poisson_distribution<int> background(bg_rate_hz * o.dt / 1000.0);
    const auto mg = make_mg_coefficients<float>(mg_block{});
    // On the GPU, g_post, V and I (per step) or the window's spikes and g_post
    // live in device buffers where the synapses are.
    buffer<float> d_gp, d_v, d_i;
    buffer<std::uint8_t> d_ring;
    if (gpu && windowed) {
      d_ring = syn.make_buffer<std::uint8_t>(static_cast<std::int64_t>(ring.size()), "spike ring");
      d_gp = syn.make_buffer<float>(static_cast<std::int64_t>(g_window.size()), "g_post window");
    } else if (gpu) {
      d_gp = syn.make_buffer<float>(n, "g_post");
      d_v = syn.make_buffer<float>(n, "V");
      d_i = syn.make_buffer<float>(n, "I");
    }
    const auto steps = static_cast<std::int64_t>(std::llround(o.duration_ms / o.dt));
    std::vector<double> kick(un, 0.0);

    // One step of the neurons; current(j) is neuron j's NMDA current at its V
    // before this step. Writes the excitatory spikes into exc_out.
    auto neurons_step = [&](std::int64_t s, auto&& current, std::uint8_t* exc_out) {
      const double t = static_cast<double>(s) * o.dt;
      std::fill(exc_out, exc_out + n_exc, std::uint8_t{0});
      for (int j = 0; j < n; ++j) {
        const auto uj = static_cast<std::size_t>(j);
        kick[uj] += J_bg * background(rng);
        if (t < refractory_until[uj]) {
          kick[uj] = 0;
          continue;
        }
        double v = V[uj];
        v += o.dt / tau_m * (E_L - v + R * current(j)) + kick[uj];
        kick[uj] = 0;
        if (v >= V_th) {
          v = V_reset;
          refractory_until[uj] = t + t_ref;
          spikes.push_back({s, j});
          if (j < n_exc) {
            exc_out[uj] = 1;
          } else {
            const auto i = static_cast<std::size_t>(j - n_exc);
            for (std::int64_t q = net.inh_offsets[i]; q < net.inh_offsets[i + 1]; ++q) {
              kick[static_cast<std::size_t>(net.inh_targets[static_cast<std::size_t>(q)])] -= net.J_inh;
            }
          }
        }
        V[uj] = static_cast<float>(v);
      }
    };

    const auto t0 = std::chrono::steady_clock::now();
    if (windowed) {
      // Window w covers steps [w*D, w*D + K); its step k reads the spikes
      // emitted at step k of window w - 1, which the ring holds in slot k.
      for (std::int64_t s0 = 0; s0 < steps; s0 += D) {
        const auto K = static_cast<int>(std::min<std::int64_t>(D, steps - s0));
        const std::int64_t in_size = static_cast<std::int64_t>(K) * n_exc, out_size = static_cast<std::int64_t>(K) * n;
        if (gpu) {
          d_ring.copy_from(host_span<const std::uint8_t>(ring));
          const auto in = d_ring.device_view();
          const auto out = d_gp.device_view();
          map.step_window_async<float>(syn, K, dense_window(device_span<const std::uint8_t>(in.data, in_size)),
                                       device_span<float>(out.data, out_size));
          d_gp.copy_to(host_span<float>(g_window));  // stream-ordered after the window; waits
        } else {
          map.step_window<float>(syn, K, dense_window(host_span<const std::uint8_t>(ring.data(), in_size)),
                                 host_span<float>(g_window.data(), out_size));
        }
        for (int k = 0; k < K; ++k) {
          const float* g_k = g_window.data() + static_cast<std::size_t>(k) * un;
          // The current compute() would give: mg_current in float at V.
          neurons_step(s0 + k, [&](int j) { return mg_current(g_k[j], V[static_cast<std::size_t>(j)], mg); },
                       ring.data() + static_cast<std::size_t>(k) * un_exc);
        }
      }
    } else {
      for (std::int64_t s = 0; s < steps; ++s) {
        std::uint8_t* slot = ring.data() + static_cast<std::size_t>(s % D) * un_exc;
        // Synapses: the excitatory spikes of step s - D, then the NMDA current at V.
        syn.step(dense_mask(host_span<const std::uint8_t>(slot, n_exc)));
        if (gpu) {
          d_v.copy_from(host_span<const float>(V));
          map.compute_async<float>(syn, d_gp.device_view(), d_v.device_view(), d_i.device_view());
          d_i.copy_to(host_span<float>(I));  // stream-ordered after the sums; waits
        } else {
          map.compute<float>(syn, host_span<float>(g_post), host_span<const float>(V), host_span<float>(I));
        }
        neurons_step(s, [&](int j) { return I[static_cast<std::size_t>(j)]; }, slot);
      }
    }
    const double loop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double steps_per_s = loop_s > 0 ? static_cast<double>(steps) / loop_s : 0.0;

    std::int64_t n_e = 0, n_i = 0;
    for (const auto& sp : spikes) (sp.neuron < n_exc ? n_e : n_i)++;
    const double seconds = o.duration_ms / 1000.0;
    const double rate_e = static_cast<double>(n_e) / n_exc / seconds;
    const double rate_i = static_cast<double>(n_i) / n_inh / seconds;
    const std::string where = gpu ? cuda_devices().at(0).name : std::string("CPU");
    if (!o.raster.empty()) write_raster(o.raster, spikes, n_exc, n, o.dt, o.duration_ms, std::round(rate_e * 10) / 10,
                                        std::round(rate_i * 10) / 10, where);
    if (!o.spikes_out.empty()) write_spikes(o.spikes_out, spikes);
    if (o.json) {
      std::printf("{\"backend\": \"%s\", \"loop\": \"%s\", \"neurons\": %d, \"min_delay_steps\": %d, "
                  "\"rate_e_hz\": %.6f, \"rate_i_hz\": %.6f, \"spikes\": %lld, \"synapses\": %lld, "
                  "\"steps\": %lld, \"loop_s\": %.6f, \"steps_per_s\": %.3f}\n",
                  to_string(syn.backend()), o.loop.c_str(), n, D, rate_e, rate_i,
                  static_cast<long long>(spikes.size()), static_cast<long long>(map.synapses()),
                  static_cast<long long>(steps), loop_s, steps_per_s);
    } else {
      std::printf("E/I network, %d neurons, %lld NMDA synapses on %s, %.0f ms: E %.2f Hz, I %.2f Hz; "
                  "%s loop, %.1f steps/s; raster %s\n",
                  n, static_cast<long long>(map.synapses()), where.c_str(), o.duration_ms, rate_e, rate_i,
                  o.loop.c_str(), steps_per_s, o.raster.c_str());
    }
  } catch (const usage_error& e) {
    std::fprintf(stderr, "network: %s\n", e.what.c_str());
    return 2;
  } catch (const bionmda::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "network: out of memory (--neurons, --in-degree or --min-delay too large)\n");
    return 2;
  }
  return 0;
}
