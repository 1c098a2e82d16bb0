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
#include "bionmda/buffer.hpp"
#include "bionmda/detail/post_args.hpp"
#include "bionmda/parameters.hpp"
#include "bionmda/span.hpp"
#include "bionmda/spike_input.hpp"
#include "bionmda/state_view.hpp"
#include "bionmda/stream.hpp"
#include "bionmda/window.hpp"

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
  /**
   * CPU backend only: threads per step (0 = OpenMP's default). Steps smaller
   * than about 2^16 elements always run on the calling thread: there the
   * fork/join costs more than it saves, and on a loaded machine a step would
   * wait for a descheduled thread.
   */
  int threads = 0;
};

/** @brief A per-element field of the state. */
enum class state_field { g, x };

/**
 * @brief Tag for a population over external buffers that takes their current
 *        contents as its state (population(config, external, adopt_state)).
 */
struct adopt_state_t {
  explicit adopt_state_t() = default;
};
/** @brief The adopt_state_t tag. */
inline constexpr adopt_state_t adopt_state{};

/** @brief Internal engine interface (one per backend and precision). */
namespace detail {
class engine;
template <class Real>
class typed_engine;
}

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
  /**
   * @brief As population(config, external), but the buffers' current contents
   *        are the state: nothing is written, copied or synchronised, and no
   *        device memory is allocated unless the configuration needs it
   *        (per-unit parameter tables, host_input_staging). Meant for state
   *        owned by another framework (e.g. XLA's buffers in an FFI call),
   *        together with bind_state(). g0 and x0 are what reset() restores.
   * @note The contents are not checked: g and x must be finite and in [0, 1],
   *       countdowns at most the pulse length, as after any step.
   * @throw bionmda::invalid_argument as population(config, external)
   */
  population(population_config config, state_view<float> external, adopt_state_t);
  /** @brief As above, for float64 state. */
  population(population_config config, state_view<double> external, adopt_state_t);
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
   * @brief Sets the presynaptic source of every unit, for presynaptic_mask input.
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
  /** @brief The N presynaptic sources (empty if unset), copied to the host. Waits. */
  [[nodiscard]] std::vector<std::int32_t> presynaptic_sources(cudaStream_t stream = nullptr) const;
  /**
   * @brief Sets the step counter (it keys the Poisson draws), e.g. when
   *        continuing a run from saved state. Any count in [0, INT64_MAX] is
   *        accepted; a step at INT64_MAX is refused.
   * @throw bionmda::invalid_argument for a negative count
   */
  void set_step_count(std::int64_t steps);
  /** @brief Where the state lives: device memory on the CUDA backend, else host. */
  [[nodiscard]] memory_space space() const noexcept;
  /**
   * @brief A buffer of count elements where this population's state lives
   *        (its device, for the CUDA backend), e.g. for spike masks and
   *        per-post outputs; no raw cudaMalloc needed.
   */
  template <class Element>
  [[nodiscard]] buffer<Element> make_buffer(std::int64_t count, const char* what = "buffer") const {
    return buffer<Element>(count, space(), config_.device, what);
  }

  /// @name Stepping. Each advances every unit by one step.
  /// @{
  /**
   * @brief One step with the given spike input (spike_input.hpp). Waits for the stream.
   *
   * Everything about the input is checked before any state changes: its size
   * (N*B for dense masks, N_pre*B for presynaptic masks), null pointers, its
   * memory space against the backend, the Poisson rate (finite, >= 0 Hz) and
   * host event indices (each in [0, N*B)). A host-memory input on the CUDA
   * backend is copied through a device buffer (population_config::host_input_staging).
   * @throw bionmda::invalid_argument naming what is wrong, or when step_count()
   *        is already INT64_MAX (the counter would wrap)
   */
  void step(const spike_input& input, cudaStream_t stream = nullptr);
  /** @brief As step(input, stream), but only enqueues (device-memory or generated input). */
  void step_async(const spike_input& input, cudaStream_t stream = nullptr);
  /** @brief No spikes arrive this step. Waits for the stream. */
  void step(cudaStream_t stream = nullptr) { step(no_spikes{}, stream); }
  /** @brief No spikes arrive this step. Only enqueues. */
  void step_async(cudaStream_t stream = nullptr) { step_async(no_spikes{}, stream); }
  /// @}

  /// @name Windows: K steps in one pass over the state (window.hpp).
  /// @{
  /**
   * @brief Advances `steps` steps with the spikes of all of them given up
   *        front (one kernel launch on the GPU, one pass over cache-sized
   *        tiles on the CPU). The same bits as `steps` calls of step() with
   *        the same spikes. Waits for the stream.
   *
   * Everything is checked before any state changes: steps >= 0 (0 does
   * nothing), the input's sizes (K*B*N bytes, K*B*W words, K*B*N_pre bytes,
   * K*B*W_pre words, K+1 offsets), null pointers, memory spaces, host event
   * offsets and indices, the Poisson rate, and that the step counter can
   * take `steps` more steps. A host-memory input on the CUDA backend is
   * copied through a device buffer that grows to the largest window seen
   * (population_config::host_input_staging); device-memory inputs never allocate.
   * @throw bionmda::invalid_argument naming what is wrong
   */
  void step_window(std::int64_t steps, const window_input& input, cudaStream_t stream = nullptr);
  /** @brief As step_window, but only enqueues (device-memory or generated input). */
  void step_window_async(std::int64_t steps, const window_input& input, cudaStream_t stream = nullptr);
  /**
   * @brief As step_window, also writing g and x of the recorded elements
   *        (set_recorded_elements) after each step into trace, [K][n_rec]
   *        each, in the state's precision (Real) and memory space. Waits.
   * @throw bionmda::invalid_argument also for a trace of the wrong precision,
   *        memory space or size, or a null pointer
   */
  template <class Real>
  void step_window(std::int64_t steps, const window_input& input, const window_trace<Real>& trace,
                   cudaStream_t stream = nullptr);
  /** @brief As above, but only enqueues. */
  template <class Real>
  void step_window_async(std::int64_t steps, const window_input& input, const window_trace<Real>& trace,
                         cudaStream_t stream = nullptr);
  /**
   * @brief The elements whose g and x a window_trace receives, in this order
   *        (each e = b * N + i in [0, N*B), repeats allowed; empty: none).
   *        Replaces the previous set. Waits.
   * @throw bionmda::invalid_argument naming the first index out of range
   */
  void set_recorded_elements(host_span<const std::int64_t> elements, cudaStream_t stream = nullptr);
  /** @brief n_rec, the number of elements set by set_recorded_elements. */
  [[nodiscard]] std::int64_t recorded_count() const noexcept;
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
   * @brief Elements [offset, offset + out.size) of g or x in the state's own
   *        precision (Real must match it), copied to host memory. Waits.
   * @throw bionmda::invalid_argument for a precision, range or null-pointer mismatch
   */
  template <class Real>
  void read(state_field field, std::int64_t offset, host_span<Real> out, cudaStream_t stream = nullptr) const;
  /**
   * @brief Overwrites elements [offset, offset + in.size) of g or x from host
   *        memory in the state's own precision; every value must be finite
   *        and in [0, 1] (checked before anything is written). Waits.
   */
  template <class Real>
  void write(state_field field, std::int64_t offset, host_span<const Real> in, cudaStream_t stream = nullptr);
  /** @brief Pulse countdowns of elements [offset, offset + out.size). Waits. */
  void read_countdown(std::int64_t offset, host_span<std::uint16_t> out, cudaStream_t stream = nullptr) const;
  /**
   * @brief Overwrites pulse countdowns of elements [offset, offset + in.size);
   *        each at most the pulse length of its unit (checked first). Waits.
   */
  void write_countdown(std::int64_t offset, host_span<const std::uint16_t> in, cudaStream_t stream = nullptr);
  /**
   * @brief g and x of selected elements (e = b * N + i, each in [0, N*B)) as
   *        float64, gathered where the state lives (on the GPU for the CUDA
   *        backend) so only they cross to the host. Waits.
   * @param g, x outputs of elements.size values each
   * @throw bionmda::invalid_argument for an index out of range, a negative
   *        size, a size mismatch or a null pointer (nothing is written)
   */
  void gather(host_span<const std::int64_t> elements, host_span<double> g, host_span<double> x,
              cudaStream_t stream = nullptr) const;
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
  /**
   * @brief Re-points a population built over external buffers at other
   *        caller-owned buffers, whose contents become the state: no
   *        initialisation, no copy, no allocation, no synchronisation. The
   *        step counter, parameters, presynaptic sources and recorded
   *        elements are kept. The previous buffers are no longer used (and
   *        never freed). Lets one population, with its coefficient tables
   *        built once, step state that moves between calls, e.g. XLA's
   *        buffers in an FFI handler. Work already enqueued on a stream keeps
   *        the old pointers.
   *
   * The same checks as population(config, external): N and B as configured,
   * Real the population's precision, the backend's memory space, non-null
   * pointers (unless N*B == 0), 16-byte alignment in device memory.
   * @throw bionmda::invalid_argument for a mismatch, or for a population that
   *        owns its buffers (built without external state)
   */
  template <class Real>
  void bind_state(state_view<Real> external);
  /// @}

  /// @name Per-post sums, the backend side of postsynaptic_map (use that class).
  /// @{
  /**
   * @brief Per-synapse mode: one step with a presynaptic mask, forming the
   *        per-post sums of the map in the same pass. Only enqueues (a
   *        host-memory mask on the CUDA backend waits). Arguments are
   *        checked by postsynaptic_map.
   */
  template <class Real>
  void step_with_post(const spike_input& pre, const detail::post_args<Real>& map,
                      const detail::post_outputs<Real>& out, cudaStream_t stream);
  /**
   * @brief A window with the per-post sums of every step into g_post
   *        [K][B][n_post]: per-synapse mode (a presynaptic window input), or
   *        per-presynaptic mode with history (window_history_values(K) values) as scratch. Only enqueues (a host-memory input on the
   *        CUDA backend waits). The map's arguments are checked by postsynaptic_map.
   */
  template <class Real>
  void window_with_post(std::int64_t steps, const window_input& input, const detail::post_args<Real>& map,
                        Real* g_post, bool per_synapse, Real* history, cudaStream_t stream);
  /**
   * @brief Values (of the population's precision) of the scratch that
   *        window_with_post needs in per-presynaptic mode for `steps` steps:
   *        at least steps*B*N (the g history; the CUDA backend may add an
   *        element-major copy). -1 when that overflows 64 bits.
   */
  [[nodiscard]] std::int64_t window_history_values(std::int64_t steps) const;
  /** @brief Per-presynaptic mode: the per-post sums of the current g. Only enqueues. */
  template <class Real>
  void sum_post(const detail::post_args<Real>& map, const detail::post_outputs<Real>& out,
                cudaStream_t stream) const;
  /// @}

 private:
  template <class Real>
  void build(const state_view<Real>* external, bool adopt);
  template <class Real>
  void check_external(const state_view<Real>& external) const;
  void check_alive() const;
  void check_input(const spike_input& input) const;
  void check_can_count_a_step() const;
  void check_window(std::int64_t steps, const window_input& input) const;
  template <class Real>
  void window_async(std::int64_t steps, const window_input& input, const window_trace<Real>& trace,
                    cudaStream_t stream);
  template <class Real>
  detail::typed_engine<Real>& typed() const;
  population_config config_;
  std::int64_t steps_ = 0;
  std::int64_t n_pre_ = 0;
  std::int64_t n_rec_ = 0;
  bionmda::backend backend_ = backend::cpu;
  bool external_ = false;  ///< state in caller-owned buffers (bind_state allowed)
  std::unique_ptr<detail::engine> engine_;
};

static_assert(std::is_nothrow_move_constructible_v<population>);
static_assert(std::is_nothrow_move_assignable_v<population>);

}  // namespace bionmda
