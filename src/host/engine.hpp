#pragma once
// The interface between population (validation, bookkeeping) and a backend's
// storage and step. Arguments reaching an engine are already validated.
#include <cstdint>
#include <memory>

#include "bionmda/backend.hpp"
#include "bionmda/state_view.hpp"
#include "bionmda/stream.hpp"
#include "model_setup.hpp"

namespace bionmda::detail {

enum class field { g, x };

/// What spikes one step receives.
struct step_request {
  enum class kind { none, dense, presynaptic, poisson };
  kind input = kind::none;
  const std::uint8_t* mask = nullptr;  ///< dense [B][N] or presynaptic [B][N_pre]
  memory_space space = memory_space::host;
  std::uint64_t poisson_key = 0;
  std::uint64_t poisson_threshold = 0;
  bool poisson_always = false;
  /// Per-synapse mode: post_args<Real>* of a postsynaptic_map; the step then
  /// also forms g_post (and I where V is given) per postsynaptic row, fused.
  const void* post = nullptr;
  void* g_post = nullptr;
  const void* V = nullptr;
  void* I = nullptr;
};

class engine {
 public:
  virtual ~engine() = default;
  /// One fused step.
  virtual void step(const step_request& request, cudaStream_t stream) = 0;
  /// Copies field elements [offset, offset+count) to out as float64; blocking.
  virtual void read(field f, std::int64_t offset, std::int64_t count, double* out,
                    cudaStream_t stream) const = 0;
  virtual void read_countdown(std::uint16_t* out, cudaStream_t stream) const = 0;
  virtual void write_countdown(const std::uint16_t* in, cudaStream_t stream) = 0;
  /// The N presynaptic sources (only when set).
  virtual void read_sources(std::int32_t* out, cudaStream_t stream) const = 0;
  /// Writes field elements [offset, offset+count) from values; blocking.
  virtual void write(field f, std::int64_t offset, std::int64_t count, const double* values,
                     cudaStream_t stream) = 0;
  /// Sets every element of a field to value.
  virtual void fill(field f, double value, cudaStream_t stream) = 0;
  /// Ends every pulse.
  virtual void clear_countdown(cudaStream_t stream) = 0;
  /// Stores N presynaptic indices (validated) and the presynaptic size.
  virtual void set_sources(const std::int32_t* sources, std::int64_t n_pre,
                           cudaStream_t stream) = 0;
  virtual void synchronize(cudaStream_t stream) const = 0;
  /// Raw state pointers (Real* as void*), for zero-copy views.
  [[nodiscard]] virtual void* g_data() = 0;
  [[nodiscard]] virtual void* x_data() = 0;
  [[nodiscard]] virtual std::uint16_t* countdown_data() = 0;
};

/// Sizes shared by every engine, and optional caller-owned state buffers
/// (g and x of the engine's Real, the countdown), used instead of allocating.
struct engine_shape {
  std::int64_t units = 0;
  std::int64_t batch = 1;
  void* external_g = nullptr;
  void* external_x = nullptr;
  std::uint16_t* external_countdown = nullptr;
};

std::unique_ptr<engine> make_cpu_engine(const prepared_model& model, engine_shape shape,
                                        precision p);

/// Throws backend_unavailable when CUDA is not compiled in.
std::unique_ptr<engine> make_cuda_engine(const prepared_model& model, engine_shape shape,
                                         precision p, int device, bool host_staging);

}  // namespace bionmda::detail
