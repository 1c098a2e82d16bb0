// Neuron-to-rank assignments: block, round robin, or the caller's lists.
#include "bionmda/network/partition.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
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

std::int64_t partition::block_start(std::int64_t r) const noexcept {
  // r * n / R without forming r * n (up to 2^71): with n = q R + m,
  // r n / R = r q + (r m) / R exactly, and r m < R^2 < 2^62.
  const std::int64_t q = neurons_ / ranks_, m = neurons_ % ranks_;
  return r * q + (r * m) / ranks_;
}

int partition::owner(std::int64_t neuron) const {
  if (neuron < 0 || neuron >= neurons_) {
    throw invalid_argument("partition::owner: neuron " + std::to_string(neuron) + " outside [0, " +
                           std::to_string(neurons_) + ")");
  }
  switch (layout_) {
    case layout::block: {
      // The largest r with block_start(r) <= neuron. Blocks hold q or q + 1
      // neurons (q = n / R), which brackets r; then a binary search.
      const std::int64_t q = neurons_ / ranks_;
      std::int64_t lo = neuron / (q + 1), hi = q > 0 ? std::min<std::int64_t>(ranks_ - 1, neuron / q) : ranks_ - 1;
      while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo + 1) / 2;
        if (block_start(mid) <= neuron) lo = mid;
        else hi = mid - 1;
      }
      return static_cast<int>(lo);
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
      const std::int64_t lo = block_start(rank);
      const std::int64_t hi = block_start(static_cast<std::int64_t>(rank) + 1);
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
