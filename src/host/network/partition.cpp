// Neuron-to-rank assignments: block, round robin, or the caller's lists.
#include "bionmda/network/partition.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <string>

#include "bionmda/error.hpp"
#include "bionmda/network/spikes.hpp"

namespace bionmda {
namespace {

void check_sizes(std::int64_t neurons, int ranks) {
  if (ranks < 1) throw invalid_argument("partition: ranks = " + std::to_string(ranks) + ", must be >= 1");
  if (neurons < 0 || neurons >= max_spike_neurons) {
    throw invalid_argument("partition: neurons = " + std::to_string(neurons) + ", must lie in [0, 2^40)");
  }
}

}  // namespace

partition partition::block(std::int64_t neurons, int ranks) {
  check_sizes(neurons, ranks);
  return partition(neurons, ranks, layout::block);
}

partition partition::round_robin(std::int64_t neurons, int ranks) {
  check_sizes(neurons, ranks);
  return partition(neurons, ranks, layout::round_robin);
}

partition partition::from_lists(std::int64_t neurons, const std::vector<std::vector<std::int64_t>>& lists) {
  check_sizes(neurons, static_cast<int>(lists.size()));
  if (lists.size() > static_cast<std::size_t>(INT32_MAX)) throw invalid_argument("partition: too many ranks");
  partition p(neurons, static_cast<int>(lists.size()), layout::lists);
  p.owner_.assign(static_cast<std::size_t>(neurons), -1);
  for (std::size_t r = 0; r < lists.size(); ++r) {
    for (const std::int64_t j : lists[r]) {
      if (j < 0 || j >= neurons) {
        throw invalid_argument("partition: rank " + std::to_string(r) + " lists neuron " + std::to_string(j) +
                               ", outside [0, " + std::to_string(neurons) + ")");
      }
      std::int32_t& o = p.owner_[static_cast<std::size_t>(j)];
      if (o >= 0) {
        throw invalid_argument("partition: neuron " + std::to_string(j) + " is owned twice: by rank " +
                               std::to_string(o) + (static_cast<std::size_t>(o) == r ? " twice" : " and rank " + std::to_string(r)));
      }
      o = static_cast<std::int32_t>(r);
    }
  }
  for (std::int64_t j = 0; j < neurons; ++j) {
    if (p.owner_[static_cast<std::size_t>(j)] < 0) {
      throw invalid_argument("partition: neuron " + std::to_string(j) + " is owned by no rank (" +
                             std::to_string(lists.size()) + " ranks)");
    }
  }
  return p;
}

int partition::owner(std::int64_t neuron) const {
  if (neuron < 0 || neuron >= neurons_) {
    throw invalid_argument("partition::owner: neuron " + std::to_string(neuron) + " outside [0, " +
                           std::to_string(neurons_) + ")");
  }
  switch (layout_) {
    case layout::block: {
      // The largest r with r*n/R <= neuron.
      auto r = static_cast<int>((neuron * ranks_ + ranks_ - 1) / (neurons_ > 0 ? neurons_ : 1));
      while (r > 0 && (static_cast<std::int64_t>(r) * neurons_) / ranks_ > neuron) --r;
      while (r + 1 < ranks_ && (static_cast<std::int64_t>(r + 1) * neurons_) / ranks_ <= neuron) ++r;
      return r;
    }
    case layout::round_robin: return static_cast<int>(neuron % ranks_);
    case layout::lists: return owner_[static_cast<std::size_t>(neuron)];
  }
  return 0;
}

std::vector<std::int64_t> partition::local(int rank) const {
  if (rank < 0 || rank >= ranks_) {
    throw invalid_argument("partition::local: rank " + std::to_string(rank) + " outside [0, " +
                           std::to_string(ranks_) + ")");
  }
  std::vector<std::int64_t> out;
  switch (layout_) {
    case layout::block: {
      const std::int64_t lo = static_cast<std::int64_t>(rank) * neurons_ / ranks_;
      const std::int64_t hi = static_cast<std::int64_t>(rank + 1) * neurons_ / ranks_;
      out.reserve(static_cast<std::size_t>(hi - lo));
      for (std::int64_t j = lo; j < hi; ++j) out.push_back(j);
      break;
    }
    case layout::round_robin:
      for (std::int64_t j = rank; j < neurons_; j += ranks_) out.push_back(j);
      break;
    case layout::lists:
      for (std::int64_t j = 0; j < neurons_; ++j) {
        if (owner_[static_cast<std::size_t>(j)] == rank) out.push_back(j);
      }
      break;
  }
  return out;
}

std::uint64_t partition::digest() const {
  XXH64_state_t* s = XXH64_createState();
  if (s == nullptr) throw error("partition::digest: no memory for the hash state");
  XXH64_reset(s, 0);
  const std::int64_t head[3] = {neurons_, ranks_, static_cast<std::int64_t>(layout_)};
  XXH64_update(s, head, sizeof head);
  if (!owner_.empty()) XXH64_update(s, owner_.data(), owner_.size() * sizeof(std::int32_t));
  const std::uint64_t d = XXH64_digest(s);
  XXH64_freeState(s);
  return d;
}

const char* partition::kind() const noexcept {
  switch (layout_) {
    case layout::block: return "block";
    case layout::round_robin: return "round-robin";
    case layout::lists: return "lists";
  }
  return "block";
}

}  // namespace bionmda
