// The one-process spike exchange and the checks every exchange applies.
#include "bionmda/network/exchange.hpp"

#include <chrono>
#include <string>

#include "bionmda/error.hpp"

namespace bionmda {
namespace detail {

void check_local_spikes(host_span<const spike_word> local, std::int64_t window_steps, const partition& owners,
                        int rank) {
  for (std::int64_t i = 0; i < local.size; ++i) {
    const spike_word w = local.data[i];
    const std::int64_t step = spike_step(w), neuron = spike_neuron(w);
    const std::string where = "spike_exchange::start: spike " + std::to_string(i) + " (step " +
                              std::to_string(step) + ", neuron " + std::to_string(neuron) + ")";
    if (step >= window_steps) {
      throw invalid_argument(where + ": step outside the window of " + std::to_string(window_steps) + " steps");
    }
    if (neuron >= owners.neurons()) {
      throw invalid_argument(where + ": neuron outside the network's " + std::to_string(owners.neurons()));
    }
    if (owners.owner(neuron) != rank) {
      throw invalid_argument(where + ": neuron owned by rank " + std::to_string(owners.owner(neuron)) +
                             ", not by this rank " + std::to_string(rank));
    }
    if (i > 0 && local.data[i - 1] >= w) {
      throw invalid_argument(where + ": spikes must be sorted by step, then neuron, each once");
    }
  }
}

}  // namespace detail

local_exchange::local_exchange(std::int64_t neurons, std::int64_t window_steps)
    : owners_(partition::block(neurons, 1)), window_steps_(window_steps) {
  if (window_steps < 1 || window_steps >= max_spike_window_steps) {
    throw invalid_argument("local_exchange: window_steps = " + std::to_string(window_steps) +
                           ", must lie in [1, 2^24)");
  }
}

void local_exchange::start(host_span<const spike_word> local) {
  const auto t0 = std::chrono::steady_clock::now();
  if (in_flight_) throw error("local_exchange::start: the previous exchange was not finished");
  detail::check_local_spikes(local, window_steps_, owners_, 0);
  pending_.assign(local.data, local.data + local.size);
  in_flight_ = true;
  stats_.spikes_sent += local.size;
  stats_.start_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void local_exchange::finish(std::vector<spike_word>& out) {
  if (!in_flight_) throw error("local_exchange::finish: no exchange in flight (start() first)");
  out.swap(pending_);
  pending_.clear();
  in_flight_ = false;
  ++stats_.windows;
  stats_.spikes_received += static_cast<std::int64_t>(out.size());
}

}  // namespace bionmda
