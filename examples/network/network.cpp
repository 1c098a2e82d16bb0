// An excitatory-inhibitory network of leaky integrate-and-fire neurons with
// NMDA excitation through bionmda, in one process or over MPI ranks.
//
// N neurons (--neurons, default 1000), 80% excitatory and 20% inhibitory.
// Connectivity: up to 10^4 neurons, every ordered pair is connected with
// probability 0.1; above that, or with --in-degree C, every neuron receives a
// fixed C inputs (80% excitatory, default C = 100), so a large network stays
// sparse. Weights scale as 1 / in-degree. Each excitatory neuron drives
// BioNMDA units (per-presynaptic mode: one unit per presynaptic neuron, shared
// by its synapses; --synapses per-synapse: one per synapse), summed onto every
// neuron as gmax * g with the Mg block at the neuron's voltage. Inhibition is a
// voltage kick per spike; every neuron also receives Poisson background kicks.
//
// Delays: every spike, excitatory or inhibitory, reaches its targets D steps
// after it was emitted, D = --min-delay / dt (default 1 ms, D = 10 at
// dt = 0.1 ms). Random numbers are pure functions of (seed, neuron, step)
// (model.hpp), so the network is the same whichever process holds a neuron.
//
// --loop per-step (one process): the synapses of all neurons step once a step
// from a ring buffer of D steps of spikes; the reference. --loop window (the
// default): bionmda's network layer (bionmda/network.hpp). The neurons are
// partitioned over ranks (--partition block, round-robin or a file), each
// rank holds the synapses onto its neurons (bionmda::projection), advances
// them a window of K steps at once (--window, a divisor of the delay; default
// the delay) and exchanges the window's spikes (bionmda::mpi's all-gather or
// point-to-point exchange under mpirun; none in one process). With K < D the
// exchange of a window moves while the next window computes. Every rank
// count, window and exchange gives the spikes of the per-step loop.
//
//     mpirun -np 4 build/examples/bionmda_network --neurons 20000 --spikes-out spikes.csv
//
// Rank 0 merges every rank's spikes into one raster (SVG) and one CSV
// (`step,neuron`), and prints rates and the time split into compute and
// exchange. --checkpoint-out DIR --checkpoint-at T saves the run at time T
// (one file set per rank plus a manifest); --restore DIR continues it at the
// same rank count.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "bionmda/bionmda.hpp"
#include "model.hpp"
#include "output.hpp"
#if BIONMDA_NETWORK_MPI
#include "bionmda/mpi.hpp"
#endif

namespace {

using namespace network_example;

// True while every error is raised on every rank at once (setup: each step
// agreed by all ranks); false while the network runs, when an error is one
// rank's own and the run must be aborted for all.
bool errors_are_collective = true;

struct options {
  std::string backend = "auto";
  double duration_ms = 1000.0;
  double dt = 0.1;
  double min_delay_ms = 1.0;
  double window_ms = 0.0;  // used only when --window is given (default: the min delay)
  std::string loop = "window";
  std::int64_t neurons = 1000;
  std::int64_t in_degree = -1;  // -1: 0 up to 10^4 neurons, 100 above
  std::uint64_t seed = 1;
  std::string raster = "raster.svg";
  std::string spikes_out;
  std::string exchange = "allgather";
  std::string partition = "block";
  std::string synapses = "per-presynaptic";
  std::string checkpoint_out;
  double checkpoint_at_ms = -1.0;
  std::string restore;
  bool json = false;
};

// The ranks of this run: one process, or MPI_COMM_WORLD's duplicate.
struct ranks {
  int rank = 0, size = 1;
#if BIONMDA_NETWORK_MPI
  std::unique_ptr<bionmda::mpi::communicator> comm;
#endif
  bool mpi() const {
#if BIONMDA_NETWORK_MPI
    return comm != nullptr;
#else
    return false;
#endif
  }
  // Runs f on every rank; when any rank failed, every rank throws.
  template <class F>
  void all_or_none(F&& f) const {
#if BIONMDA_NETWORK_MPI
    if (comm) {
      comm->all_or_none(std::forward<F>(f));
      return;
    }
#endif
    f();
  }
};

std::int64_t steps_of(double ms, double dt, const char* option, bool allow_zero = false) {
  const double ratio = ms / dt;
  const double d = std::round(ratio);
  // A multiple of dt within rounding of the decimal input (0.3 / 0.1 = 2.9999999999999996).
  if (!std::isfinite(ms) || (allow_zero ? ms < 0.0 : !(ms > 0.0)) || (!allow_zero && d < 1.0) ||
      std::abs(ratio - d) > 1e-6 || d > 1e6) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s %g: must be a %s multiple of dt = %g ms (at most 10^6 steps)", option, ms,
                  allow_zero ? "non-negative" : "positive", dt);
    throw usage_error{buf};
  }
  return static_cast<std::int64_t>(d);
}

