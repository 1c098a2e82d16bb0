// The E/I network of examples/network: its constants, its counter-based
// random numbers and the connectivity of any subset of its neurons.
//
// Every random number is a pure function of (seed, purpose, neuron, step):
// the connectivity of neuron j, its initial voltage and its background input
// at step s come out the same whichever process computes them, so the network
// split over R ranks is the network of one process, spike for spike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bionmda/bionmda.hpp"

namespace network_example {

// Neurons [ms, mV]; currents in pA with a 10 nS leak (R = 0.1 mV/pA).
struct lif {
  double tau_m = 20.0, E_L = -65.0, V_th = -50.0, V_reset = -65.0, t_ref = 2.0, R = 0.1;
  double bg_rate_hz = 1500.0;  // Poisson background kicks per neuron
  double J_bg = 0.5;           // mV per background kick
};

// Connection probability of the default network; the 1000-neuron network's
// expected excitatory and inhibitory in-degrees, which set the weights.
constexpr double p_conn = 0.1;
constexpr double k_ref_e = 80.0, k_ref_i = 20.0;
constexpr double gmax_ref = 0.6;   // nS per synapse at k_ref_e inputs
constexpr double J_inh_ref = 2.0;  // mV per spike at k_ref_i inputs

inline std::int64_t excitatory_count(std::int64_t n) { return n * 4 / 5; }

// splitmix64's finaliser over the four keys: 64 well-mixed bits.
std::uint64_t counter_bits(std::uint64_t seed, std::uint64_t purpose, std::uint64_t neuron, std::uint64_t step);
// A double in [0, 1) from counter_bits.
double counter_uniform(std::uint64_t seed, std::uint64_t purpose, std::uint64_t neuron, std::uint64_t step);

enum purpose : std::uint64_t { purpose_connect = 1, purpose_v0 = 2, purpose_background = 3 };

// Background kicks of neuron j at step s: Poisson with mean lambda (inverse CDF).
int background_kicks(std::uint64_t seed, std::int64_t neuron, std::int64_t step, double lambda);

// The network's size and weights (the same on every rank).
struct shape {
  std::int64_t n = 0, n_exc = 0, n_inh = 0;
  std::int64_t k_e = 0, k_i = 0;  // fixed in-degrees; 0 and 0: every pair with probability p_conn
  double gmax = 0.0;              // nS per NMDA synapse
  double J_inh = 0.0;             // mV per inhibitory spike
  double synapses = 0.0;          // NMDA synapses (expected, for the memory check)
  double inh_synapses = 0.0;
};

// Checks the sizes (throws std::invalid_argument naming the option).
shape make_shape(std::int64_t neurons, std::int64_t in_degree);

// The inputs of a set of neurons (rows in the order of `neurons`): NMDA
// synapses as post-major CSR with global excitatory sources, and inhibitory
// sources (global inhibitory indices i in [0, n_inh), neuron n_exc + i).
struct rows {
  bionmda::csr_connectivity nmda;
  std::vector<std::int64_t> inh_offsets;  // size(neurons) + 1
  std::vector<std::int32_t> inh_source;
};
rows make_rows(const shape& s, std::uint64_t seed, const std::vector<std::int64_t>& neurons);

}  // namespace network_example
