#pragma once
/**
 * @file window.hpp
 * @brief The spikes of a window of K steps, given up front, and what a window
 *        can record at each of its steps.
 *
 * In a network a spike needs at least one minimum delay d to reach its
 * synapses, so the spikes of the next K = d / dt steps are known before those
 * steps start. population::step_window advances K steps in one pass over the
 * state (one kernel launch on the GPU; one pass over cache-sized tiles on the
 * CPU), and gives the same bits as K calls of population::step with the same
 * spikes:
 *
 *     pop.step_window(K, bionmda::dense_window(host_span<const std::uint8_t>(m)));  // [K][B][N]
 *     pop.step_window_async(K, bionmda::bit_window(device_span<const std::uint32_t>(w)), stream);
 *     pop.step_window(K, bionmda::poisson{20.0, seed});                              // step k keyed by step_count() + k
 *     pop.step_window(K, bionmda::events_window(host_span<const std::int64_t>(offsets),   // K + 1
 *                                               host_span<const std::int64_t>(elements)));
 *
 * Sizes: N units, B batch entries, N_pre presynaptic neurons
 * (set_presynaptic_sources); W = ceil(N / 32) and W_pre = ceil(N_pre / 32)
 * words per bit-mask row. Element e = b * N + i. Bit masks: element i of a row
 * is bit (i % 32) of word (i / 32), least significant bit first; the bits past
 * N in a row's last word are ignored.
 */
#include <cstdint>
#include <variant>

#include "bionmda/spike_input.hpp"

