#pragma once
/**
 * @file spike_input.hpp
 * @brief What spikes one step receives: small trivially copyable types, the
 *        memory space of their data in the type.
 *
 * A step takes any of them through the variant spike_input:
 *
 *     pop.step(bionmda::no_spikes{});
 *     pop.step(bionmda::dense_mask(host_span<const std::uint8_t>(mask)));        // [B][N]
 *     pop.step_async(bionmda::presynaptic_mask(device_span<const std::uint8_t>(d, n)), stream);
 *     pop.step_async(bionmda::poisson{20.0, seed}, stream);                      // 20 Hz
 *     pop.step(bionmda::spike_events(host_span<const std::int64_t>(hits)));      // sparse
 *
 * Host-memory data on the CUDA backend is copied to a device buffer the
 * population owns (see population_config::host_input_staging); device-memory
 * data on the CPU backend is an error.
 */
#include <cstdint>
#include <type_traits>
#include <variant>

#include "bionmda/span.hpp"
#include "bionmda/state_view.hpp"

namespace bionmda {

/** @brief A span of const Element in the memory space Space. */
template <memory_space Space, class Element>
using span_in = std::conditional_t<Space == memory_space::host, host_span<const Element>,
                                   device_span<const Element>>;

/** @brief No spike arrives this step. */
struct no_spikes {};

/**
 * @brief One byte per element [B][N] (non-zero = the element receives a spike).
 * @tparam Space where the bytes live
 */
template <memory_space Space>
struct dense_mask {
  span_in<Space, std::uint8_t> spikes;  ///< N*B bytes, element e = b * N + i
  explicit dense_mask(span_in<Space, std::uint8_t> s) : spikes(s) {}
};
dense_mask(host_span<const std::uint8_t>) -> dense_mask<memory_space::host>;
dense_mask(host_span<std::uint8_t>) -> dense_mask<memory_space::host>;
dense_mask(device_span<const std::uint8_t>) -> dense_mask<memory_space::device>;
dense_mask(device_span<std::uint8_t>) -> dense_mask<memory_space::device>;

/**
 * @brief One byte per presynaptic neuron and batch entry [B][N_pre], gathered
 *        through the sources set by population::set_presynaptic_sources.
 * @tparam Space where the bytes live
 */
template <memory_space Space>
struct presynaptic_mask {
  span_in<Space, std::uint8_t> spikes;  ///< N_pre*B bytes, entry b * N_pre + p
  explicit presynaptic_mask(span_in<Space, std::uint8_t> s) : spikes(s) {}
};
presynaptic_mask(host_span<const std::uint8_t>) -> presynaptic_mask<memory_space::host>;
presynaptic_mask(host_span<std::uint8_t>) -> presynaptic_mask<memory_space::host>;
presynaptic_mask(device_span<const std::uint8_t>) -> presynaptic_mask<memory_space::device>;
presynaptic_mask(device_span<std::uint8_t>) -> presynaptic_mask<memory_space::device>;

/**
 * @brief Independent Poisson input generated inside the step.
 *
 * Element e spikes with probability p = rate_hz * dt / 1000, drawn from a
 * counter-based generator keyed by (seed, step_count(), e), so the CPU and
 * the GPU produce the same spikes: it spikes when its 64 random bits, as an
 * integer, are below p * 2^64. p >= 1, or within rounding of 1
 * (p >= 1 - 2^-51), spikes every step.
 */
struct poisson {
  double rate_hz = 0;       ///< firing rate [Hz], finite and >= 0
  std::uint64_t seed = 0;   ///< stream seed; the step counter is part of the key
};

/**
 * @brief Sparse spikes of one step: element indices e = b * N + i, in any
 *        order, duplicates allowed (a duplicate is one spike).
 *
 * Host-memory indices are checked (each in [0, N*B)) before the step;
 * device-memory indices outside that range are skipped by the kernel.
 * @tparam Space where the indices live
 */
template <memory_space Space>
struct spike_events {
  span_in<Space, std::int64_t> elements;  ///< indices of the elements that spike
  explicit spike_events(span_in<Space, std::int64_t> e) : elements(e) {}
};
spike_events(host_span<const std::int64_t>) -> spike_events<memory_space::host>;
spike_events(host_span<std::int64_t>) -> spike_events<memory_space::host>;
spike_events(device_span<const std::int64_t>) -> spike_events<memory_space::device>;
spike_events(device_span<std::int64_t>) -> spike_events<memory_space::device>;

/** @brief Any spike input of one step. */
using spike_input =
    std::variant<no_spikes, dense_mask<memory_space::host>, dense_mask<memory_space::device>,
                 presynaptic_mask<memory_space::host>, presynaptic_mask<memory_space::device>, poisson,
                 spike_events<memory_space::host>, spike_events<memory_space::device>>;

static_assert(std::is_trivially_copyable_v<dense_mask<memory_space::host>>);
static_assert(std::is_trivially_copyable_v<spike_events<memory_space::device>>);
static_assert(std::is_trivially_copyable_v<poisson>);

}  // namespace bionmda
