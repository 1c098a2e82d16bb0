#pragma once
/**
 * @file network/projection.hpp
 * @brief One rank's share of a projection: the synapses onto the
 *        postsynaptic neurons it owns, stepped a window at a time from the
 *        spikes that reach them.
 *
 * The rows are post-major CSR over this rank's neurons (row i: local neuron
 * i), each synapse naming its presynaptic neuron by its global index. The
 * projection keeps units only for what its rows use:
 *
 * - per-presynaptic mode (BrainPy's align-pre way): one BioNMDA unit per
 *   distinct presynaptic neuron of the rows (sources(), ascending), shared by
 *   that neuron's synapses here;
 * - per-synapse mode: one unit per synapse, in row order.
 *
 * g_post of row i sums gmax * g over the row in row order, with the library's
 * postsynaptic_map: the same bits as the single-process map over the whole
 * network, whichever rank holds the row (the tests check it).
 *
 * On the CUDA backend the window's spikes are staged through pinned host
 * memory into device memory, and g_post comes back the same way; all buffers
 * are sized at construction for the largest window, so a window allocates
 * nothing. Units: gmax and g_post in the caller's conductance unit (nS),
 * times in ms.
 */
#include <cstdint>
#include <memory>
#include <vector>

#include "bionmda/network/spikes.hpp"
#include "bionmda/population.hpp"
#include "bionmda/postsynaptic.hpp"
#include "bionmda/span.hpp"

namespace bionmda {

/** @brief How a projection's synapses map to BioNMDA units. */
enum class synapse_mode {
  per_presynaptic,  ///< one unit per presynaptic neuron, shared by its synapses on this rank
  per_synapse,      ///< one unit per synapse
};

/** @brief "per-presynaptic" or "per-synapse". */
[[nodiscard]] const char* to_string(synapse_mode m) noexcept;

/** @brief Everything a projection needs besides its rows. */
struct projection_config {
  /** The units' dt [ms], precision, backend, device and parameters; units and batch are set by the projection (batch 1). */
  population_config synapses;
  synapse_mode mode = synapse_mode::per_presynaptic;  ///< how synapses map to units
  std::int64_t max_window_steps = 1;                  ///< the longest window step_window will get, >= 1
};

/** @brief The synapses onto one rank's neurons. Move-only. */
class projection {
 public:
  /**
   * @param rows    post-major CSR over this rank's neurons: sources are global
   *                presynaptic indices in [0, n_pre), gmax finite
   * @param n_pre   presynaptic neurons of the whole network, in [0, 2^31)
   * @throw bionmda::invalid_argument for malformed rows or sizes, naming the field
   * @throw bionmda::out_of_memory when the units, the map or the staging buffers do not fit
   */
  projection(csr_connectivity rows, std::int64_t n_pre, projection_config config);
  ~projection();
  projection(projection&&) noexcept;
  projection& operator=(projection&&) noexcept;
  projection(const projection&) = delete;
  projection& operator=(const projection&) = delete;

  /** @brief The distinct global presynaptic neurons of the rows, ascending: the spikes this rank needs. */
  [[nodiscard]] const std::vector<std::int64_t>& sources() const noexcept { return sources_; }
  /** @brief Postsynaptic neurons here (rows). */
  [[nodiscard]] std::int64_t n_post() const noexcept;
  /** @brief Synapses here. */
  [[nodiscard]] std::int64_t synapses() const noexcept;
  /** @brief The mode. */
  [[nodiscard]] synapse_mode mode() const noexcept { return mode_; }
  /** @brief The BioNMDA units (per-presynaptic: sources().size(); per-synapse: synapses()). */
  [[nodiscard]] population& units() noexcept { return *pop_; }
  [[nodiscard]] const population& units() const noexcept { return *pop_; }
  /** @brief The longest window step_window takes. */
  [[nodiscard]] std::int64_t max_window_steps() const noexcept { return max_steps_; }

  /**
   * @brief Advances the units by `steps` steps; step k receives the spikes in
   *        `arriving` whose step is k (words sorted ascending; spikes of
   *        neurons that are not sources() here, e.g. inhibitory neurons or
   *        neurons >= n_pre, are ignored). Writes g_post after every
   *        step, [steps][n_post()], into the first steps * n_post() values
   *        of g_post (host memory; it may hold more, e.g. a buffer sized for
   *        max_window_steps() given a short last window). Waits for the result.
   * @tparam Real the units' precision
   * @throw bionmda::invalid_argument before anything runs: steps outside
   *        [1, max_window_steps()], an unsorted word list or a step >= steps,
   *        g_post too small, the wrong Real
   */
  template <class Real>
  void step_window(std::int64_t steps, host_span<const spike_word> arriving, host_span<Real> g_post);

 private:
  struct staging;
  synapse_mode mode_ = synapse_mode::per_presynaptic;
  std::int64_t n_pre_ = 0;
  std::int64_t max_steps_ = 1;
  std::vector<std::int64_t> sources_;
  std::unique_ptr<population> pop_;
  std::unique_ptr<postsynaptic_map> map_;
  std::unique_ptr<staging> staging_;
};

}  // namespace bionmda
