#pragma once
/**
 * @file population.hpp
 * @brief A batch of BioNMDA kinetic units ("synapses") and its fused step.
 *
 * Units: time in ms, rates in 1/ms, concentrations in mM. Semantics:
 * docs/model.md.
 */
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "bionmda/backend.hpp"
#include "bionmda/parameters.hpp"
#include "bionmda/span.hpp"
#include "bionmda/state_view.hpp"
#include "bionmda/stream.hpp"

namespace bionmda {

/** @brief Everything needed to build a population. */
struct population_config {
  std::int64_t units = 0;   ///< N, kinetic units per batch entry (>= 0)
  std::int64_t batch = 1;   ///< B, independent copies sharing parameters (>= 1)
  double dt = 0.1;          ///< time step [ms], finite and > 0
  bionmda::precision precision = precision::float32;  ///< type of g, x and parameters
  bionmda::backend backend = backend::automatic;      ///< where state lives and steps run
  parameters params;        ///< kinetic parameters (BrainPy's defaults)
  initial_value g0;         ///< initial g (default constant 0)
  initial_value x0;         ///< initial x (default constant 0)
  int device = 0;           ///< CUDA device ordinal (CUDA backend only)
  /**
   * CUDA backend only: reserve a device buffer at construction so that steps
   * taking host-memory spike masks can copy them without allocating (1 byte
   * per element). Set false to save memory; host-memory steps then throw.
   */
  bool host_input_staging = true;
};

/** @brief Internal engine interface (one per backend and precision). */
namespace detail {
class engine;
struct checkpoint_access;
}
class postsynaptic_map;

/**
 * @brief N units x B batch entries of BioNMDA kinetics.
 *
 * State g, x and the pulse countdown are structure-of-arrays buffers laid out
 * [batch][unit], in device memory (CUDA backend) or host memory (CPU backend).
 * Move-only. Every method that enqueues GPU work takes a stream as its last
 * parameter; on the CPU backend streams are ignored and all work is done when
 * the call returns. Methods named *_async only enqueue; the others wait for
 * the stream before returning.
 *
 * Thread safety: a population is not safe to use from several host threads
 * at once.
 */
class population {
 public:
  /**
   * @brief Builds and initialises a population.
   * @throw bionmda::invalid_argument for an invalid size, dt, parameter or
   *        initial value (the message names it and its value)
   * @throw bionmda::backend_unavailable for backend::cuda without a usable device
   * @throw bionmda::out_of_memory when the buffers cannot be allocated
   */
  explicit population(population_config config);
  /**
   * @brief Builds a population over state buffers the caller owns (no
   *        allocation, no copy): g, x and countdown of N*B elements each, in
   *        device memory for the CUDA backend (16-byte aligned) and host memory
   *        for the CPU backend, as external.space says. They are initialised
   *        from config.g0, config.x0 and an empty countdown, must outlive the
   *        population, and are never freed by it. config.backend must not be
   *        automatic.
   * @throw bionmda::invalid_argument for a size, precision, memory-space,
   *        alignment or null-pointer mismatch
   */
  population(population_config config, state_view<float> external);
  /** @brief As above, for float64 state. */
  population(population_config config, state_view<double> external);
  ~population();
  population(population&&) noexcept;
  population& operator=(population&&) noexcept;
  population(const population&) = delete;
  population& operator=(const population&) = delete;

  /** @brief N. */
  [[nodiscard]] std::int64_t units() const noexcept;
  /** @brief B. */
  [[nodiscard]] std::int64_t batch() const noexcept;
  /** @brief N * B. */
  [[nodiscard]] std::int64_t elements() const noexcept;
  /** @brief Time step [ms]. */
  [[nodiscard]] double dt() const noexcept;
  /** @brief Steps taken since construction or the last reset(). */
  [[nodiscard]] std::int64_t step_count() const noexcept;
  /** @brief step_count() * dt() [ms]. */
  [[nodiscard]] double time() const noexcept;
  /** @brief The backend in use (never backend::automatic). */
  [[nodiscard]] bionmda::backend backend() const noexcept;
  /** @brief float32 or float64. */
  [[nodiscard]] bionmda::precision precision() const noexcept;
  /** @brief The configuration this population was built from. */
  [[nodiscard]] const population_config& config() const noexcept;
  /**
   * @brief Pulse length in steps of unit i: the number of k >= 0 with
   *        k*dt < T_dur (a ratio within 1e-9 of an integer counts as it).
   */
  [[nodiscard]] std::int64_t pulse_steps(std::int64_t unit = 0) const;

  /**
   * @brief Sets the presynaptic source of every unit, for step_presynaptic*.
   *
   * Checked once, here: every index must lie in [0, n_pre).
   * @param sources  N indices into the presynaptic population (host memory)
   * @param n_pre    size of the presynaptic population (>= 1 unless N == 0)
   * @throw bionmda::invalid_argument naming the first bad index
   */
  void set_presynaptic_sources(host_span<const std::int32_t> sources, std::int64_t n_pre,
                               cudaStream_t stream = nullptr);
  /** @brief Presynaptic population size set by set_presynaptic_sources (0 if unset). */
  [[nodiscard]] std::int64_t presynaptic_size() const noexcept;