// --duration rounds to whole steps (300.7 ms: 3007 steps) but must give at
// least one, and few enough that a step count is exact in a double.
std::int64_t duration_steps(double ms, double dt) {
  const double d = std::isfinite(ms) ? std::round(ms / dt) : -1.0;
  if (!(ms > 0.0) || !(d >= 1.0) || d > 1e12) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "--duration %g: must be at least one step (dt = %g ms) and at most 10^12 steps", ms,
                  dt);
    throw usage_error{buf};
  }
  return static_cast<std::int64_t>(d);
}

double physical_memory_bytes() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<double>(pages) * static_cast<double>(page);
#endif
  return 16.0 * (1ull << 30);
}

shape checked_shape(const options& o) {
  shape s;
  try {
    s = make_shape(o.neurons, o.in_degree);
  } catch (const std::invalid_argument& e) {
    throw usage_error{e.what()};
  }
  // Host CSR (int32 source + float64 gmax) and the map's copy (int32 + float32).
  const double bytes = s.synapses * 20.0 + s.inh_synapses * 8.0;
  const double budget = 0.5 * physical_memory_bytes();
  if (bytes > budget) {
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "--neurons %lld: %.3g NMDA synapses need about %.1f GiB, more than half of this machine's "
                  "%.1f GiB; %s",
                  static_cast<long long>(s.n), s.synapses, bytes / (1ull << 30), 2.0 * budget / (1ull << 30),
                  s.k_e == 0 ? "give a fixed --in-degree C for a sparse network" : "give a smaller --in-degree");
    throw usage_error{buf};
  }
  return s;
}

// The neurons one process holds (all of them, or one rank's), in ascending
// global order, and one step of their dynamics.
struct neurons {
  const options* o = nullptr;
  const shape* net = nullptr;
  lif p;
  std::vector<std::int64_t> ids;       // global index of local neuron li
  std::vector<float> V;                // mV
  std::vector<double> refractory_until;  // ms
  std::vector<int> inh_arrivals;       // inhibitory spikes arriving this step, per local neuron
  // Inhibitory targets: per inhibitory neuron i, the local neurons it reaches.
  std::vector<std::int64_t> inh_offsets;
  std::vector<std::int64_t> inh_targets;

  neurons(const options& opt, const shape& s, std::vector<std::int64_t> local, const rows& r)
      : o(&opt), net(&s), ids(std::move(local)) {
    const std::size_t nl = ids.size();
    V.resize(nl);
    refractory_until.assign(nl, -1.0);
    inh_arrivals.assign(nl, 0);
    for (std::size_t li = 0; li < nl; ++li) {
      const double u = counter_uniform(opt.seed, purpose_v0, static_cast<std::uint64_t>(ids[li]), 0);
      V[li] = static_cast<float>(p.E_L + u * (p.V_th - p.E_L));
    }
    inh_offsets.assign(static_cast<std::size_t>(s.n_inh) + 1, 0);
    for (const std::int32_t i : r.inh_source) ++inh_offsets[static_cast<std::size_t>(i) + 1];
    for (std::size_t i = 0; i < static_cast<std::size_t>(s.n_inh); ++i) inh_offsets[i + 1] += inh_offsets[i];
    inh_targets.resize(r.inh_source.size());
    std::vector<std::int64_t> fill(inh_offsets.begin(), inh_offsets.end() - 1);
    for (std::size_t li = 0; li < nl; ++li) {
      for (std::int64_t q = r.inh_offsets[li]; q < r.inh_offsets[li + 1]; ++q) {
        const auto i = static_cast<std::size_t>(r.inh_source[static_cast<std::size_t>(q)]);
        inh_targets[static_cast<std::size_t>(fill[i]++)] = static_cast<std::int64_t>(li);
      }
    }
  }

  // A spike of global neuron j arrives (only inhibitory ones act here).
  void arrive(std::int64_t j) {
    if (j < net->n_exc) return;
    const auto i = static_cast<std::size_t>(j - net->n_exc);
    for (std::int64_t q = inh_offsets[i]; q < inh_offsets[i + 1]; ++q) ++inh_arrivals[static_cast<std::size_t>(inh_targets[static_cast<std::size_t>(q)])];
  }

