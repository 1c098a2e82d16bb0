// population: windows of K steps (window.hpp), validated in full before any
// state changes, then handed to the engine as one call.
#include <cmath>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <variant>

#include "bionmda/detail/error_macros.hpp"
#include "bionmda/detail/window_args.hpp"
#include "bionmda/population.hpp"
#include "engine.hpp"
#include "input_checks.hpp"

namespace bionmda {
namespace {

using detail::check_space;
using detail::check_span;

// a * b * c for sizes >= 0, refused when it does not fit in 64 bits.
std::int64_t checked_product(std::int64_t a, std::int64_t b, std::int64_t c, const char* what) {
  __extension__ using wide = __int128;
  const wide p = static_cast<wide>(a) * static_cast<wide>(b) * static_cast<wide>(c);
  BIONMDA_EXPECTS(p <= static_cast<wide>(INT64_MAX),
                  what << " of " << a << " x " << b << " x " << c << " entries overflows 64 bits");
  return static_cast<std::int64_t>(p);
}

// The memory space of a window input type's data.
template <class T>
struct space_of;
template <template <memory_space> class Input, memory_space Space>
struct space_of<Input<Space>> {
  static constexpr memory_space value = Space;
};

}  // namespace

void population::check_window(std::int64_t steps, const window_input& input) const {
  check_alive();
  BIONMDA_EXPECTS(steps >= 0, "a window needs steps >= 0, got " << steps);
  BIONMDA_EXPECTS(steps <= INT64_MAX - steps_, "a window of " << steps << " steps from step " << steps_
                                                   << " would take the step counter past INT64_MAX");
  const std::int64_t N = config_.units, B = config_.batch;
  std::visit(
      [&](const auto& in) {
        using T = std::decay_t<decltype(in)>;
        if constexpr (std::is_same_v<T, no_spikes>) {
        } else if constexpr (std::is_same_v<T, poisson>) {
          BIONMDA_EXPECTS(std::isfinite(in.rate_hz) && in.rate_hz >= 0,
                          "Poisson rate must be finite and >= 0 Hz, got " << in.rate_hz);
        } else {
          constexpr memory_space where = space_of<T>::value;
          if constexpr (std::is_same_v<T, dense_window<where>>) {
            check_space<where>(backend_, "window spike mask");
            check_span(in.spikes, checked_product(steps, B, N, "a window spike mask"), "window spike mask [K][B][N]");
          } else if constexpr (std::is_same_v<T, bit_window<where>>) {
            check_space<where>(backend_, "window bit mask");
            check_span(in.words, checked_product(steps, B, detail::bit_words(N), "a window bit mask"),
                       "window bit mask [K][B][ceil(N/32)]");
          } else if constexpr (std::is_same_v<T, presynaptic_window<where>> ||
                               std::is_same_v<T, presynaptic_bit_window<where>>) {
            check_space<where>(backend_, "presynaptic window mask");
            BIONMDA_EXPECTS(n_pre_ > 0 || N == 0, "a presynaptic window mask needs set_presynaptic_sources first");
            if constexpr (std::is_same_v<T, presynaptic_window<where>>) {
              check_span(in.spikes, checked_product(steps, B, n_pre_, "a presynaptic window mask"),
                         "presynaptic window mask [K][B][N_pre]");
            } else {
              check_span(in.words, checked_product(steps, B, detail::bit_words(n_pre_), "a presynaptic window mask"),
                         "presynaptic window bit mask [K][B][ceil(N_pre/32)]");
            }
          } else if constexpr (std::is_same_v<T, events_window<where>>) {
            check_space<where>(backend_, "window event list");
            BIONMDA_EXPECTS(steps < INT64_MAX, "a window of " << steps << " steps has too many step offsets");
            check_span(in.step_offsets, steps + 1, "window event step offsets [K+1]");
            // The events become a bit mask of the window (K*B*ceil(N/32) words).
            (void)checked_product(steps, B, detail::bit_words(N), "the bit mask of a window's events");
            BIONMDA_EXPECTS(in.elements.size >= 0, "window events has a negative size " << in.elements.size);
            BIONMDA_EXPECTS(in.elements.data != nullptr || in.elements.size == 0, "window events is a null pointer");
            if constexpr (where == memory_space::host) {
              const std::int64_t* off = in.step_offsets.data;
              BIONMDA_EXPECTS(off[0] == 0, "window event step_offsets[0] must be 0, got " << off[0]);
              for (std::int64_t k = 0; k < steps; ++k) {
                BIONMDA_EXPECTS(off[k + 1] >= off[k], "window event step_offsets[" << k + 1 << "] = " << off[k + 1]
                                                                                   << " is below step_offsets[" << k
                                                                                   << "] = " << off[k]);
              }
              BIONMDA_EXPECTS(off[steps] == in.elements.size, "window event step_offsets[" << steps << "] = "
                                                                  << off[steps] << " must equal the number of events, "
                                                                  << in.elements.size);
              const std::int64_t n = N * B;
              for (std::int64_t q = 0; q < in.elements.size; ++q) {
                const std::int64_t e = in.elements.data[q];
                BIONMDA_EXPECTS(e >= 0 && e < n, "window event [" << q << "] = " << e << " is out of range [0, " << n
                                                                  << ") (element b * N + i)");
              }
            }
          }
        }
      },
      input);
}

template <class Real>
void population::window_async(std::int64_t steps, const window_input& input, const window_trace<Real>& trace,
                              cudaStream_t stream) {
  check_window(steps, input);
  constexpr bool f32 = std::is_same_v<Real, float>;
  const bool records = trace.g != nullptr || trace.x != nullptr || trace.g_size != 0 || trace.x_size != 0;
  if (records) {
    BIONMDA_EXPECTS(f32 == (config_.precision == precision::float32),
                    "a window trace of " << (f32 ? "float32" : "float64") << " values for a "
                                         << (f32 ? "float64" : "float32") << " population");
    BIONMDA_EXPECTS(trace.space == space(), "a window trace in "
                                                << (trace.space == memory_space::host ? "host" : "device")
                                                << " memory for a population whose state is in "
                                                << (space() == memory_space::host ? "host" : "device") << " memory");
    const std::int64_t need = checked_product(steps, n_rec_, 1, "a window trace");
    BIONMDA_EXPECTS(trace.g_size >= 0 && trace.x_size >= 0,
                    "the window trace has a negative size (g " << trace.g_size << ", x " << trace.x_size << ")");
    BIONMDA_EXPECTS(trace.g != nullptr || trace.g_size == 0, "the window trace's g is a null pointer");
    BIONMDA_EXPECTS(trace.x != nullptr || trace.x_size == 0, "the window trace's x is a null pointer");
    BIONMDA_EXPECTS(trace.g == nullptr || trace.g_size >= need,
                    "the window trace's g has " << trace.g_size << " elements; " << steps << " steps x " << n_rec_
                                                << " recorded elements need " << need);
    BIONMDA_EXPECTS(trace.x == nullptr || trace.x_size >= need,
                    "the window trace's x has " << trace.x_size << " elements; " << steps << " steps x " << n_rec_
                                                << " recorded elements need " << need);
    // The window writes the trace while it reads the state: they must not share memory.
    const state_view<Real> st = typed<Real>().view();
    const auto overlaps = [](const void* a, std::int64_t a_bytes, const void* b, std::int64_t b_bytes) {
      const auto a0 = reinterpret_cast<std::uintptr_t>(a), b0 = reinterpret_cast<std::uintptr_t>(b);
      return a_bytes > 0 && b_bytes > 0 && a0 < b0 + static_cast<std::uintptr_t>(b_bytes) &&
             b0 < a0 + static_cast<std::uintptr_t>(a_bytes);
    };
    const std::int64_t n = st.elements();
    for (const auto& [out, size, name] : {std::tuple{trace.g, trace.g_size, "g"}, std::tuple{trace.x, trace.x_size, "x"}}) {
      if (out == nullptr) continue;
      const std::int64_t bytes =
          size > INT64_MAX / static_cast<std::int64_t>(sizeof(Real)) ? INT64_MAX : size * static_cast<std::int64_t>(sizeof(Real));
      BIONMDA_EXPECTS(!overlaps(out, bytes, st.g, n * static_cast<std::int64_t>(sizeof(Real))) &&
                          !overlaps(out, bytes, st.x, n * static_cast<std::int64_t>(sizeof(Real))) &&
                          !overlaps(out, bytes, st.countdown, n * 2),
                      "the window trace's " << name << " overlaps the population's own state");
    }
  }
  if (steps == 0) return;
  if (config_.precision == precision::float32) {
    window_trace<float> t;
    if constexpr (f32) t = trace;
    typed<float>().step_window(input, steps, steps_, t, stream);
  } else {
    window_trace<double> t;
    if constexpr (!f32) t = trace;
    typed<double>().step_window(input, steps, steps_, t, stream);
  }
  steps_ += steps;
}

void population::step_window_async(std::int64_t steps, const window_input& input, cudaStream_t stream) {
  window_async(steps, input, window_trace<float>{}, stream);
}

void population::step_window(std::int64_t steps, const window_input& input, cudaStream_t stream) {
  step_window_async(steps, input, stream);
  engine_->synchronize(stream);
}

template <class Real>
void population::step_window_async(std::int64_t steps, const window_input& input, const window_trace<Real>& trace,
                                   cudaStream_t stream) {
  window_async(steps, input, trace, stream);
}

template <class Real>
void population::step_window(std::int64_t steps, const window_input& input, const window_trace<Real>& trace,
                             cudaStream_t stream) {
  window_async(steps, input, trace, stream);
  engine_->synchronize(stream);
}

template <class Real>
void population::window_with_post(std::int64_t steps, const window_input& input, const detail::post_args<Real>& map,
                                  Real* g_post, bool per_synapse, Real* history, cudaStream_t stream) {
  check_window(steps, input);
  const bool host_input = std::visit(
      [](const auto& in) {
        using T = std::decay_t<decltype(in)>;
        if constexpr (std::is_same_v<T, no_spikes> || std::is_same_v<T, poisson>) {
          return false;
        } else {
          return space_of<T>::value == memory_space::host;
        }
      },
      input);
  if (per_synapse) {
    BIONMDA_EXPECTS((std::holds_alternative<presynaptic_window<memory_space::host>>(input) ||
                     std::holds_alternative<presynaptic_window<memory_space::device>>(input) ||
                     std::holds_alternative<presynaptic_bit_window<memory_space::host>>(input) ||
                     std::holds_alternative<presynaptic_bit_window<memory_space::device>>(input)),
                    "a per-synapse window takes a presynaptic window (presynaptic_window or presynaptic_bit_window)");
  }
  if (steps == 0) return;
  if (per_synapse) {
    typed<Real>().step_window_post(input, steps, steps_, map, g_post, stream);
  } else {
    typed<Real>().step_window_sum_post(input, steps, steps_, map, history, g_post, stream);
  }
  steps_ += steps;
  if (host_input) engine_->synchronize(stream);
}

void population::set_recorded_elements(host_span<const std::int64_t> elements, cudaStream_t stream) {
  check_alive();
  BIONMDA_EXPECTS(elements.size >= 0, "recorded elements has a negative size " << elements.size);
  BIONMDA_EXPECTS(elements.data != nullptr || elements.size == 0, "recorded elements is a null pointer");
  const std::int64_t n = this->elements();
  for (std::int64_t r = 0; r < elements.size; ++r) {
    const std::int64_t e = elements.data[r];
    BIONMDA_EXPECTS(e >= 0 && e < n, "recorded element [" << r << "] = " << e << " is out of range [0, " << n
                                                          << ") (element b * N + i)");
  }
  if (config_.precision == precision::float32) {
    typed<float>().set_recorded(elements.data, elements.size, stream);
  } else {
    typed<double>().set_recorded(elements.data, elements.size, stream);
  }
  n_rec_ = elements.size;
}

std::int64_t population::recorded_count() const noexcept { return n_rec_; }

std::int64_t population::window_history_values(std::int64_t steps) const {
  check_alive();
  return engine_->window_history_values(steps);
}

template void population::window_with_post<float>(std::int64_t, const window_input&,
                                                   const detail::post_args<float>&, float*, bool, float*,
                                                   cudaStream_t);
template void population::window_with_post<double>(std::int64_t, const window_input&,
                                                    const detail::post_args<double>&, double*, bool, double*,
                                                    cudaStream_t);
template void population::step_window<float>(std::int64_t, const window_input&, const window_trace<float>&,
                                              cudaStream_t);
template void population::step_window<double>(std::int64_t, const window_input&, const window_trace<double>&,
                                               cudaStream_t);
template void population::step_window_async<float>(std::int64_t, const window_input&, const window_trace<float>&,
                                                    cudaStream_t);
template void population::step_window_async<double>(std::int64_t, const window_input&,
                                                     const window_trace<double>&, cudaStream_t);

}  // namespace bionmda