  /// @name Stepping. Each advances every unit by one step (one kernel launch on the GPU).
  /// @{
  /** @brief No spikes arrive this step. Waits for the stream. */
  void step(cudaStream_t stream = nullptr);
  /** @brief No spikes arrive this step. Only enqueues. */
  void step_async(cudaStream_t stream = nullptr);

  /**
   * @brief Dense spike mask, one byte per element [B][N] (non-zero = spike), in host memory.
   *
   * On the CUDA backend the mask is copied to a staging buffer reserved at
   * construction; the call waits for the stream.
   * @throw bionmda::invalid_argument if spikes.size != N*B
   */
  void step(host_span<const std::uint8_t> spikes, cudaStream_t stream = nullptr);
  /** @brief Dense spike mask [B][N] in device memory. Waits for the stream. */
  void step(device_span<const std::uint8_t> spikes, cudaStream_t stream = nullptr);
  /** @brief Dense spike mask [B][N] in device memory. Only enqueues. */
  void step_async(device_span<const std::uint8_t> spikes, cudaStream_t stream = nullptr);

  /**
   * @brief Presynaptic spike mask [B][N_pre], gathered through the sources set
   *        by set_presynaptic_sources, in host memory. Waits for the stream.
   */
  void step_presynaptic(host_span<const std::uint8_t> pre_spikes, cudaStream_t stream = nullptr);
  /** @brief Presynaptic spike mask [B][N_pre] in device memory. Waits for the stream. */
  void step_presynaptic(device_span<const std::uint8_t> pre_spikes, cudaStream_t stream = nullptr);
  /** @brief Presynaptic spike mask [B][N_pre] in device memory. Only enqueues. */
  void step_presynaptic_async(device_span<const std::uint8_t> pre_spikes,
                              cudaStream_t stream = nullptr);

  /**
   * @brief Independent Poisson input generated inside the step: each element
   *        spikes with probability rate_hz * dt / 1000, drawn from a counter-based
   *        generator keyed by (seed, step_count(), element), so CPU and GPU
   *        produce the same spikes. Waits for the stream.
   * @param rate_hz firing rate [Hz], finite and >= 0
   */
  void step_poisson(double rate_hz, std::uint64_t seed, cudaStream_t stream = nullptr);
  /** @brief As step_poisson, only enqueues. */
  void step_poisson_async(double rate_hz, std::uint64_t seed, cudaStream_t stream = nullptr);
  /// @}

  /// @name State access. Element e = b * N + i.
  /// @{
  /** @brief g as float64 [B][N], copied to the host. Waits for the stream. */
  [[nodiscard]] std::vector<double> g(cudaStream_t stream = nullptr) const;
  /** @brief x as float64 [B][N], copied to the host. Waits for the stream. */
  [[nodiscard]] std::vector<double> x(cudaStream_t stream = nullptr) const;
  /** @brief Pulse steps left per element [B][N], copied to the host. Waits for the stream. */
  [[nodiscard]] std::vector<std::uint16_t> countdown(cudaStream_t stream = nullptr) const;
  /**
   * @brief Overwrites g: N*B values, or N values applied to every batch entry;
   *        each finite and in [0, 1]. Waits for the stream.
   */
  void set_g(host_span<const double> values, cudaStream_t stream = nullptr);
  /** @brief Overwrites x, as set_g. */
  void set_x(host_span<const double> values, cudaStream_t stream = nullptr);
  /**
   * @brief Back to the configured initial g and x, no pulse, step 0. Waits for the stream.
   */
  void reset(cudaStream_t stream = nullptr);
  /** @brief Waits until all work enqueued on stream has finished (no-op on the CPU backend). */
  void synchronize(cudaStream_t stream = nullptr) const;

  /**
   * @brief Zero-copy view of the float32 state (device memory on the CUDA backend).
   * @throw bionmda::invalid_argument if the precision is not float32
   */
  [[nodiscard]] state_view<float> view_f32();
  /** @brief Zero-copy view of the float64 state; throws unless precision is float64. */
  [[nodiscard]] state_view<double> view_f64();
  /// @}

 private:
  friend class postsynaptic_map;
  friend struct detail::checkpoint_access;
  void build(void* g, void* x, std::uint16_t* countdown, memory_space space, bionmda::precision p);
  // Per-synapse mode (postsynaptic_map): one step with the per-post sums fused in.
  void step_fused_post_(const std::uint8_t* pre_mask, memory_space space, const void* post, void* g_post,
                        const void* V, void* I, cudaStream_t stream);
  void check_alive() const;
  population_config config_;
  std::int64_t steps_ = 0;
  std::int64_t n_pre_ = 0;
  bionmda::backend backend_ = backend::cpu;
  std::unique_ptr<detail::engine> engine_;
};

static_assert(std::is_nothrow_move_constructible_v<population>);
static_assert(std::is_nothrow_move_assignable_v<population>);

}  // namespace bionmda