  // Step s; current(li) is the NMDA current of local neuron li at its V
  // before this step [pA]; emit(j) for every neuron that spikes.
  template <class Current, class Emit>
  void step(std::int64_t s, Current&& current, Emit&& emit) {
    const double dt = o->dt, t = static_cast<double>(s) * dt;
    const double lambda = p.bg_rate_hz * dt / 1000.0;
    for (std::size_t li = 0; li < ids.size(); ++li) {
      const int inh = inh_arrivals[li];
      inh_arrivals[li] = 0;
      if (t < refractory_until[li]) continue;
      const double kick = p.J_bg * background_kicks(o->seed, ids[li], s, lambda) - net->J_inh * inh;
      double v = V[li];
      v += dt / p.tau_m * (p.E_L - v + p.R * current(li)) + kick;
      if (v >= p.V_th) {
        v = p.V_reset;
        refractory_until[li] = t + p.t_ref;
        emit(ids[li]);
      }
      V[li] = static_cast<float>(v);
    }
  }

  // V and refractory_until as bytes (checkpoints), and back.
  std::vector<std::uint8_t> save() const {
    std::vector<std::uint8_t> b(V.size() * (sizeof(float) + sizeof(double)));
    std::memcpy(b.data(), V.data(), V.size() * sizeof(float));
    std::memcpy(b.data() + V.size() * sizeof(float), refractory_until.data(), V.size() * sizeof(double));
    return b;
  }
  void load(const std::vector<std::uint8_t>& b, const std::string& dir) {
    if (b.size() != V.size() * (sizeof(float) + sizeof(double))) {
      throw usage_error{"--restore " + dir + ": the neuron state has " + std::to_string(b.size()) + " bytes, " +
                        std::to_string(V.size()) + " neurons need " +
                        std::to_string(V.size() * (sizeof(float) + sizeof(double)))};
    }
    std::memcpy(V.data(), b.data(), V.size() * sizeof(float));
    std::memcpy(refractory_until.data(), b.data() + V.size() * sizeof(float), V.size() * sizeof(double));
  }
};

struct run_result {
  std::vector<spike> spikes;  // this rank's
  std::int64_t first_step = 0, steps = 0, synapses = 0;
  double loop_s = 0, compute_s = 0, exchange_s = 0;
  bionmda::exchange_stats exchange;
  std::string where = "CPU";
  bionmda::backend backend = bionmda::backend::cpu;
  std::int64_t window_steps = 1;
};

// --loop per-step: every neuron and synapse in this process, one step at a time.
run_result run_per_step(const options& o, const shape& net, std::int64_t D, std::int64_t steps) {
  using namespace bionmda;
  std::vector<std::int64_t> all(static_cast<std::size_t>(net.n));
  for (std::int64_t j = 0; j < net.n; ++j) all[static_cast<std::size_t>(j)] = j;
  rows r = make_rows(net, o.seed, all);
  neurons nrn(o, net, all, r);
  population_config cfg;
  cfg.units = net.n_exc;
  cfg.dt = o.dt;
  cfg.backend = parse_backend(o.backend);
  population syn(cfg);
  const postsynaptic_map map(syn, std::move(r.nmda));
  const bool gpu = syn.backend() == backend::cuda;
  const auto un = static_cast<std::size_t>(net.n);
  std::vector<float> g_post(un), I(un);
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(net.n_exc));
  // Slot s % D: the spikes emitted at step s - D until step s reads them, then those of step s.
  std::vector<std::vector<std::int64_t>> ring(static_cast<std::size_t>(D));
  buffer<float> d_gp, d_v, d_i;
  if (gpu) {
    d_gp = syn.make_buffer<float>(net.n, "g_post");
    d_v = syn.make_buffer<float>(net.n, "V");
    d_i = syn.make_buffer<float>(net.n, "I");
  }
  run_result out;
  out.steps = steps;
  out.synapses = map.synapses();
  out.backend = syn.backend();
  out.where = gpu ? cuda_devices().at(0).name : std::string("CPU");
  const auto t0 = std::chrono::steady_clock::now();
  errors_are_collective = false;
  for (std::int64_t s = 0; s < steps; ++s) {
    auto& slot = ring[static_cast<std::size_t>(s % D)];
    std::fill(mask.begin(), mask.end(), std::uint8_t{0});
    for (const std::int64_t j : slot) {
      if (j < net.n_exc) mask[static_cast<std::size_t>(j)] = 1;
      nrn.arrive(j);
    }
    syn.step(dense_mask(host_span<const std::uint8_t>(mask)));
    if (gpu) {
      d_v.copy_from(host_span<const float>(nrn.V));
      map.compute_async<float>(syn, d_gp.device_view(), d_v.device_view(), d_i.device_view());
      d_i.copy_to(host_span<float>(I));  // stream-ordered after the sums; waits
    } else {
      map.compute<float>(syn, host_span<float>(g_post), host_span<const float>(nrn.V), host_span<float>(I));
    }
    slot.clear();
    nrn.step(s, [&](std::size_t li) { return I[li]; }, [&](std::int64_t j) {
      slot.push_back(j);
      out.spikes.push_back({s, j});
    });
  }
  out.loop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.compute_s = out.loop_s;
  return out;
}

