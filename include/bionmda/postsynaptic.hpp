#pragma once
/**
 * @file postsynaptic.hpp
 * @brief From synapses to postsynaptic neurons: summed conductance and the
 *        Mg-blocked NMDA current.
 *
 * Per-presynaptic mode (BrainPy's align-pre way): a population holds one
 * BioNMDA unit per presynaptic neuron, and every synapse of that neuron sees
 * its g. Connectivity is post-major CSR; each step
 *
 *     g_post[b][j] = sum over synapses k of post neuron j of gmax[k] * g[b][source[k]]
 *     I[b][j]      = g_post[b][j] * (E - V[b][j]) / (1 + (cc_Mg/beta) * exp(alpha * (V_offset - V[b][j])))
 *
 * Per-synapse mode (postsynaptic_map::per_synapse): one BioNMDA unit per
 * synapse (heterogeneous parameters), synapses sorted by postsynaptic neuron;
 * each step updates the synapses and forms g_post[b][j] = sum gmax[k] * g[b][k]
 * in the same kernel, g going from the update straight into the reduction.
 *
 * Sums run in a fixed order (no atomics): results are deterministic run to run.
 * Units: gmax and g_post in the caller's conductance unit (e.g. nS), V and E in
 * mV, cc_Mg and beta in mM, alpha in 1/mV; I in conductance unit times mV
 * (nS * mV = pA). Positive I depolarises.
 */
#include <cstdint>
#include <memory>
#include <vector>

#include "bionmda/mg_block.hpp"
#include "bionmda/population.hpp"
#include "bionmda/span.hpp"
#include "bionmda/stream.hpp"
#include "bionmda/window.hpp"

namespace bionmda {

/**
 * @brief The Mg-blocked current for conductance g at voltage V (scalar, float64).
 * @return g * (E - V) / (1 + (cc_Mg / beta) * exp(alpha * (V_offset - V)))
 */
[[nodiscard]] double mg_block_current(double g, double V, const mg_block& mg = {});

/** @brief Post-major CSR connectivity, host memory. */
struct csr_connectivity {
  std::int64_t n_post = 0;                ///< postsynaptic neurons
  std::vector<std::int64_t> row_offsets;  ///< n_post + 1 entries, non-decreasing, from 0 to nnz
  std::vector<std::int32_t> source;       ///< nnz presynaptic unit indices, each in [0, N)
  std::vector<double> gmax;               ///< nnz weights [conductance unit], finite
};

/**
 * @brief Per-post aggregation for one population (per-presynaptic mode).
 *
 * Holds the connectivity in the population's memory space and precision.
 * Move-only. compute() reads the population's current g.
 */
class postsynaptic_map {
 public:
  /**
   * @throw bionmda::invalid_argument for malformed connectivity (naming the
   *        field and index) or invalid Mg-block parameters
   */
  postsynaptic_map(const population& pop, csr_connectivity conn, mg_block mg = {});
  ~postsynaptic_map();

  /**
   * @brief Per-synapse mode over pop, whose units are the synapses of conn in
   *        CSR order (pop.units() == number of synapses). conn.source[k] is the
   *        presynaptic neuron of synapse k, in [0, n_pre); this sets pop's
   *        presynaptic sources to conn.source.
   * @throw bionmda::invalid_argument for malformed connectivity or sizes
   */
  static postsynaptic_map per_synapse(population& pop, csr_connectivity conn, std::int64_t n_pre,
                                      mg_block mg = {});
  postsynaptic_map(postsynaptic_map&&) noexcept;
  postsynaptic_map& operator=(postsynaptic_map&&) noexcept;
  postsynaptic_map(const postsynaptic_map&) = delete;
  postsynaptic_map& operator=(const postsynaptic_map&) = delete;

  /** @brief Postsynaptic neurons. */
  [[nodiscard]] std::int64_t n_post() const noexcept;
  /** @brief Synapses (CSR non-zeros). */
  [[nodiscard]] std::int64_t synapses() const noexcept;
  /** @brief True for a map made by per_synapse(). */
  [[nodiscard]] bool is_per_synapse() const noexcept { return per_synapse_; }

