// The MPI spike exchanges: all-gather, and sparse point to point. Counts move
// first (blocking, one word per rank pair), then the spike words in a
// non-blocking collective that finish() waits for.
#include "bionmda/mpi/exchange.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <string>

#include "mpi_check.hpp"

namespace bionmda::mpi {
namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check_setup(const communicator& comm, const partition& owners, std::int64_t window_steps, const char* who) {
  comm.all_or_none([&] {
    if (owners.ranks() != comm.size()) {
      throw invalid_argument(std::string("bionmda::mpi::") + who + ": the partition has " +
                             std::to_string(owners.ranks()) + " ranks, the communicator " + std::to_string(comm.size()));
    }
    if (window_steps < 1 || window_steps >= max_spike_window_steps) {
      throw invalid_argument(std::string("bionmda::mpi::") + who + ": window_steps = " + std::to_string(window_steps) +
                             ", must lie in [1, 2^24)");
    }
  });
  comm.check_same("the window length in steps", window_steps);
  comm.check_same("the number of neurons", owners.neurons());
  comm.check_same_digest("the partition of the neurons (digest)", owners.digest());
}

// The counts of a window, with -1 from a rank that refused its spikes: every
// rank learns of the refusal in the same collective and throws.
void refuse_if_any(const std::vector<std::int64_t>& counts, const std::exception_ptr& mine) {
  if (mine) std::rethrow_exception(mine);
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (counts[r] < 0) {
      throw invalid_argument("bionmda::mpi spike exchange: rank " + std::to_string(r) +
                             " refused its spikes of this window (its own error says why); nothing was exchanged");
    }
  }
}

// A non-blocking collective cannot be cancelled or freed (MPI 3.1, 5.12), and
// MPI writes into the receive buffer until it completes: an exchange
// destroyed with one in flight (e.g. while an exception unwinds) waits for it
// before its buffers go. Every rank started it, so it completes as the other
// ranks go on calling MPI; errors are dropped (a destructor never throws).
void wait_quietly(MPI_Request& request) noexcept {
  if (request == MPI_REQUEST_NULL) return;
  int finalized = 1;
  if (MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) (void)MPI_Wait(&request, MPI_STATUS_IGNORE);
  request = MPI_REQUEST_NULL;
}

// The most words one rank may send to one rank in a window (or a setup): with
// every pair below it, no rank receives more than R of them, so the total
// stays an MPI int count. Each rank checks its own sends before the count
// collective, so an excess is refused on every rank at once (no rank waits).
std::int64_t pair_limit(int ranks) { return INT_MAX / std::max(ranks, 1); }

// One MPI_Test of a transfer in flight (done: the request becomes MPI_REQUEST_NULL).
void test_request(MPI_Request& request) {
  if (request == MPI_REQUEST_NULL) return;
  int done = 0;
  BIONMDA_MPI_TRY(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
}

// Merges the sorted blocks of words (block r starts at starts[r]) into one
// sorted list: pairs of neighbouring blocks, then pairs of those, log2 R passes.
void merge_blocks(std::vector<spike_word>& words, const std::vector<int>& starts) {
  std::vector<std::size_t> bounds;
  bounds.reserve(starts.size() + 1);
  for (const int s : starts) bounds.push_back(static_cast<std::size_t>(s));
  bounds.push_back(words.size());
  while (bounds.size() > 2) {
    std::vector<std::size_t> next;
    next.reserve(bounds.size() / 2 + 2);
    std::size_t i = 0;
    for (; i + 2 < bounds.size(); i += 2) {
      std::inplace_merge(words.begin() + static_cast<std::ptrdiff_t>(bounds[i]),
                         words.begin() + static_cast<std::ptrdiff_t>(bounds[i + 1]),
                         words.begin() + static_cast<std::ptrdiff_t>(bounds[i + 2]));
      next.push_back(bounds[i]);
    }
    for (; i < bounds.size(); ++i) next.push_back(bounds[i]);
    bounds.swap(next);
  }
}

int as_count(std::int64_t n, const char* what) {
  if (n > INT_MAX) {
    throw error(std::string("bionmda::mpi spike exchange: ") + what + " of one window exceed 2^31 - 1 spikes");
  }
  return static_cast<int>(n);
}

}  // namespace

