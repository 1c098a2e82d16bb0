#pragma once
// The interface between population (validation, bookkeeping) and the state
// and kernels of one backend. It is implemented once, by engine_impl
// (engine_impl.hpp), over a backend policy: cpu_backend (src/host/cpu) and
// cuda_backend (src/cuda). Arguments reaching an engine are validated.
#include <cstdint>
#include <memory>

#include "bionmda/backend.hpp"
#include "bionmda/detail/post_args.hpp"
#include "bionmda/detail/window_args.hpp"
#include "bionmda/population.hpp"
#include "bionmda/spike_input.hpp"
#include "bionmda/state_view.hpp"
#include "bionmda/stream.hpp"
#include "bionmda/window.hpp"
#include "model_setup.hpp"

namespace bionmda::detail {

/// Precision-neutral part: stepping and float64 access.
class engine {
 public:
  virtual ~engine() = default;
  /// One step; step_index keys the Poisson draws.
  virtual void step(const spike_input& in, std::int64_t step_index, cudaStream_t stream) = 0;
  /// Field elements [offset, offset+count) as float64; blocking.
  virtual void read(state_field f, std::int64_t offset, std::int64_t count, double* out,
                    cudaStream_t stream) const = 0;
  /// Writes field elements [offset, offset+count) from float64 values; blocking.
  virtual void write(state_field f, std::int64_t offset, std::int64_t count, const double* in,
                     cudaStream_t stream) = 0;
  virtual void read_countdown(std::int64_t offset, std::int64_t count, std::uint16_t* out,
                              cudaStream_t stream) const = 0;
  virtual void write_countdown(std::int64_t offset, std::int64_t count, const std::uint16_t* in,
                               cudaStream_t stream) = 0;
  /// g and x of the given elements (host indices, validated), as float64; blocking.
  virtual void gather(const std::int64_t* elements, std::int64_t count, double* g, double* x,
                      cudaStream_t stream) const = 0;
  /// Sets every element of a field to value.
  virtual void fill(state_field f, double value, cudaStream_t stream) = 0;
  /// Sets element e of a field to uniform_initial(key, e, low, high).
  virtual void fill_uniform(state_field f, std::uint64_t key, double low, double high,
                            cudaStream_t stream) = 0;
  /// Ends every pulse.
  virtual void clear_countdown(cudaStream_t stream) = 0;
  /// Stores N presynaptic indices (validated) and the presynaptic size.
  virtual void set_sources(const std::int32_t* sources, std::int64_t n_pre, cudaStream_t stream) = 0;
  virtual void read_sources(std::int32_t* out, cudaStream_t stream) const = 0;
  virtual void synchronize(cudaStream_t stream) const = 0;
  /// Values of scratch a per-presynaptic window of `steps` steps needs (at
  /// least steps * N * B: the g history), or -1 when that overflows 64 bits.
  [[nodiscard]] virtual std::int64_t window_history_values(std::int64_t steps) const = 0;
};

/// The precision-typed part: raw state access and the per-post sums.
template <class Real>
class typed_engine : public engine {
 public:
  /// Field elements in the state's own precision; blocking.
  virtual void read_raw(state_field f, std::int64_t offset, std::int64_t count, Real* out,
                        cudaStream_t stream) const = 0;
  virtual void write_raw(state_field f, std::int64_t offset, std::int64_t count, const Real* in,
                         cudaStream_t stream) = 0;
  /// Per-synapse mode: one step with a presynaptic mask, and the per-post sums fused in.
  virtual void step_post(const spike_input& pre, std::int64_t step_index, const post_args<Real>& map,
                         const post_outputs<Real>& out, cudaStream_t stream) = 0;
  /// Per-presynaptic mode: the per-post sums of the current g.
  virtual void sum_post(const post_args<Real>& map, const post_outputs<Real>& out,
                        cudaStream_t stream) const = 0;
  /// A window of steps (validated, steps >= 1) from step first_step, writing
  /// the recorded elements' g and x after each step where trace asks.
  virtual void step_window(const window_input& in, std::int64_t steps, std::int64_t first_step,
                           const window_trace<Real>& trace, cudaStream_t stream) = 0;
  /// Per-synapse mode: a window with a presynaptic window input (validated),
  /// the per-post sums of every step into g_post [K][B][n_post].
  virtual void step_window_post(const window_input& pre, std::int64_t steps, std::int64_t first_step,
                                const post_args<Real>& map, Real* g_post, cudaStream_t stream) = 0;
  /// Per-presynaptic mode: a window, g of every element after each step into
  /// history [K][B*N], then the per-post sums of every step into g_post [K][B][n_post].
  virtual void step_window_sum_post(const window_input& in, std::int64_t steps, std::int64_t first_step,
                                    const post_args<Real>& map, Real* history, Real* g_post,
                                    cudaStream_t stream) = 0;
  /// Stores the elements windows record (host indices, validated), in the caller's order.
  virtual void set_recorded(const std::int64_t* elements, std::int64_t count, cudaStream_t stream) = 0;
  /// Zero-copy view of the state.
  [[nodiscard]] virtual state_view<Real> view() = 0;
  /// Re-points the state at caller-owned buffers (validated); no copy.
  virtual void bind(const state_view<Real>& external) = 0;
};

/// How an engine is built: sizes, options, and optional caller-owned state.
template <class Real>
struct engine_setup {
  std::int64_t units = 0;
  std::int64_t batch = 1;
  int threads = 0;               ///< CPU: threads per step (0 = OpenMP's default)
  int device = 0;                ///< CUDA device
  bool host_staging = true;      ///< CUDA: reserve a device buffer for host-memory masks
  const state_view<Real>* external = nullptr;  ///< caller-owned state, or null
};

template <class Real>
std::unique_ptr<typed_engine<Real>> make_cpu_engine(const prepared_model& model, const engine_setup<Real>& setup);

/// Throws backend_unavailable when CUDA is not compiled in.
template <class Real>
std::unique_ptr<typed_engine<Real>> make_cuda_engine(const prepared_model& model, const engine_setup<Real>& setup);

}  // namespace bionmda::detail
