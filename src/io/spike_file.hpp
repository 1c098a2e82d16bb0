#pragma once
// Spike input files for `bionmda simulate`:
//  - CSV with header `step,unit` (batch 0) or `step,batch,unit`, one row per spike;
//  - NumPy .npy, bool or uint8, shape [S, N] or [S, B, N] (S <= steps).
#include <cstdint>
#include <string>
#include <vector>

namespace bionmda::io {

/// Spikes per step, as element indices e = batch * N + unit, sorted by step.
struct spike_train {
  std::int64_t steps = 0;
  std::vector<std::vector<std::int64_t>> by_step;  ///< [steps] -> elements
  [[nodiscard]] std::int64_t count() const;
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