std::vector<std::int64_t> read_partition_file(const std::string& path, int rank, int ranks) {
  // Lines "rank neuron"; this rank takes its own. Blank lines and # comments skipped.
  std::ifstream f(path);
  if (!f) throw usage_error{"--partition " + path + ": cannot read it"};
  std::vector<std::int64_t> mine;
  std::string line;
  std::int64_t lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    long long r = 0, j = 0;
    char extra = 0;
    if (std::sscanf(line.c_str(), "%lld %lld %c", &r, &j, &extra) != 2) {
      throw usage_error{"--partition " + path + ":" + std::to_string(lineno) + ": expected `rank neuron`, got '" +
                        line + "'"};
    }
    if (r < 0 || r >= ranks) {
      throw usage_error{"--partition " + path + ":" + std::to_string(lineno) + ": rank " + std::to_string(r) +
                        " outside [0, " + std::to_string(ranks) + ") of this run"};
    }
    if (r == rank) mine.push_back(j);
  }
  return mine;
}

// --loop window: this rank's neurons and synapses through bionmda's network layer.
run_result run_windows(const options& o, const shape& net, std::int64_t D, std::int64_t K, std::int64_t steps,
                       std::int64_t checkpoint_step, const ranks& rk) {
  using namespace bionmda;
  // Who owns which neuron.
  std::unique_ptr<partition> owners;
  rk.all_or_none([&] {
    if (o.partition == "block") {
      owners = std::make_unique<partition>(partition::block(net.n, rk.size));
    } else if (o.partition == "round-robin") {
      owners = std::make_unique<partition>(partition::round_robin(net.n, rk.size));
    }
  });
  if (!owners) {
    std::vector<std::int64_t> mine;
    rk.all_or_none([&] { mine = read_partition_file(o.partition, rk.rank, rk.size); });
    // Every rank sees the same lists, so every rank raises the same error.
    try {
#if BIONMDA_NETWORK_MPI
      if (rk.comm) {
        owners = std::make_unique<partition>(mpi::gather_partition(*rk.comm, net.n, mine));
      }
#endif
      if (!owners) owners = std::make_unique<partition>(partition::from_lists(net.n, {mine}));
    } catch (const bionmda::invalid_argument& e) {
      throw usage_error{"--partition " + o.partition + ": " + e.what()};
    }
  }
  std::vector<std::int64_t> local = owners->local(rk.rank);
  rows r;
  std::unique_ptr<neurons> nrn_owner;
  rk.all_or_none([&] {
    r = make_rows(net, o.seed, local);
    nrn_owner = std::make_unique<neurons>(o, net, local, r);
  });
  neurons& nrn = *nrn_owner;

  projection_config pc;
  pc.synapses.dt = o.dt;
  pc.synapses.backend = parse_backend(o.backend);
  pc.mode = o.synapses == "per-synapse" ? synapse_mode::per_synapse : synapse_mode::per_presynaptic;
  pc.max_window_steps = K;
#if BIONMDA_NETWORK_MPI
  if (rk.comm && pc.synapses.backend != backend::cpu) {
    const int device = mpi::device_for_rank(*rk.comm);  // one GPU per rank on the node, round robin
    if (device >= 0) pc.synapses.device = device;
    else if (pc.synapses.backend == backend::automatic) pc.synapses.backend = backend::cpu;
  }
#endif
  std::unique_ptr<projection> proj;
  rk.all_or_none([&] { proj = std::make_unique<projection>(std::move(r.nmda), net.n_exc, pc); });

  // The spikes this rank needs: its synapses' sources and its inhibitory inputs.
  std::unique_ptr<spike_exchange> exchange;
#if BIONMDA_NETWORK_MPI
  if (rk.comm) {
    if (o.exchange == "point-to-point") {
      std::vector<std::int64_t> needed(proj->sources());
      for (const std::int32_t i : r.inh_source) needed.push_back(net.n_exc + i);
      exchange = std::make_unique<mpi::point_to_point_exchange>(*rk.comm, *owners, K, needed);
    } else {
      exchange = std::make_unique<mpi::allgather_exchange>(*rk.comm, *owners, K);
    }
  }
#endif
  if (!exchange) exchange = std::make_unique<local_exchange>(net.n, K);
  window_loop loop(*exchange, {D, K});

  network_manifest manifest;
  manifest.ranks = rk.size;
  manifest.neurons = net.n;
  manifest.delay_steps = D;
  manifest.window_steps = K;
  manifest.partition_digest = owners->digest();
  if (!o.restore.empty()) {
    std::vector<std::uint8_t> user;
    try {  // collective under MPI: every rank raises the same error
#if BIONMDA_NETWORK_MPI
      if (rk.comm) user = mpi::restore_checkpoint(*rk.comm, o.restore, manifest, loop, *proj);
#endif
      if (!rk.mpi()) {
        const network_manifest saved = read_network_manifest(o.restore);
        manifest.step = saved.step;
        check_network_manifest(saved, manifest, o.restore + "/manifest.json");
        user = restore_rank_checkpoint(o.restore, 0, saved, loop, *proj);
      }
    } catch (const bionmda::error& e) {
      throw usage_error{"--restore " + o.restore + ": " + e.what()};
    }
    rk.all_or_none([&] { nrn.load(user, o.restore); });
    if (loop.step() > steps) {
      throw usage_error{"--restore " + o.restore + ": the checkpoint is at step " + std::to_string(loop.step()) +
                        ", past the end of --duration (" + std::to_string(steps) + " steps)"};
    }
    if (checkpoint_step >= 0 && checkpoint_step <= loop.step()) {
      // The run continues from loop.step(): an earlier checkpoint would never be written.
      throw usage_error{"--checkpoint-at " + std::to_string(o.checkpoint_at_ms) + ": step " +
                        std::to_string(checkpoint_step) + " is not after the restored step " +
                        std::to_string(loop.step()) + " of --restore " + o.restore};
    }
  }

  run_result out;
  out.first_step = loop.step();
  out.steps = steps - loop.step();
  out.synapses = proj->synapses();
  out.backend = proj->units().backend();
  out.window_steps = K;
  out.where = out.backend == backend::cuda ? cuda_devices().at(static_cast<std::size_t>(pc.synapses.device)).name
                                           : std::string("CPU");
  // A test hook: BIONMDA_NETWORK_TEST_EXIT="rank:window" makes that rank die
  // (exit without MPI_Finalize) as that window starts.
  int die_rank = -1;
  std::int64_t die_window = -1;
  if (const char* e = std::getenv("BIONMDA_NETWORK_TEST_EXIT")) {
    long long w = -1;
    if (std::sscanf(e, "%d:%lld", &die_rank, &w) != 2) die_rank = -1;
    die_window = w;
  }

  std::vector<float> g_window(static_cast<std::size_t>(K) * local.size());
  std::vector<spike_word> mine;
  const auto mg = make_mg_coefficients<float>(mg_block{});
  const auto un = local.size();
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  errors_are_collective = false;
  while (loop.step() < steps) {
    const std::int64_t s0 = loop.step();
    if (rk.rank == die_rank && s0 / K == die_window) std::_Exit(3);
    const std::int64_t Kw = std::min(K, steps - s0);
    const auto ta = clock::now();
    const std::vector<spike_word>& in = loop.begin_window(Kw);
    const auto tb = clock::now();
    proj->step_window<float>(Kw, in, host_span<float>(g_window.data(), Kw * static_cast<std::int64_t>(un)));
    mine.clear();
    std::size_t next = 0;
    for (std::int64_t k = 0; k < Kw; ++k) {
      for (; next < in.size() && spike_step(in[next]) == k; ++next) nrn.arrive(spike_neuron(in[next]));
      const float* g_k = g_window.data() + static_cast<std::size_t>(k) * un;
      // The current compute() would give: mg_current in float at V.
      nrn.step(s0 + k, [&](std::size_t li) { return mg_current(g_k[li], nrn.V[li], mg); },
               [&](std::int64_t j) {
                 mine.push_back(make_spike(k, j));
                 out.spikes.push_back({s0 + k, j});
               });
      loop.progress();  // the previous window's spikes move meanwhile (overlapped windows)
    }
    const auto tc = clock::now();
    loop.end_window(mine);
    const auto td = clock::now();
    out.compute_s += std::chrono::duration<double>(tc - tb).count();
    out.exchange_s += std::chrono::duration<double>((tb - ta) + (td - tc)).count();
    if (loop.step() == checkpoint_step) {
      const auto user = nrn.save();
      manifest.step = loop.step();
      const auto te = clock::now();
#if BIONMDA_NETWORK_MPI
      if (rk.comm) mpi::save_checkpoint(*rk.comm, o.checkpoint_out, manifest, loop, *proj, user);
#endif
      if (!rk.mpi()) {
        std::filesystem::create_directories(o.checkpoint_out);
        save_rank_checkpoint(o.checkpoint_out, 0, manifest, loop, *proj, user);
        write_network_manifest(o.checkpoint_out, manifest);
      }
      out.exchange_s += std::chrono::duration<double>(clock::now() - te).count();
    }
  }
  loop.drain();
  out.loop_s = std::chrono::duration<double>(clock::now() - t0).count();
  out.exchange = exchange->stats();
  return out;
}

}  // namespace

