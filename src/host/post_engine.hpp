#pragma once
// Backends of postsynaptic_map: CSR connectivity in the population's memory,
// and the per-post sum (plus the Mg-blocked current) over it.
#include <cstdint>
#include <memory>

#include "bionmda/backend.hpp"
#include "bionmda/detail/mg_block.hpp"
#include "bionmda/postsynaptic.hpp"
#include "bionmda/stream.hpp"

namespace bionmda::detail {

/// Everything the per-post kernels read, by value.
template <class Real>
struct post_args {
  const std::int64_t* __restrict__ row_offsets;  ///< [n_post + 1]
  const std::int32_t* __restrict__ source;       ///< [nnz]
  const Real* __restrict__ gmax;                 ///< [nnz]
  std::int64_t n_post;
  std::int64_t units;  ///< N of the population (row stride of g)
  std::int64_t batch;
  mg_coeffs<Real> mg;
};

class post_engine {
 public:
  virtual ~post_engine() = default;
  /// g: the population's state [B][N]; outputs [B][n_post]; V and I may be null.
  virtual void compute(const void* g, void* g_post, const void* V, void* I, cudaStream_t stream) const = 0;
  /// The post_args<Real> this engine holds (pointers in its memory space).
  [[nodiscard]] virtual const void* args() const = 0;
};

/// Mg-block coefficients in Real.
template <class Real>
mg_coeffs<Real> make_mg_coeffs(const mg_block& m) {
  return mg_coeffs<Real>{static_cast<Real>(m.E), static_cast<Real>(m.cc_Mg / m.beta),
                         static_cast<Real>(m.alpha), static_cast<Real>(m.V_offset)};
}

std::unique_ptr<post_engine> make_cpu_post_engine(const csr_connectivity& c, const mg_block& mg,
                                                  precision p, std::int64_t units, std::int64_t batch);
/// Throws backend_unavailable when CUDA is not compiled in.
std::unique_ptr<post_engine> make_cuda_post_engine(const csr_connectivity& c, const mg_block& mg,
                                                   precision p, std::int64_t units, std::int64_t batch,
                                                   int device);

}  // namespace bionmda::detail