// --- all-gather ---------------------------------------------------------------

allgather_exchange::allgather_exchange(const communicator& comm, const partition& owners, std::int64_t window_steps)
    : comm_(&comm), owners_(&owners), window_steps_(window_steps) {
  check_setup(comm, owners, window_steps, "allgather_exchange");
  const auto R = static_cast<std::size_t>(comm.size());
  counts_.resize(R);
  displs_.resize(R);
  count_words_.resize(R);
}

allgather_exchange::~allgather_exchange() { wait_quietly(request_); }

void allgather_exchange::progress() { test_request(request_); }

void allgather_exchange::start(host_span<const spike_word> local) {
  const auto t0 = std::chrono::steady_clock::now();
  if (in_flight()) throw error("allgather_exchange::start: the previous exchange was not finished");
  std::exception_ptr bad;
  try {
    ::bionmda::detail::check_local_spikes(local, window_steps_, *owners_, comm_->rank());
    if (local.size > pair_limit(comm_->size())) {
      throw invalid_argument("allgather_exchange::start: " + std::to_string(local.size) +
                             " spikes in one window, more than an all-gather over " + std::to_string(comm_->size()) +
                             " ranks takes from one rank ((2^31 - 1) / ranks = " +
                             std::to_string(pair_limit(comm_->size())) + "); use shorter windows");
    }
  } catch (...) {
    bad = std::current_exception();
  }
  const std::int64_t mine = bad ? -1 : local.size;
  BIONMDA_MPI_TRY(MPI_Allgather(&mine, 1, MPI_INT64_T, count_words_.data(), 1, MPI_INT64_T, comm_->get()));
  refuse_if_any(count_words_, bad);
  std::int64_t total = 0;
  for (std::size_t r = 0; r < counts_.size(); ++r) {
    displs_[r] = as_count(total, "the spikes");
    counts_[r] = static_cast<int>(count_words_[r]);
    total += count_words_[r];
  }
  (void)as_count(total, "the spikes");
  send_.assign(local.data, local.data + local.size);
  recv_.resize(static_cast<std::size_t>(total));
  BIONMDA_MPI_TRY(MPI_Iallgatherv(send_.data(), static_cast<int>(local.size), MPI_UINT64_T, recv_.data(),
                                  counts_.data(), displs_.data(), MPI_UINT64_T, comm_->get(), &request_));
  started_ = true;
  const std::int64_t others = comm_->size() - 1;
  stats_.spikes_sent += local.size;
  stats_.spikes_received += total;
  stats_.bytes_sent += (local.size + 1) * 8 * others;
  stats_.bytes_received += (total - local.size) * 8 + 8 * others;
  stats_.start_seconds += since(t0);
}

void allgather_exchange::finish(std::vector<spike_word>& out) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!in_flight()) throw error("allgather_exchange::finish: no exchange in flight (start() first)");
  BIONMDA_MPI_TRY(MPI_Wait(&request_, MPI_STATUS_IGNORE));
  started_ = false;
  out.assign(recv_.begin(), recv_.end());
  merge_blocks(out, displs_);  // one sorted block per rank: one sorted list
  ++stats_.windows;
  stats_.finish_seconds += since(t0);
}

// --- point to point ------------------------------------------------------------