#if BIONMDA_NETWORK_MPI
namespace {

// Every rank's spikes, merged on rank 0 in step then neuron order.
std::vector<network_example::spike> gather_spikes(const bionmda::mpi::communicator& comm,
                                                  const std::vector<network_example::spike>& mine) {
  // Every rank learns every count, so a merge too large for rank 0's MPI int
  // counts is refused on every rank alike.
  const auto n = static_cast<std::int64_t>(mine.size());
  std::vector<std::int64_t> spikes_of(static_cast<std::size_t>(comm.size()));
  MPI_Allgather(&n, 1, MPI_INT64_T, spikes_of.data(), 1, MPI_INT64_T, comm.get());
  std::int64_t total = 0;
  for (const std::int64_t c : spikes_of) total += c;
  if (2 * total > INT_MAX) {
    throw usage_error("--spikes-out/--raster: " + std::to_string(total) +
                      " spikes are more than rank 0 can merge (2^30); shorten --duration");
  }
  std::vector<std::int64_t> flat;
  flat.reserve(mine.size() * 2);
  for (const auto& s : mine) {
    flat.push_back(s.step);
    flat.push_back(s.neuron);
  }
  std::vector<int> counts(static_cast<std::size_t>(comm.size())), displs(counts.size());
  int at = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = at;
    counts[r] = static_cast<int>(2 * spikes_of[r]);
    at += counts[r];
  }
  std::vector<std::int64_t> all(comm.rank() == 0 ? static_cast<std::size_t>(at) : 0);
  MPI_Gatherv(flat.data(), static_cast<int>(flat.size()), MPI_INT64_T, all.data(), counts.data(), displs.data(),
              MPI_INT64_T, 0, comm.get());
  std::vector<network_example::spike> out;
  out.reserve(all.size() / 2);
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) out.push_back({all[i], all[i + 1]});
  std::sort(out.begin(), out.end());
  return out;
}