namespace bionmda {

/**
 * @brief One byte per element and step, [K][B][N] (non-zero = spike).
 * @tparam Space where the bytes live
 */
template <memory_space Space>
struct dense_window {
  span_in<Space, std::uint8_t> spikes;  ///< K*B*N bytes; step k, element e at k*B*N + e
  explicit dense_window(span_in<Space, std::uint8_t> s) : spikes(s) {}
};
dense_window(host_span<const std::uint8_t>) -> dense_window<memory_space::host>;
dense_window(host_span<std::uint8_t>) -> dense_window<memory_space::host>;
dense_window(device_span<const std::uint8_t>) -> dense_window<memory_space::device>;
dense_window(device_span<std::uint8_t>) -> dense_window<memory_space::device>;

/**
 * @brief One bit per element and step, [K][B][W] 32-bit words, W = ceil(N / 32):
 *        1/8 byte per unit-step.
 * @tparam Space where the words live
 */
template <memory_space Space>
struct bit_window {
  span_in<Space, std::uint32_t> words;  ///< K*B*W words; step k, batch b, unit i: bit i%32 of word (k*B + b)*W + i/32
  explicit bit_window(span_in<Space, std::uint32_t> w) : words(w) {}
};
bit_window(host_span<const std::uint32_t>) -> bit_window<memory_space::host>;
bit_window(host_span<std::uint32_t>) -> bit_window<memory_space::host>;
bit_window(device_span<const std::uint32_t>) -> bit_window<memory_space::device>;
bit_window(device_span<std::uint32_t>) -> bit_window<memory_space::device>;

/**
 * @brief One byte per presynaptic neuron, batch entry and step, [K][B][N_pre],
 *        gathered through the presynaptic sources.
 * @tparam Space where the bytes live
 */
template <memory_space Space>
struct presynaptic_window {
  span_in<Space, std::uint8_t> spikes;  ///< K*B*N_pre bytes
  explicit presynaptic_window(span_in<Space, std::uint8_t> s) : spikes(s) {}
};
presynaptic_window(host_span<const std::uint8_t>) -> presynaptic_window<memory_space::host>;
presynaptic_window(host_span<std::uint8_t>) -> presynaptic_window<memory_space::host>;
presynaptic_window(device_span<const std::uint8_t>) -> presynaptic_window<memory_space::device>;
presynaptic_window(device_span<std::uint8_t>) -> presynaptic_window<memory_space::device>;

/**
 * @brief One bit per presynaptic neuron, batch entry and step, [K][B][W_pre]
 *        words, gathered through the presynaptic sources.
 * @tparam Space where the words live
 */
template <memory_space Space>
struct presynaptic_bit_window {
  span_in<Space, std::uint32_t> words;  ///< K*B*W_pre words
  explicit presynaptic_bit_window(span_in<Space, std::uint32_t> w) : words(w) {}
};
presynaptic_bit_window(host_span<const std::uint32_t>) -> presynaptic_bit_window<memory_space::host>;
presynaptic_bit_window(host_span<std::uint32_t>) -> presynaptic_bit_window<memory_space::host>;
presynaptic_bit_window(device_span<const std::uint32_t>) -> presynaptic_bit_window<memory_space::device>;
presynaptic_bit_window(device_span<std::uint32_t>) -> presynaptic_bit_window<memory_space::device>;

/**
 * @brief Sparse spikes of K steps, as a simulator's spike queue holds them:
 *        the events of step k are elements[step_offsets[k] .. step_offsets[k+1]),
 *        element indices e = b * N + i in any order, duplicates allowed.
 *
 * Host memory: step_offsets must start at 0, never decrease and end at
 * elements.size, and every index must lie in [0, N*B); all checked before the
 * window. Device memory: a step whose offsets decrease or leave
 * [0, elements.size] has no events, and indices outside [0, N*B) are skipped.
 * @tparam Space where both arrays live
 */
template <memory_space Space>
struct events_window {
  span_in<Space, std::int64_t> step_offsets;  ///< K + 1 offsets into elements
  span_in<Space, std::int64_t> elements;      ///< the spiking elements, step after step
  events_window(span_in<Space, std::int64_t> offsets, span_in<Space, std::int64_t> e)
      : step_offsets(offsets), elements(e) {}
};
events_window(host_span<const std::int64_t>, host_span<const std::int64_t>) -> events_window<memory_space::host>;
events_window(host_span<std::int64_t>, host_span<std::int64_t>) -> events_window<memory_space::host>;
events_window(device_span<const std::int64_t>, device_span<const std::int64_t>)
    -> events_window<memory_space::device>;
events_window(device_span<std::int64_t>, device_span<std::int64_t>) -> events_window<memory_space::device>;

/**
 * @brief Any spike input of a window. no_spikes and poisson are the step's own
 *        types: Poisson step k of a window is keyed by step_count() + k, so a
 *        window draws exactly the spikes of K single steps.
 */
using window_input =
    std::variant<no_spikes, poisson, dense_window<memory_space::host>, dense_window<memory_space::device>,
                 bit_window<memory_space::host>, bit_window<memory_space::device>,
                 presynaptic_window<memory_space::host>, presynaptic_window<memory_space::device>,
                 presynaptic_bit_window<memory_space::host>, presynaptic_bit_window<memory_space::device>,
                 events_window<memory_space::host>, events_window<memory_space::device>>;

/**
 * @brief Where a window writes g and x of the recorded elements
 *        (population::set_recorded_elements) after each of its K steps:
 *        [K][n_rec] each, in the state's precision and memory space (device
 *        memory on the CUDA backend). Either may be empty (not written).
 * @tparam Real float or double, the population's precision
 */
template <class Real>
struct window_trace {
  memory_space space = memory_space::host;  ///< where g and x live
  Real* g = nullptr;                        ///< [K][n_rec] g after step k of the window, or null
  Real* x = nullptr;                        ///< [K][n_rec] x after step k of the window, or null
  std::int64_t g_size = 0;                  ///< elements at g (>= K * n_rec when g is given)
  std::int64_t x_size = 0;                  ///< elements at x
  window_trace() = default;
  window_trace(host_span<Real> g_out, host_span<Real> x_out)
      : space(memory_space::host), g(g_out.data), x(x_out.data), g_size(g_out.size), x_size(x_out.size) {}
  window_trace(device_span<Real> g_out, device_span<Real> x_out)
      : space(memory_space::device), g(g_out.data), x(x_out.data), g_size(g_out.size), x_size(x_out.size) {}
};

}  // namespace bionmda