point_to_point_exchange::point_to_point_exchange(const communicator& comm, const partition& owners,
                                                 std::int64_t window_steps, const std::vector<std::int64_t>& needed)
    : comm_(&comm), owners_(&owners), window_steps_(window_steps) {
  check_setup(comm, owners, window_steps, "point_to_point_exchange");
  const int R = comm.size();
  const auto uR = static_cast<std::size_t>(R);
  std::vector<std::int64_t> want;
  comm.all_or_none([&] {
    want.assign(needed.begin(), needed.end());
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    if (!want.empty() && (want.front() < 0 || want.back() >= owners.neurons())) {
      throw invalid_argument("bionmda::mpi::point_to_point_exchange: needed neuron " +
                             std::to_string(want.front() < 0 ? want.front() : want.back()) + " outside [0, " +
                             std::to_string(owners.neurons()) + ")");
    }
    std::vector<std::int64_t> per_owner(static_cast<std::size_t>(R), 0);
    for (const std::int64_t j : want) ++per_owner[static_cast<std::size_t>(owners.owner(j))];
    for (int r = 0; r < R; ++r) {
      if (per_owner[static_cast<std::size_t>(r)] > pair_limit(R)) {
        throw invalid_argument("bionmda::mpi::point_to_point_exchange: this rank needs " +
                               std::to_string(per_owner[static_cast<std::size_t>(r)]) + " neurons of rank " +
                               std::to_string(r) + ", more than (2^31 - 1) / ranks = " + std::to_string(pair_limit(R)));
      }
    }
  });
  // Tell every owner which of its neurons this rank needs.
  std::vector<std::vector<std::int64_t>> by_owner(uR);
  for (const std::int64_t j : want) by_owner[static_cast<std::size_t>(owners.owner(j))].push_back(j);
  std::vector<int> sc(uR), sd(uR), rc(uR), rd(uR);
  std::vector<std::int64_t> flat;
  flat.reserve(want.size());
  for (std::size_t r = 0; r < uR; ++r) {
    sd[r] = static_cast<int>(flat.size());
    sc[r] = static_cast<int>(by_owner[r].size());
    flat.insert(flat.end(), by_owner[r].begin(), by_owner[r].end());
  }
  BIONMDA_MPI_TRY(MPI_Alltoall(sc.data(), 1, MPI_INT, rc.data(), 1, MPI_INT, comm.get()));
  std::int64_t total = 0;
  for (std::size_t r = 0; r < uR; ++r) {
    rd[r] = as_count(total, "the neurons needed from this rank");
    total += rc[r];
  }
  std::vector<std::int64_t> asked(static_cast<std::size_t>(total));
  BIONMDA_MPI_TRY(MPI_Alltoallv(flat.data(), sc.data(), sd.data(), MPI_INT64_T, asked.data(), rc.data(), rd.data(),
                                MPI_INT64_T, comm.get()));
  // Per local neuron, the ranks that need it (ascending), as CSR.
  local_ = owners.local(comm.rank());
  std::vector<std::int64_t> count(local_.size() + 1, 0);
  auto local_index = [&](std::int64_t j) {
    return static_cast<std::size_t>(std::lower_bound(local_.begin(), local_.end(), j) - local_.begin());
  };
  for (const std::int64_t j : asked) ++count[local_index(j) + 1];
  for (std::size_t i = 0; i < local_.size(); ++i) count[i + 1] += count[i];
  dest_offsets_ = count;
  dest_.resize(static_cast<std::size_t>(total));
  std::vector<std::int64_t> at(count.begin(), count.end() - 1);
  std::vector<char> sends_to(uR, 0);
  for (std::size_t r = 0; r < uR; ++r) {
    for (int q = 0; q < rc[r]; ++q) {
      const std::size_t i = local_index(asked[static_cast<std::size_t>(rd[r] + q)]);
      dest_[static_cast<std::size_t>(at[i]++)] = static_cast<int>(r);
      sends_to[r] = 1;
    }
  }
  for (std::size_t r = 0; r < uR; ++r) fan_out_ += (sends_to[r] && static_cast<int>(r) != comm.rank()) ? 1 : 0;
  send_counts_.resize(uR);
  send_displs_.resize(uR);
  recv_counts_.resize(uR);
  recv_displs_.resize(uR);
  count_words_.resize(uR);
  recv_count_words_.resize(uR);
  fill_.resize(uR);
}

point_to_point_exchange::~point_to_point_exchange() { wait_quietly(request_); }

void point_to_point_exchange::progress() { test_request(request_); }