double reduce(const bionmda::mpi::communicator& comm, double v, MPI_Op op) {
  double r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_DOUBLE, op, comm.get());
  return r;
}

}  // namespace
#endif

int main(int argc, char** argv) {
  using namespace network_example;
  options o;
  CLI::App app{"E/I LIF network with BioNMDA excitation, in one process or over MPI ranks"};
  app.add_option("--backend", o.backend, "auto, cpu or cuda (the synapses; under MPI one GPU per rank on a node)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--duration", o.duration_ms, "simulated time [ms], at least one step of dt = 0.1 ms");
  app.add_option("--min-delay", o.min_delay_ms,
                 "delay of every spike to its targets [ms], a positive multiple of dt = 0.1 ms (default 1)");
  app.add_option("--window", o.window_ms,
                 "window of the synapses and of the spike exchange [ms] (--loop window): the min delay divided by a "
                 "whole number; default the min delay. Shorter: each exchange moves while the next window computes.");
  app.add_option("--loop", o.loop, "window (default): bionmda's network layer, any number of MPI ranks; "
                                   "per-step: one process, one step at a time (the reference). Identical spikes.")
      ->check(CLI::IsMember({"window", "per-step"}));
  app.add_option("--neurons", o.neurons, "neurons, 80% excitatory (default 1000)");
  app.add_option("--in-degree", o.in_degree,
                 "inputs per neuron (80% excitatory), fixed: keeps a large network sparse. 0: every pair "
                 "connected with probability 0.1 (p*N^2 synapses). Default 0 up to 10^4 neurons, 100 above. "
                 "Weights scale as 1/in-degree.");
  app.add_option("--seed", o.seed, "seed of connectivity, initial voltages and background input");
  app.add_option("--raster", o.raster, "spike raster output (.svg; empty: none); rank 0 writes it");
  app.add_option("--spikes-out", o.spikes_out, "every spike as CSV `step,neuron`, in step then neuron order");
  app.add_option("--synapses", o.synapses, "per-presynaptic (default): one BioNMDA unit per presynaptic neuron "
                                           "and rank; per-synapse: one per synapse")
      ->check(CLI::IsMember({"per-presynaptic", "per-synapse"}));
  app.add_option("--exchange", o.exchange, "under MPI: allgather (default, every spike to every rank) or "
                                           "point-to-point (each spike to the ranks that need it)")
      ->check(CLI::IsMember({"allgather", "point-to-point"}));
  app.add_option("--partition", o.partition, "block (default), round-robin, or a file of `rank neuron` lines");
  app.add_option("--checkpoint-out", o.checkpoint_out, "directory for a checkpoint (one file set per rank + manifest)");
  app.add_option("--checkpoint-at", o.checkpoint_at_ms, "time of the checkpoint [ms], a multiple of the window");
  app.add_option("--restore", o.restore, "continue from this checkpoint directory (same ranks and network)");
  app.add_flag("--json", o.json, "print rates, steps per second and the compute/exchange split as one JSON object");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every bad option or value exits 2, like
    // the errors below (CLI11's own codes would otherwise leak out).
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  const bool window_given = app.count("--window") > 0, in_degree_given = app.count("--in-degree") > 0;

  ranks rk;
#if BIONMDA_NETWORK_MPI
  MPI_Init(&argc, &argv);
  // An error every rank raised together ends the run cleanly; one rank's own
  // error ends every rank (MPI_Abort): no rank waits forever.
  auto fail = [&](int code) {
    if (rk.size > 1 && !errors_are_collective) MPI_Abort(MPI_COMM_WORLD, code);
    rk.comm.reset();
    MPI_Finalize();
    return code;
  };
#else
  auto fail = [](int code) { return code; };
#endif
  try {
#if BIONMDA_NETWORK_MPI
    rk.comm = std::make_unique<bionmda::mpi::communicator>(MPI_COMM_WORLD);
    rk.rank = rk.comm->rank();
    rk.size = rk.comm->size();
#endif
    shape net;
    std::int64_t D = 0, K = 0, steps = 0, checkpoint_step = -1;
    // Options: every rank checks its own; all continue, or all stop.
    rk.all_or_none([&] {
      D = steps_of(o.min_delay_ms, o.dt, "--min-delay");
      // Left out, the window is the delay; given, it must be a positive multiple of dt (0 included).
      K = window_given ? steps_of(o.window_ms, o.dt, "--window") : D;
      if (in_degree_given && o.in_degree < 0) {
        throw usage_error{"--in-degree " + std::to_string(o.in_degree) +
                          ": must be >= 0 (0: every pair with probability 0.1)"};
      }
      if (D % K != 0) {
        throw usage_error{"--window " + std::to_string(o.window_ms) + ": must divide --min-delay " +
                          std::to_string(o.min_delay_ms) + " (" + std::to_string(K) + " and " + std::to_string(D) +
                          " steps)"};
      }
      steps = duration_steps(o.duration_ms, o.dt);
      net = checked_shape(o);
      if (o.loop == "per-step" && rk.size > 1) throw usage_error{"--loop per-step runs in one process, not under mpirun"};
      if (o.loop == "per-step" && (!o.checkpoint_out.empty() || !o.restore.empty())) {
        throw usage_error{"--checkpoint-out and --restore need --loop window"};
      }
      if (o.checkpoint_out.empty() != (o.checkpoint_at_ms < 0)) {
        throw usage_error{"--checkpoint-out and --checkpoint-at go together"};
      }
      if (!o.checkpoint_out.empty()) {
        checkpoint_step = steps_of(o.checkpoint_at_ms, o.dt, "--checkpoint-at");
        if (checkpoint_step % K != 0 || checkpoint_step > steps) {
          throw usage_error{"--checkpoint-at " + std::to_string(o.checkpoint_at_ms) +
                            ": must be a multiple of the window and within --duration"};
        }
      }
      if (rk.rank == 0) {
        check_writable(o.spikes_out, "--spikes-out");
        check_writable(o.raster, "--raster");
        if (!o.checkpoint_out.empty()) check_directory(o.checkpoint_out, "--checkpoint-out");
      }
    });
#if BIONMDA_NETWORK_MPI
    // The same network on every rank (an MPMD launch could give ranks different options).
    rk.comm->check_same("--min-delay (steps)", D);
    rk.comm->check_same("--window (steps)", K);
    rk.comm->check_same("--duration (steps)", steps);
    rk.comm->check_same("--neurons", net.n);
    rk.comm->check_same("the in-degree", net.k_e * 1000003 + net.k_i);
    rk.comm->check_same("--seed", static_cast<std::int64_t>(o.seed));
#endif
    const run_result res = o.loop == "per-step" ? run_per_step(o, net, D, steps)
                                                : run_windows(o, net, D, K, steps, checkpoint_step, rk);
    // Merging the ranks' results is collective again; writing them is rank 0's alone.
    errors_are_collective = true;
    std::vector<spike> spikes = res.spikes;
    double n_e = 0, n_i = 0;
    for (const auto& sp : res.spikes) (sp.neuron < net.n_exc ? n_e : n_i) += 1;
    double compute_s = res.compute_s, exchange_s = res.exchange_s, loop_s = res.loop_s;
    double bytes = static_cast<double>(res.exchange.bytes_sent);
    double synapses = static_cast<double>(res.synapses);
#if BIONMDA_NETWORK_MPI
    if (rk.size > 1) {
      const bool merge = !o.raster.empty() || !o.spikes_out.empty();
      if (merge) spikes = gather_spikes(*rk.comm, res.spikes);
      n_e = reduce(*rk.comm, n_e, MPI_SUM);
      n_i = reduce(*rk.comm, n_i, MPI_SUM);
      compute_s = reduce(*rk.comm, compute_s, MPI_MAX);
      exchange_s = reduce(*rk.comm, exchange_s, MPI_MAX);
      loop_s = reduce(*rk.comm, loop_s, MPI_MAX);
      bytes = reduce(*rk.comm, bytes, MPI_SUM);
      synapses = reduce(*rk.comm, synapses, MPI_SUM);
    }
#endif
    errors_are_collective = false;
    if (rk.rank == 0) {
      const double seconds = static_cast<double>(res.steps) * o.dt / 1000.0;
      const double rate_e = seconds > 0 ? n_e / static_cast<double>(net.n_exc) / seconds : 0.0;
      const double rate_i = seconds > 0 ? n_i / static_cast<double>(net.n_inh) / seconds : 0.0;
      const double steps_per_s = loop_s > 0 ? static_cast<double>(res.steps) / loop_s : 0.0;
      const double windows = static_cast<double>(std::max<std::int64_t>(res.exchange.windows, 1));
      if (!o.raster.empty()) {
        write_raster(o.raster, spikes, net.n_exc, net.n, o.dt, o.duration_ms, std::round(rate_e * 10) / 10,
                     std::round(rate_i * 10) / 10, res.where + (rk.size > 1 ? ", " + std::to_string(rk.size) + " ranks" : ""));
      }
      if (!o.spikes_out.empty()) write_spikes(o.spikes_out, spikes);
      if (o.json) {
        std::printf("{\"backend\": \"%s\", \"loop\": \"%s\", \"ranks\": %d, \"exchange\": \"%s\", \"synapse_mode\": \"%s\", "
                    "\"neurons\": %lld, \"min_delay_steps\": %lld, \"window_steps\": %lld, "
                    "\"rate_e_hz\": %.6f, \"rate_i_hz\": %.6f, \"spikes\": %lld, \"synapses\": %lld, "
                    "\"first_step\": %lld, \"steps\": %lld, \"loop_s\": %.6f, \"steps_per_s\": %.3f, "
                    "\"compute_s\": %.6f, \"exchange_s\": %.6f, \"bytes_per_window\": %.1f}\n",
                    bionmda::to_string(res.backend), o.loop.c_str(), rk.size,
                    rk.size > 1 ? o.exchange.c_str() : "none", o.synapses.c_str(), static_cast<long long>(net.n),
                    static_cast<long long>(D), static_cast<long long>(o.loop == "per-step" ? 1 : K), rate_e, rate_i,
                    static_cast<long long>(n_e + n_i), static_cast<long long>(synapses),
                    static_cast<long long>(res.first_step), static_cast<long long>(res.steps), loop_s, steps_per_s,
                    compute_s, exchange_s, bytes / windows);
      } else {
        std::printf("E/I network, %lld neurons, %lld NMDA synapses on %s (%d rank%s), %.0f ms: E %.2f Hz, I %.2f Hz; "
                    "%s loop, %.1f steps/s (compute %.3f s, exchange %.3f s); raster %s\n",
                    static_cast<long long>(net.n), static_cast<long long>(synapses), res.where.c_str(), rk.size,
                    rk.size == 1 ? "" : "s", o.duration_ms, rate_e, rate_i, o.loop.c_str(), steps_per_s, compute_s,
                    exchange_s, o.raster.c_str());
      }
    }
  } catch (const usage_error& e) {
    if (rk.rank == 0 || !errors_are_collective) std::fprintf(stderr, "network: %s\n", e.what());
    return fail(2);
  } catch (const bionmda::error& e) {
    if (rk.rank == 0 || !errors_are_collective) std::fprintf(stderr, "network: %s\n", e.what());
    return fail(2);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "network: out of memory (--neurons, --in-degree or --min-delay too large)\n");
    return fail(2);
  } catch (const std::exception& e) {
    // Anything else (e.g. a file system error) ends the run the same way.
    if (rk.rank == 0 || !errors_are_collective) std::fprintf(stderr, "network: %s\n", e.what());
    return fail(2);
  }
#if BIONMDA_NETWORK_MPI
  rk.comm.reset();
  MPI_Finalize();
#endif
  return 0;
}
