#pragma once
// Spike input files for `bionmda simulate`:
//  - CSV with header `step,unit` (batch 0) or `step,batch,unit`, one row per spike;
//  - NumPy .npy, bool or uint8, shape [S, N] or [S, B, N] (S <= steps).
#include <cstdint>
#include <string>
#include <vector>

#include "bionmda/span.hpp"

namespace bionmda::io {

/// The spikes of a file as one flat list sorted by step: 16 bytes per spike,
/// nothing per step (a run of 10^12 steps with a few spikes costs a few bytes).
struct spike_train {
  std::int64_t steps = 0;                  ///< steps of the run
  std::vector<std::int64_t> spike_step;    ///< step of each spike, non-decreasing
  std::vector<std::int64_t> spike_element; ///< its element e = batch * N + unit
  [[nodiscard]] std::int64_t count() const;
  /// The elements spiking at step s, contiguous (empty when none).
  [[nodiscard]] host_span<const std::int64_t> at(std::int64_t s) const;
};

/**
 * @brief Reads a spike file for a run of steps x batch x units; the format is
 *        chosen by the extension (.csv or .npy). Throws bionmda::error naming
 *        the file, line or field, and the bad value.
 */
spike_train read_spike_file(const std::string& path, std::int64_t steps, std::int64_t batch,
                            std::int64_t units);

struct npy_array;

/// Spikes from a parsed .npy array (bool or uint8, [S, N] or [S, B, N]).
spike_train spikes_from_npy(const npy_array& a, const std::string& name, std::int64_t steps, std::int64_t batch,
                            std::int64_t units);

/// Parses CSV text (name is used in messages).
spike_train parse_spike_csv(const std::string& text, const std::string& name, std::int64_t steps,
                            std::int64_t batch, std::int64_t units);

}  // namespace bionmda::io
