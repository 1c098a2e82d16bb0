// Counter-based random numbers and the connectivity of examples/network.
#include "model.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace network_example {

std::uint64_t counter_bits(std::uint64_t seed, std::uint64_t purpose, std::uint64_t neuron, std::uint64_t step) {
  auto mix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(mix(seed) ^ purpose) ^ neuron) ^ step);
}

double counter_uniform(std::uint64_t seed, std::uint64_t purpose, std::uint64_t neuron, std::uint64_t step) {
  return static_cast<double>(counter_bits(seed, purpose, neuron, step) >> 11) * 0x1.0p-53;
}

int background_kicks(std::uint64_t seed, std::int64_t neuron, std::int64_t step, double lambda) {
  const double u = counter_uniform(seed, purpose_background, static_cast<std::uint64_t>(neuron),
                                   static_cast<std::uint64_t>(step));
  double p = std::exp(-lambda), cdf = p;
  int k = 0;
  while (u >= cdf && k < 1000) {
    ++k;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

shape make_shape(std::int64_t neurons, std::int64_t in_degree) {
  if (neurons < 2 || neurons > 100000000) {
    throw std::invalid_argument("--neurons " + std::to_string(neurons) + ": must lie in [2, 10^8]");
  }
  shape s;
  s.n = neurons;
  s.n_exc = excitatory_count(neurons);
  s.n_inh = neurons - s.n_exc;
  const std::int64_t k = in_degree >= 0 ? in_degree : (neurons <= 10000 ? 0 : 100);
  if (k == 0) {
    s.gmax = gmax_ref * (k_ref_e / (p_conn * static_cast<double>(s.n_exc)));
    s.J_inh = J_inh_ref * (k_ref_i / (p_conn * static_cast<double>(s.n_inh)));
    s.synapses = p_conn * static_cast<double>(s.n_exc) * static_cast<double>(neurons);
    s.inh_synapses = p_conn * static_cast<double>(s.n_inh) * static_cast<double>(neurons);
    return s;
  }
  s.k_e = std::llround(0.8 * static_cast<double>(k));
  s.k_i = k - s.k_e;
  if (s.k_e > s.n_exc - 1 || s.k_i > s.n_inh - 1) {
    throw std::invalid_argument("--in-degree " + std::to_string(k) + ": needs " + std::to_string(s.k_e) +
                                " excitatory and " + std::to_string(s.k_i) + " inhibitory inputs, but " +
                                std::to_string(neurons) + " neurons have " + std::to_string(s.n_exc) + " and " +
                                std::to_string(s.n_inh) + " (a neuron is never its own input)");
  }
  s.gmax = s.k_e > 0 ? gmax_ref * (k_ref_e / static_cast<double>(s.k_e)) : 0.0;
  s.J_inh = s.k_i > 0 ? J_inh_ref * (k_ref_i / static_cast<double>(s.k_i)) : 0.0;
  s.synapses = static_cast<double>(s.k_e) * static_cast<double>(neurons);
  s.inh_synapses = static_cast<double>(s.k_i) * static_cast<double>(neurons);
  return s;
}

namespace {

// k distinct values of [lo, lo + range) other than `exclude`, sorted.
void draw_distinct(std::mt19937_64& rng, std::int64_t lo, std::int64_t range, std::int64_t exclude, std::int64_t k,
                   std::vector<std::int64_t>& out) {
  const bool skip = exclude >= lo && exclude < lo + range;
  std::uniform_int_distribution<std::int64_t> pick(0, range - (skip ? 2 : 1));
  out.clear();
  while (static_cast<std::int64_t>(out.size()) < k) {
    while (static_cast<std::int64_t>(out.size()) < k) {
      std::int64_t v = pick(rng);
      if (skip && v >= exclude - lo) ++v;
      out.push_back(lo + v);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

}  // namespace

rows make_rows(const shape& s, std::uint64_t seed, const std::vector<std::int64_t>& neurons) {
  rows r;
  auto& c = r.nmda;
  c.n_post = static_cast<std::int64_t>(neurons.size());
  c.row_offsets.reserve(neurons.size() + 1);
  c.row_offsets.push_back(0);
  r.inh_offsets.reserve(neurons.size() + 1);
  r.inh_offsets.push_back(0);
  std::vector<std::int64_t> drawn;
  std::bernoulli_distribution connect(p_conn);
  for (const std::int64_t j : neurons) {
    // Neuron j's inputs come from its own generator: any rank draws the same.
    std::mt19937_64 rng(counter_bits(seed, purpose_connect, static_cast<std::uint64_t>(j), 0));
    if (s.k_e == 0 && s.k_i == 0) {
      for (std::int64_t i = 0; i < s.n_exc; ++i) {
        if (i != j && connect(rng)) c.source.push_back(static_cast<std::int32_t>(i));
      }
      for (std::int64_t i = 0; i < s.n_inh; ++i) {
        if (s.n_exc + i != j && connect(rng)) r.inh_source.push_back(static_cast<std::int32_t>(i));
      }
    } else {
      draw_distinct(rng, 0, s.n_exc, j, s.k_e, drawn);
      for (const std::int64_t i : drawn) c.source.push_back(static_cast<std::int32_t>(i));
      draw_distinct(rng, s.n_exc, s.n_inh, j, s.k_i, drawn);
      for (const std::int64_t i : drawn) r.inh_source.push_back(static_cast<std::int32_t>(i - s.n_exc));
    }
    c.row_offsets.push_back(static_cast<std::int64_t>(c.source.size()));
    r.inh_offsets.push_back(static_cast<std::int64_t>(r.inh_source.size()));
  }
  c.gmax.assign(c.source.size(), s.gmax);
  return r;
}

}  // namespace network_example
