// bionmda::buffer's allocation and copies: host memory here, device memory
// through the CUDA backend (cuda_entry.hpp).
#include "bionmda/buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "bionmda/detail/error_macros.hpp"
#include "bionmda/host_memory.hpp"
#include "cuda_entry.hpp"

namespace bionmda::detail {
namespace {
// Host requests of at least this many bytes are checked against the memory
// this process can get before they are made (smaller ones are not worth
// reading /proc for).
constexpr std::size_t large_host_allocation = std::size_t{64} << 20;
}  // namespace

void* allocate_bytes(std::size_t bytes, memory_space space, int device, const char* what) {
  if (bytes == 0) return nullptr;
  if (space == memory_space::device) return cuda_allocate(bytes, device, what);
  const std::size_t rounded = (bytes + 63) / 64 * 64;
  // A large request beyond what this process can get is refused here, by
  // name: with memory overcommit it could otherwise succeed and the process
  // be killed when the pages are touched (and sanitizers abort on sizes no
  // allocator can serve instead of returning null).
  if (rounded >= large_host_allocation) {
    const host_memory_budget budget = available_host_memory();
    if (budget.known && rounded > budget.bytes) {
      throw out_of_memory("bionmda: host allocation of " + std::to_string(rounded) + " bytes for " + what +
                              " exceeds the " + std::to_string(budget.bytes) + " bytes available to this process (" +
                              budget.limit + ")",
                          rounded, static_cast<std::size_t>(budget.bytes));
    }
  }
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) {
    throw out_of_memory("bionmda: host allocation of " + std::to_string(rounded) + " bytes for " + what + " failed",
                        rounded, 0);
  }
  return p;
}

void deallocate_bytes(void* p, memory_space space, int device) noexcept {
  if (space == memory_space::device) {
    cuda_free(p, device);
  } else {
    std::free(p);
  }
}

void copy_bytes(void* dst, memory_space dst_space, const void* src, memory_space src_space, std::size_t bytes,
                cudaStream_t stream) {
  if (bytes == 0) return;
  if (dst_space == memory_space::host && src_space == memory_space::host) {
    std::memcpy(dst, src, bytes);
    return;
  }
  cuda_copy(dst, dst_space, src, src_space, bytes, stream);
}

void throw_buffer_error(buffer_fault fault, std::int64_t a, std::int64_t b) {
  std::ostringstream m;
  m << "bionmda: ";
  switch (fault) {
    case buffer_fault::space:
      m << "the buffer is in " << (a == 0 ? "host" : "device") << " memory, not " << (b == 0 ? "host" : "device")
        << " memory";
      break;
    case buffer_fault::size:
      m << "a span of " << a << " elements given for a buffer of " << b;
      break;
    case buffer_fault::null:
      m << "a null span of " << a << " elements given for a buffer";
      break;
    case buffer_fault::count:
      m << "a buffer of " << a << " elements of " << b
        << " bytes cannot be allocated (negative, or more bytes than the address space)";
      break;
  }
  throw invalid_argument(m.str());
}

}  // namespace bionmda::detail
