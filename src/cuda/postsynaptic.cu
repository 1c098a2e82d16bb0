// CUDA per-post sum: one warp per (batch, postsynaptic neuron) row. Lanes take
// the row's synapses in a fixed stride and a fixed shuffle tree combines them,
// so results are deterministic (no atomics). The Mg-blocked current is formed
// in the same pass.
#include <cuda_runtime.h>

#include <vector>

#include "bionmda/detail/error_macros.hpp"
#include "cuda_check.hpp"
#include "device_buffer.hpp"
#include "device_scope.hpp"
#include "launch.cuh"
#include "post_engine.hpp"

namespace bionmda::detail {
namespace {

constexpr int post_block_size = 256;

template <class Real>
__global__ void __launch_bounds__(post_block_size)
    post_sum_kernel(post_args<Real> a, const Real* __restrict__ g, Real* __restrict__ g_post,
                    const Real* __restrict__ V, Real* __restrict__ I) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * (blockDim.x / 32);
  const std::int64_t rows = a.n_post * a.batch;
  for (std::int64_t r = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; r < rows;
       r += warps) {
    const std::int64_t b = r / a.n_post;
    const std::int64_t j = r - b * a.n_post;
    const Real* gb = g + b * a.units;
    Real acc = 0;
    for (std::int64_t k = a.row_offsets[j] + lane; k < a.row_offsets[j + 1]; k += 32) {
      acc += a.gmax[k] * gb[a.source[k]];
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) acc += __shfl_down_sync(0xffffffffu, acc, offset);
    if (lane == 0) {
      g_post[r] = acc;
      if (V != nullptr) I[r] = mg_current(acc, V[r], a.mg);
    }
  }
}

template <class Element>
device_buffer<Element> upload(const std::vector<Element>& host, const char* what) {
  device_buffer<Element> d(static_cast<std::int64_t>(host.size()), what);
  if (!host.empty()) BIONMDA_CUDA_TRY(cudaMemcpy(d.data(), host.data(), d.bytes(), cudaMemcpyHostToDevice));
  return d;
}

template <class Real>
class cuda_post_engine final : public post_engine {
 public:
  cuda_post_engine(const csr_connectivity& c, const mg_block& mg, std::int64_t units, std::int64_t batch, int device)
      : device_(device) {
    device_scope scope(device);
    cudaDeviceProp prop{};
    BIONMDA_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    multiprocessors_ = prop.multiProcessorCount;
    offsets_ = upload(c.row_offsets, "CSR row offsets");
    source_ = upload(c.source, "CSR sources");
    gmax_ = upload(std::vector<Real>(c.gmax.begin(), c.gmax.end()), "CSR gmax");
    args_ = post_args<Real>{offsets_.data(), source_.data(), gmax_.data(), c.n_post, units, batch,
                            make_mg_coeffs<Real>(mg)};
  }

  void compute(const void* g, void* g_post, const void* V, void* I, cudaStream_t stream) const override {
    device_scope scope(device_);
    const std::int64_t threads = args_.n_post * args_.batch * 32;
    launch_1d<post_sum_kernel<Real>, post_block_size>(threads, multiprocessors_, stream, args_,
                                                      static_cast<const Real*>(g), static_cast<Real*>(g_post),
                                                      static_cast<const Real*>(V), static_cast<Real*>(I));
  }
  const void* args() const override { return &args_; }

 private:
  int device_;
  int multiprocessors_ = 1;
  device_buffer<std::int64_t> offsets_;
  device_buffer<std::int32_t> source_;
  device_buffer<Real> gmax_;
  post_args<Real> args_{};
};

}  // namespace

std::unique_ptr<post_engine> make_cuda_post_engine(const csr_connectivity& c, const mg_block& mg, precision p,
                                                   std::int64_t units, std::int64_t batch, int device) {
  if (p == precision::float32) return std::make_unique<cuda_post_engine<float>>(c, mg, units, batch, device);
  return std::make_unique<cuda_post_engine<double>>(c, mg, units, batch, device);
}

}  // namespace bionmda::detail
