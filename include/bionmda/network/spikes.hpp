#pragma once
/**
 * @file network/spikes.hpp
 * @brief The spikes a network exchanges: one 64-bit word per spike.
 *
 * A word packs the step within its window (high 24 bits) and the global
 * neuron index (low 40 bits), so sorting words sorts spikes by step, then
 * neuron, and one word travels per spike between ranks (8 bytes).
 * Limits: steps per window < 2^24, neurons < 2^40.
 */
#include <cstdint>

namespace bionmda {

/** @brief One spike: (step within its window) << 40 | global neuron index. */
using spike_word = std::uint64_t;

/** @brief Bits of a spike_word that hold the neuron. */
inline constexpr int spike_neuron_bits = 40;
/** @brief Neurons a spike_word can name: [0, 2^40). */
inline constexpr std::int64_t max_spike_neurons = std::int64_t{1} << spike_neuron_bits;
/** @brief Steps a window of spike_words can span: [0, 2^24). */
inline constexpr std::int64_t max_spike_window_steps = std::int64_t{1} << (64 - spike_neuron_bits);

/** @brief The word of neuron's spike at step (within its window); both must be in range. */
[[nodiscard]] constexpr spike_word make_spike(std::int64_t step, std::int64_t neuron) noexcept {
  return (static_cast<std::uint64_t>(step) << spike_neuron_bits) | static_cast<std::uint64_t>(neuron);
}
/** @brief The step within the window. */
[[nodiscard]] constexpr std::int64_t spike_step(spike_word w) noexcept {
  return static_cast<std::int64_t>(w >> spike_neuron_bits);
}
/** @brief The global neuron index. */
[[nodiscard]] constexpr std::int64_t spike_neuron(spike_word w) noexcept {
  return static_cast<std::int64_t>(w & ((std::uint64_t{1} << spike_neuron_bits) - 1));
}

}  // namespace bionmda