void point_to_point_exchange::start(host_span<const spike_word> local) {
  const auto t0 = std::chrono::steady_clock::now();
  if (in_flight()) throw error("point_to_point_exchange::start: the previous exchange was not finished");
  const auto uR = static_cast<std::size_t>(comm_->size());
  std::exception_ptr bad;
  try {
    ::bionmda::detail::check_local_spikes(local, window_steps_, *owners_, comm_->rank());
    std::fill(count_words_.begin(), count_words_.end(), 0);
    for (std::int64_t s = 0; s < local.size; ++s) {
      const std::int64_t j = spike_neuron(local.data[s]);
      const auto i = static_cast<std::size_t>(std::lower_bound(local_.begin(), local_.end(), j) - local_.begin());
      for (std::int64_t q = dest_offsets_[i]; q < dest_offsets_[i + 1]; ++q) {
        ++count_words_[static_cast<std::size_t>(dest_[static_cast<std::size_t>(q)])];
      }
    }
    std::int64_t sent = 0;
    for (std::size_t r = 0; r < uR; ++r) {
      sent += count_words_[r];
      if (count_words_[r] > pair_limit(comm_->size()) || sent > INT_MAX) {
        throw invalid_argument("point_to_point_exchange::start: " + std::to_string(count_words_[r]) +
                               " spikes for rank " + std::to_string(r) + " in one window, more than (2^31 - 1) / ranks = " +
                               std::to_string(pair_limit(comm_->size())) + "; use shorter windows");
      }
    }
  } catch (...) {
    bad = std::current_exception();
  }
  if (bad) std::fill(count_words_.begin(), count_words_.end(), -1);
  BIONMDA_MPI_TRY(MPI_Alltoall(count_words_.data(), 1, MPI_INT64_T, recv_count_words_.data(), 1, MPI_INT64_T,
                               comm_->get()));
  refuse_if_any(recv_count_words_, bad);
  std::int64_t sent = 0, received = 0;
  for (std::size_t r = 0; r < uR; ++r) {
    send_displs_[r] = as_count(sent, "the spikes sent");
    send_counts_[r] = static_cast<int>(count_words_[r]);
    sent += count_words_[r];
    recv_displs_[r] = as_count(received, "the spikes received");
    recv_counts_[r] = static_cast<int>(recv_count_words_[r]);
    received += recv_count_words_[r];
  }
  (void)as_count(sent, "the spikes sent");
  (void)as_count(received, "the spikes received");
  send_.resize(static_cast<std::size_t>(sent));
  for (std::size_t r = 0; r < uR; ++r) fill_[r] = send_displs_[r];
  for (std::int64_t s = 0; s < local.size; ++s) {
    const std::int64_t j = spike_neuron(local.data[s]);
    const auto i = static_cast<std::size_t>(std::lower_bound(local_.begin(), local_.end(), j) - local_.begin());
    for (std::int64_t q = dest_offsets_[i]; q < dest_offsets_[i + 1]; ++q) {
      send_[static_cast<std::size_t>(fill_[static_cast<std::size_t>(dest_[static_cast<std::size_t>(q)])]++)] =
          local.data[s];
    }
  }
  recv_.resize(static_cast<std::size_t>(received));
  BIONMDA_MPI_TRY(MPI_Ialltoallv(send_.data(), send_counts_.data(), send_displs_.data(), MPI_UINT64_T, recv_.data(),
                                 recv_counts_.data(), recv_displs_.data(), MPI_UINT64_T, comm_->get(), &request_));
  started_ = true;
  const auto me = static_cast<std::size_t>(comm_->rank());
  const std::int64_t others = comm_->size() - 1;
  stats_.spikes_sent += sent;
  stats_.spikes_received += received;
  stats_.bytes_sent += (sent - count_words_[me]) * 8 + 8 * others;
  stats_.bytes_received += (received - recv_count_words_[me]) * 8 + 8 * others;
  stats_.start_seconds += since(t0);
}

void point_to_point_exchange::finish(std::vector<spike_word>& out) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!in_flight()) throw error("point_to_point_exchange::finish: no exchange in flight (start() first)");
  BIONMDA_MPI_TRY(MPI_Wait(&request_, MPI_STATUS_IGNORE));
  started_ = false;
  out.assign(recv_.begin(), recv_.end());
  merge_blocks(out, recv_displs_);
  ++stats_.windows;
  stats_.finish_seconds += since(t0);
}

}  // namespace bionmda::mpi