  /**
   * @brief Per-synapse mode, CUDA backend: advances pop by one step with the
   *        presynaptic spike mask [B][n_pre] (device memory) and forms g_post
   *        (and I where V is non-empty) in the same kernel. Only enqueues.
   */
  template <class Real>
  void step_async(population& pop, device_span<const std::uint8_t> pre_spikes, device_span<Real> g_post,
                  device_span<const Real> V, device_span<Real> I, cudaStream_t stream = nullptr) const;
  /** @brief Per-synapse mode, CPU backend: as step_async, host memory; done on return. */
  template <class Real>
  void step(population& pop, host_span<const std::uint8_t> pre_spikes, host_span<Real> g_post,
            host_span<const Real> V = {}, host_span<Real> I = {}) const;

  /**
   * @brief CUDA backend: g_post (and, when V is non-empty, I) for every batch
   *        entry, [B][n_post], in device memory. Only enqueues on stream.
   * @param V     membrane potentials [B][n_post] [mV], or empty for no current
   * @param I     output current [B][n_post], or empty when V is empty
   * @tparam Real the population's precision (float or double)
   */
  template <class Real>
  void compute_async(population& pop, device_span<Real> g_post, device_span<const Real> V,
                     device_span<Real> I, cudaStream_t stream = nullptr) const;
  /** @brief CPU backend: as compute_async, in host memory; done on return. */
  template <class Real>
  void compute(population& pop, host_span<Real> g_post, host_span<const Real> V = {},
               host_span<Real> I = {}) const;

  /**
   * @brief A window of K steps with g_post after every step, [K][B][n_post]
   *        (CUDA backend, device memory; only enqueues).
   *
   * Per-presynaptic mode: advances pop by `steps` steps with any window input
   * and sums each step's g, reading the connectivity once per window; the
   * same bits as `steps` calls of pop.step() and compute(). Per-synapse mode:
   * a presynaptic_window or presynaptic_bit_window, the same bits as `steps`
   * calls of step(). The Mg-blocked current needs V at every step, which the
   * neuron integrator has inside the window: apply bionmda::mg_current
   * (mg_block.hpp) there. A per-presynaptic map keeps a scratch buffer of
   * K*B*N values that grows to the largest window (the first window of a
   * size allocates it): a map is not safe to use from several threads at once.
   * @throw bionmda::invalid_argument for any input or size mismatch (before anything runs)
   */
  template <class Real>
  void step_window_async(population& pop, std::int64_t steps, const window_input& input, device_span<Real> g_post,
                         cudaStream_t stream = nullptr) const;
  /** @brief As step_window_async, CPU backend, host memory; done on return. */
  template <class Real>
  void step_window(population& pop, std::int64_t steps, const window_input& input, host_span<Real> g_post) const;

 private:
  postsynaptic_map();
  void upload(const population& pop, const csr_connectivity& conn);
  template <class Real>
  [[nodiscard]] detail::post_args<Real> args() const;
  template <class Real, class Span, class ConstSpan>
  detail::post_outputs<Real> outputs(const population& pop, Span g_post, ConstSpan V, Span I,
                                     std::int64_t steps = 1) const;
  template <class Real>
  Real* window_history(const population& pop, std::int64_t steps) const;

  std::int64_t units_ = 0;
  std::int64_t batch_ = 0;
  std::int64_t n_post_ = 0;
  std::int64_t nnz_ = 0;
  std::int64_t n_pre_ = 0;
  bool per_synapse_ = false;
  bionmda::backend backend_ = backend::cpu;
  bionmda::precision precision_ = precision::float32;
  mg_block mg_;
  // Connectivity in the population's memory; gmax in its precision.
  buffer<std::int64_t> row_offsets_;
  buffer<std::int32_t> source_;
  buffer<float> gmax_f32_;
  buffer<double> gmax_f64_;
  // Per-presynaptic windows: g of every unit after each step, [K][B*N].
  mutable buffer<float> history_f32_;
  mutable buffer<double> history_f64_;
};

}  // namespace bionmda
