// The duplicated communicator, node-local ranks, and the collective checks.
#include "bionmda/mpi/communicator.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "bionmda/backend.hpp"
#include "mpi_check.hpp"

namespace bionmda::mpi {

communicator::communicator(MPI_Comm comm) {
  int initialized = 0, finalized = 0;
  BIONMDA_MPI_TRY(MPI_Initialized(&initialized));
  BIONMDA_MPI_TRY(MPI_Finalized(&finalized));
  if (!initialized || finalized) {
    throw error("bionmda::mpi::communicator: MPI is not initialised (call MPI_Init first) or already finalised");
  }
  if (comm == MPI_COMM_NULL) throw invalid_argument("bionmda::mpi::communicator: MPI_COMM_NULL");
  BIONMDA_MPI_TRY(MPI_Comm_dup(comm, &comm_));
  try {
    BIONMDA_MPI_TRY(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    BIONMDA_MPI_TRY(MPI_Comm_rank(comm_, &rank_));
    BIONMDA_MPI_TRY(MPI_Comm_size(comm_, &size_));
    MPI_Comm node = MPI_COMM_NULL;
    BIONMDA_MPI_TRY(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
    const int r1 = MPI_Comm_rank(node, &node_rank_);
    const int r2 = MPI_Comm_size(node, &node_size_);
    MPI_Comm_free(&node);
    BIONMDA_MPI_TRY(r1);
    BIONMDA_MPI_TRY(r2);
  } catch (...) {
    MPI_Comm_free(&comm_);
    throw;
  }
}

communicator::~communicator() {
  int finalized = 1;
  if (comm_ != MPI_COMM_NULL && MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) MPI_Comm_free(&comm_);
}

communicator::communicator(communicator&& o) noexcept
    : comm_(std::exchange(o.comm_, MPI_COMM_NULL)), rank_(o.rank_), size_(o.size_), node_rank_(o.node_rank_),
      node_size_(o.node_size_) {}

communicator& communicator::operator=(communicator&& o) noexcept {
  std::swap(comm_, o.comm_);
  std::swap(rank_, o.rank_);
  std::swap(size_, o.size_);
  std::swap(node_rank_, o.node_rank_);
  std::swap(node_size_, o.node_size_);
  return *this;
}

namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

void communicator::check_same(const char* what, std::int64_t value) const {
  std::vector<std::int64_t> all(static_cast<std::size_t>(size_));
  BIONMDA_MPI_TRY(MPI_Allgather(&value, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, comm_));
  for (int r = 1; r < size_; ++r) {
    if (all[static_cast<std::size_t>(r)] != all[0]) {
      throw invalid_argument(std::string("bionmda::mpi: the ranks disagree on ") + what + ": rank 0 has " +
                             std::to_string(all[0]) + ", rank " + std::to_string(r) + " has " +
                             std::to_string(all[static_cast<std::size_t>(r)]));
    }
  }
}

void communicator::check_same_digest(const char* what, std::uint64_t value) const {
  std::vector<std::uint64_t> all(static_cast<std::size_t>(size_));
  BIONMDA_MPI_TRY(MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_));
  for (int r = 1; r < size_; ++r) {
    if (all[static_cast<std::size_t>(r)] != all[0]) {
      throw invalid_argument(std::string("bionmda::mpi: the ranks disagree on ") + what + ": rank 0 has " +
                             hex(all[0]) + ", rank " + std::to_string(r) + " has " +
                             hex(all[static_cast<std::size_t>(r)]));
    }
  }
}

void communicator::agree(const std::exception_ptr& e) const {
  const int mine = e ? rank_ : size_;
  int first = size_;
  BIONMDA_MPI_TRY(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm_));
  if (first == size_) return;
  // The first failing rank tells the others what went wrong.
  int kind = 0;  // 0 error, 1 invalid_argument
  std::string message;
  if (rank_ == first) {
    try {
      std::rethrow_exception(e);
    } catch (const invalid_argument& x) {
      kind = 1;
      message = x.what();
    } catch (const std::exception& x) {
      message = x.what();
    } catch (...) {
      message = "an unknown exception";
    }
  }
  int head[2] = {kind, static_cast<int>(message.size())};
  BIONMDA_MPI_TRY(MPI_Bcast(head, 2, MPI_INT, first, comm_));
  message.resize(static_cast<std::size_t>(head[1]));
  if (head[1] > 0) BIONMDA_MPI_TRY(MPI_Bcast(message.data(), head[1], MPI_CHAR, first, comm_));
  if (rank_ == first) std::rethrow_exception(e);
  const std::string text = "rank " + std::to_string(first) + ": " + message;
  if (head[0] == 1) throw invalid_argument(text);
  throw error(text);
}

int device_for_rank(const communicator& comm) {
  const auto devices = static_cast<int>(cuda_devices().size());
  return devices == 0 ? -1 : comm.node_rank() % devices;
}

partition gather_partition(const communicator& comm, std::int64_t neurons, const std::vector<std::int64_t>& local) {
  comm.check_same("the number of neurons", neurons);
  const auto n = static_cast<std::int64_t>(local.size());
  std::vector<std::int64_t> counts(static_cast<std::size_t>(comm.size()));
  BIONMDA_MPI_TRY(MPI_Allgather(&n, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, comm.get()));
  std::vector<std::vector<std::int64_t>> lists(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    const std::int64_t c = counts[static_cast<std::size_t>(r)];
    if (c > neurons) {
      throw invalid_argument("bionmda::mpi::gather_partition: rank " + std::to_string(r) + " lists " +
                             std::to_string(c) + " neurons, more than the network's " + std::to_string(neurons));
    }
    lists[static_cast<std::size_t>(r)] = r == comm.rank() ? local : std::vector<std::int64_t>(static_cast<std::size_t>(c));
  }
  // One broadcast per rank (any list length; no int overflow of a v-collective).
  for (int r = 0; r < comm.size(); ++r) {
    auto& l = lists[static_cast<std::size_t>(r)];
    for (std::size_t at = 0; at < l.size();) {
      const auto chunk = static_cast<int>(std::min<std::size_t>(l.size() - at, 1u << 26));
      BIONMDA_MPI_TRY(MPI_Bcast(l.data() + at, chunk, MPI_INT64_T, r, comm.get()));
      at += static_cast<std::size_t>(chunk);
    }
  }
  return partition::from_lists(neurons, lists);  // the same lists on every rank: the same outcome
}

}  // namespace bionmda::mpi
