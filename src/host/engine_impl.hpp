#pragma once
// The one engine: state, coefficients, sources and staging buffers in a
// backend's memory, and every engine operation written once over a backend
// policy. Included by the translation unit of each backend
// (src/host/cpu/cpu_engine.cpp, src/cuda/cuda_engine.cu), which instantiates
// it with its policy.
//
// A Backend policy provides:
//   space                       memory_space of its buffers
//   context                     per-engine settings (device, threads, ...):
//                               context(const engine_setup<Real>&)
//   scope                       RAII guard making the engine's device current
//   upload_async(dst, src, bytes, ctx, stream)   host -> backend copy, enqueued
//   synchronize(ctx, stream)
//   step(ctx, state, args, gate, stream)          one fused step, Gate a detail::gate_*
//   start_pulses(ctx, state, args, events, count, stream)  countdown[e] = pulse(e)
//   step_post(ctx, state, args, gate, map, out, stream)    per-synapse fused step
//   sum_post(ctx, map, g, out, stream)                     per-presynaptic sums
//   gather(ctx, state, elements, count, g_out, x_out, stream)
//   step_window(ctx, state, args, window, steps, record, stream)  K fused steps, Window a detail::window_*
//   events_to_bits(ctx, offsets, elements, steps, units, batch, bits, stream)  events -> [K][B][W] bits
//   step_window_post(ctx, state, args, window, steps, map, g_post, stream)    per-synapse window
//   history_by_element(steps, elements, real_size)  the layout of a window's g history
//   history_values(ctx, steps, elements)   scratch values of a per-presynaptic window (-1: overflow)
//   sum_post_window(ctx, map, history, by_element, steps, g_post, stream)     per-presynaptic sums of a window
//   fill(ctx, p, n, value, stream), fill_uniform(ctx, p, n, key, low, high, stream)
#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <variant>
#include <vector>

#include "bionmda/buffer.hpp"
#include "bionmda/detail/error_macros.hpp"
#include "bionmda/detail/step_args.hpp"
#include "coeff_table.hpp"
#include "engine.hpp"

namespace bionmda::detail {

/// Whether T is Input<host> or Input<device>, and the memory space of a window input's data.
template <class T, template <memory_space> class Input>
inline constexpr bool is_window_of =
    std::is_same_v<T, Input<memory_space::host>> || std::is_same_v<T, Input<memory_space::device>>;
template <class T>
struct input_space;
template <template <memory_space> class Input, memory_space Space>
struct input_space<Input<Space>> {
  static constexpr memory_space value = Space;
};
template <class T>
inline constexpr memory_space space_of_input = input_space<T>::value;

template <class Backend, class Real>
class engine_impl final : public typed_engine<Real> {
  static constexpr memory_space space = Backend::space;
  static constexpr bool on_host = space == memory_space::host;
  // Elements per chunk when converting to or from float64 through the host.
  static constexpr std::int64_t chunk_elements = 1 << 20;

 public:
  engine_impl(const prepared_model& m, const engine_setup<Real>& setup)
      : ctx_(setup), units_(setup.units), batch_(setup.batch), host_staging_(setup.host_staging), dt_(m.dt) {
    const typename Backend::scope guard(ctx_);
    const std::int64_t n = units_ * batch_;
    if (setup.external != nullptr) {  // caller-owned state: no allocation, no copy
      g_ = buffer<Real>::borrow(setup.external->g, n, space);
      x_ = buffer<Real>::borrow(setup.external->x, n, space);
      countdown_ = buffer<countdown_t>::borrow(setup.external->countdown, n, space);
    } else {
      g_ = allocate<Real>(n, "g");
      x_ = allocate<Real>(n, "x");
      countdown_ = allocate<countdown_t>(n, "pulse countdown");
    }
    if (!on_host && host_staging_) dense_stage_ = allocate<std::uint8_t>(n, "host spike staging");

    const coeff_table<Real> t = make_coeff_table<Real>(m);
    args_.dt = static_cast<Real>(m.dt);
    args_.j_fast = static_cast<Real>(euler_fast_decay_rate(m.dt));
    // |J| of g's update is at most alpha1 + beta1 (x <= 1): with a factor of
    // two to spare for rounding, below euler_fast_decay_z / 2 the branch for
    // large |dt*J| is never taken.
    double widest = m.alpha1 + m.beta1;
    for (std::size_t i = 0; i < m.alpha1_u.size(); ++i) widest = std::max(widest, m.alpha1_u[i] + m.beta1_u[i]);
    args_.wide_range = !(widest * m.dt <= euler_fast_decay_z / 2);
    args_.per_unit = m.per_unit;
    args_.coeffs = t.uniform;
    args_.pulse_steps = m.pulse_steps;
    if (m.per_unit) {
      args_.alpha1 = upload(t.alpha1, alpha1_, "alpha1");
      args_.beta1 = upload(t.beta1, beta1_, "beta1");
      args_.ax_on = upload(t.ax_on, ax_on_, "alpha2*T");
      args_.beta2 = upload(t.beta2, beta2_, "beta2");
      args_.hx_on = upload(t.hx_on, hx_on_, "x factor (on)");
      args_.hx_off = upload(t.hx_off, hx_off_, "x factor (off)");
      args_.pulse = upload(m.pulse_u, pulse_, "pulse steps");
    }
  }

  void step(const spike_input& in, std::int64_t step_index, cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    std::visit([&](const auto& input) { step_with(input, step_index, stream); }, in);
  }

  void step_post(const spike_input& pre, std::int64_t, const post_args<Real>& map, const post_outputs<Real>& out,
                 cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    const gate_presynaptic gate = std::visit(
        [&](const auto& input) -> gate_presynaptic {
          using T = std::decay_t<decltype(input)>;
          if constexpr (std::is_same_v<T, presynaptic_mask<memory_space::host>> ||
                        std::is_same_v<T, presynaptic_mask<memory_space::device>>) {
            return presynaptic_gate(input, stream);
          } else {
            throw invalid_argument("bionmda: the per-synapse step takes a presynaptic mask");
          }
        },
        pre);
    Backend::step_post(ctx_, state(), args_, gate, map, out, stream);
  }

  void step_window(const window_input& in, std::int64_t steps, std::int64_t first_step,
                   const window_trace<Real>& trace, cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    const window_record<Real> rec{rec_sorted_.data(), rec_slot_.data(), rec_sorted_.size(), trace.g, trace.x};
    std::visit([&](const auto& input) { window_with(input, steps, first_step, rec, stream); }, in);
  }

  void step_window_post(const window_input& pre, std::int64_t steps, std::int64_t, const post_args<Real>& map,
                        Real* g_post, cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    std::visit(
        [&](const auto& input) {
          using T = std::decay_t<decltype(input)>;
          if constexpr (is_window_of<T, presynaptic_window>) {
            const std::uint8_t* mask =
                resident_growing<space_of_input<T>>(input.spikes, window_bytes_, "window spike staging", stream);
            Backend::step_window_post(ctx_, state(), args_,
                                      window_presynaptic{mask, sources_.data(), n_pre_, n_pre_ * batch_}, steps, map,
                                      g_post, stream);
          } else if constexpr (is_window_of<T, presynaptic_bit_window>) {
            const std::int64_t w = bit_words(n_pre_);
            const std::uint32_t* words =
                resident_growing<space_of_input<T>>(input.words, window_words_, "window spike staging", stream);
            Backend::step_window_post(ctx_, state(), args_,
                                      window_presynaptic_bits{words, sources_.data(), w, w * batch_}, steps, map,
                                      g_post, stream);
          } else {
            throw invalid_argument("bionmda: a per-synapse window takes a presynaptic window (bytes or bits)");
          }
        },
        pre);
  }

  void step_window_sum_post(const window_input& in, std::int64_t steps, std::int64_t first_step,
                            const post_args<Real>& map, Real* history, Real* g_post, cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    window_record<Real> rec{rec_sorted_.data(), rec_slot_.data(), 0, nullptr, nullptr};
    rec.history = history;
    rec.history_by_element = Backend::history_by_element(steps, units_ * batch_, sizeof(Real));
    std::visit([&](const auto& input) { window_with(input, steps, first_step, rec, stream); }, in);
    Backend::sum_post_window(ctx_, map, history, rec.history_by_element, steps, g_post, stream);
  }

  void set_recorded(const std::int64_t* elements, std::int64_t count, cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    // Sorted by element (ties by slot) for the kernels' search; slot = position in the caller's list.
    std::vector<std::int64_t> order(static_cast<std::size_t>(count));
    for (std::int64_t r = 0; r < count; ++r) order[static_cast<std::size_t>(r)] = r;
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return elements[a] < elements[b]; });
    std::vector<std::int64_t> sorted(order.size());
    for (std::size_t r = 0; r < order.size(); ++r) sorted[r] = elements[order[r]];
    // Allocate both before replacing either, so a failure changes nothing.
    buffer<std::int64_t> e = allocate<std::int64_t>(count, "recorded elements");
    buffer<std::int64_t> slot = allocate<std::int64_t>(count, "recorded slots");
    copy_in(e.data(), sorted.data(), count, stream);
    copy_in(slot.data(), order.data(), count, stream);
    rec_sorted_ = std::move(e);
    rec_slot_ = std::move(slot);
  }

  void sum_post(const post_args<Real>& map, const post_outputs<Real>& out, cudaStream_t stream) const override {
    const typename Backend::scope guard(ctx_);
    Backend::sum_post(ctx_, map, g_.data(), out, stream);
  }

  void read(state_field f, std::int64_t offset, std::int64_t count, double* out,
            cudaStream_t stream) const override {
    const Real* src = field(f) + offset;
    if constexpr (on_host) {
      std::transform(src, src + count, out, [](Real a) { return static_cast<double>(a); });
    } else {
      std::vector<Real> host(static_cast<std::size_t>(std::min(count, chunk_elements)));
      for (std::int64_t done = 0; done < count; done += chunk_elements) {
        const std::int64_t k = std::min(chunk_elements, count - done);
        read_raw(f, offset + done, k, host.data(), stream);
        std::transform(host.begin(), host.begin() + k, out + done, [](Real a) { return static_cast<double>(a); });
      }
    }
  }

  void write(state_field f, std::int64_t offset, std::int64_t count, const double* in,
             cudaStream_t stream) override {
    Real* dst = field(f) + offset;
    if constexpr (on_host) {
      std::transform(in, in + count, dst, [](double a) { return static_cast<Real>(a); });
    } else {
      std::vector<Real> host(static_cast<std::size_t>(std::min(count, chunk_elements)));
      for (std::int64_t done = 0; done < count; done += chunk_elements) {
        const std::int64_t k = std::min(chunk_elements, count - done);
        std::transform(in + done, in + done + k, host.begin(), [](double a) { return static_cast<Real>(a); });
        write_raw(f, offset + done, k, host.data(), stream);
      }
    }
  }

  void read_raw(state_field f, std::int64_t offset, std::int64_t count, Real* out,
                cudaStream_t stream) const override {
    copy_out(out, field(f) + offset, count, stream);
  }

  void write_raw(state_field f, std::int64_t offset, std::int64_t count, const Real* in,
                 cudaStream_t stream) override {
    copy_in(field(f) + offset, in, count, stream);
  }

  void read_countdown(std::int64_t offset, std::int64_t count, std::uint16_t* out,
                      cudaStream_t stream) const override {
    copy_out(out, countdown_.data() + offset, count, stream);
  }

  void write_countdown(std::int64_t offset, std::int64_t count, const std::uint16_t* in,
                       cudaStream_t stream) override {
    copy_in(countdown_.data() + offset, in, count, stream);
  }

  void gather(const std::int64_t* elements, std::int64_t count, double* g, double* x,
              cudaStream_t stream) const override {
    if (count == 0) return;
    const typename Backend::scope guard(ctx_);
    std::vector<Real> gr(static_cast<std::size_t>(count)), xr(static_cast<std::size_t>(count));
    if constexpr (on_host) {
      Backend::gather(ctx_, cstate(), elements, count, gr.data(), xr.data(), stream);
    } else {
      // Indices in, values out, through buffers that grow to the largest request.
      grow(gather_index_, count, "gather indices");
      grow(gather_values_, 2 * count, "gathered values");
      Backend::upload_async(gather_index_.data(), elements, static_cast<std::size_t>(count) * sizeof(std::int64_t),
                            ctx_, stream);
      Backend::gather(ctx_, cstate(), gather_index_.data(), count, gather_values_.data(),
                      gather_values_.data() + count, stream);
      copy_bytes(gr.data(), memory_space::host, gather_values_.data(), space,
                 static_cast<std::size_t>(count) * sizeof(Real), stream);
      copy_bytes(xr.data(), memory_space::host, gather_values_.data() + count, space,
                 static_cast<std::size_t>(count) * sizeof(Real), stream);
    }
    std::copy(gr.begin(), gr.end(), g);
    std::copy(xr.begin(), xr.end(), x);
  }

  void fill(state_field f, double value, cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    Backend::fill(ctx_, field(f), g_.size(), static_cast<Real>(value), stream);
  }

  void fill_uniform(state_field f, std::uint64_t key, double low, double high, cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    Backend::fill_uniform(ctx_, field(f), g_.size(), key, low, high, stream);
  }

  void clear_countdown(cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    Backend::fill(ctx_, countdown_.data(), countdown_.size(), countdown_t{0}, stream);
  }

  void set_sources(const std::int32_t* sources, std::int64_t n_pre, cudaStream_t stream) override {
    const typename Backend::scope guard(ctx_);
    // Allocate everything before replacing anything, so a failure changes nothing.
    buffer<std::int32_t> s = allocate<std::int32_t>(units_, "presynaptic sources");
    buffer<std::uint8_t> staging;
    if (!on_host && host_staging_) staging = allocate<std::uint8_t>(n_pre * batch_, "host presynaptic staging");
    copy_in(s.data(), sources, units_, stream);
    sources_ = std::move(s);
    pre_stage_ = std::move(staging);
    n_pre_ = n_pre;
  }

  void read_sources(std::int32_t* out, cudaStream_t stream) const override {
    copy_out(out, sources_.data(), sources_.size(), stream);
  }

  void synchronize(cudaStream_t stream) const override {
    const typename Backend::scope guard(ctx_);
    Backend::synchronize(ctx_, stream);
  }

  std::int64_t window_history_values(std::int64_t steps) const override {
    return Backend::history_values(ctx_, steps, units_ * batch_);
  }

  state_view<Real> view() override {
    return state_view<Real>{g_.data(), x_.data(), countdown_.data(), units_, batch_, space};
  }

  void bind(const state_view<Real>& external) override {
    const std::int64_t n = units_ * batch_;
    g_ = buffer<Real>::borrow(external.g, n, space);
    x_ = buffer<Real>::borrow(external.x, n, space);
    countdown_ = buffer<countdown_t>::borrow(external.countdown, n, space);
  }

 private:
  template <class T>
  buffer<T> allocate(std::int64_t n, const char* what) const {
    return buffer<T>(n, space, ctx_.device, what);
  }

  // Uploads a host table into owner and returns its data.
  template <class T>
  const T* upload(const std::vector<T>& host, buffer<T>& owner, const char* what) {
    owner = allocate<T>(static_cast<std::int64_t>(host.size()), what);
    copy_in(owner.data(), host.data(), owner.size(), nullptr);
    return owner.data();
  }

  // Blocking copies between host memory and this backend's memory.
  template <class T>
  void copy_in(T* dst, const T* src, std::int64_t n, cudaStream_t stream) const {
    if (n > 0) copy_bytes(dst, space, src, memory_space::host, static_cast<std::size_t>(n) * sizeof(T), stream);
  }
  template <class T>
  void copy_out(T* dst, const T* src, std::int64_t n, cudaStream_t stream) const {
    if (n > 0) copy_bytes(dst, memory_space::host, src, space, static_cast<std::size_t>(n) * sizeof(T), stream);
  }

  template <class T>
  void grow(buffer<T>& b, std::int64_t n, const char* what) const {
    if (b.size() < n) b = allocate<T>(n, what);
  }

  // Data of an input in this backend's memory: host data on a device backend
  // goes through the staging buffer (the population checked its size).
  template <memory_space Space, class T>
  const T* resident(span_in<Space, T> s, buffer<T>& staging, cudaStream_t stream) {
    if constexpr (Space == space) {
      return s.data;
    } else if constexpr (Space == memory_space::device) {
      throw invalid_argument("bionmda: a device-memory spike input needs the CUDA backend (pass a host_span)");
    } else {
      require_staging();
      if (s.size > 0) Backend::upload_async(staging.data(), s.data, static_cast<std::size_t>(s.size) * sizeof(T), ctx_, stream);
      return staging.data();
    }
  }

  void require_staging() const {
    BIONMDA_EXPECTS(host_staging_,
                    "a host-memory spike input on the CUDA backend needs host_input_staging = true "
                    "in population_config (or pass a device_span)");
  }

  template <memory_space Space>
  gate_presynaptic presynaptic_gate(const presynaptic_mask<Space>& in, cudaStream_t stream) {
    return gate_presynaptic{resident<Space>(in.spikes, pre_stage_, stream), sources_.data(), n_pre_};
  }

  // One branch per kind of input: resolve it to a gate and launch.
  void step_with(const no_spikes&, std::int64_t, cudaStream_t stream) {
    Backend::step(ctx_, state(), args_, gate_none{}, stream);
  }
  template <memory_space Space>
  void step_with(const dense_mask<Space>& in, std::int64_t, cudaStream_t stream) {
    Backend::step(ctx_, state(), args_, gate_dense{resident<Space>(in.spikes, dense_stage_, stream)}, stream);
  }
  template <memory_space Space>
  void step_with(const presynaptic_mask<Space>& in, std::int64_t, cudaStream_t stream) {
    Backend::step(ctx_, state(), args_, presynaptic_gate(in, stream), stream);
  }
  void step_with(const poisson& in, std::int64_t step_index, cudaStream_t stream) {
    Backend::step(ctx_, state(), args_, make_gate_poisson(in.rate_hz, dt_, in.seed, step_index),
                  stream);
  }
  template <memory_space Space>
  void step_with(const spike_events<Space>& in, std::int64_t, cudaStream_t stream) {
    // A spike sets the countdown to the pulse length before the update, which
    // is what the update itself does with a spike: start the pulses, then step
    // without spikes. Bit for bit the dense-mask step.
    if constexpr (Space == memory_space::host && Space != space) {
      require_staging();  // before the staging buffer grows
      grow(event_stage_, in.elements.size, "spike event staging");
    }
    const std::int64_t* events = resident<Space>(in.elements, event_stage_, stream);
    Backend::start_pulses(ctx_, state(), args_, events, in.elements.size, stream);
    Backend::step(ctx_, state(), args_, gate_after_events{}, stream);
  }

  // One branch per kind of window input: resolve it to a window gate and launch.
  template <class Window>
  void launch_window(const Window& w, std::int64_t steps, const window_record<Real>& rec, cudaStream_t stream) {
    Backend::step_window(ctx_, state(), args_, w, steps, rec, stream);
  }
  void window_with(const no_spikes&, std::int64_t steps, std::int64_t, const window_record<Real>& rec,
                   cudaStream_t stream) {
    launch_window(window_none{}, steps, rec, stream);
  }
  void window_with(const poisson& in, std::int64_t steps, std::int64_t first_step, const window_record<Real>& rec,
                   cudaStream_t stream) {
    launch_window(make_window_poisson(in.rate_hz, dt_, in.seed, first_step), steps, rec, stream);
  }
  template <memory_space Space>
  void window_with(const dense_window<Space>& in, std::int64_t steps, std::int64_t, const window_record<Real>& rec,
                   cudaStream_t stream) {
    const std::uint8_t* mask = resident_growing<Space>(in.spikes, window_bytes_, "window spike staging", stream);
    launch_window(window_dense{mask, units_ * batch_}, steps, rec, stream);
  }
  template <memory_space Space>
  void window_with(const bit_window<Space>& in, std::int64_t steps, std::int64_t, const window_record<Real>& rec,
                   cudaStream_t stream) {
    const std::int64_t w = bit_words(units_);
    const std::uint32_t* words = resident_growing<Space>(in.words, window_words_, "window spike staging", stream);
    launch_window(window_bits{words, w, w * batch_}, steps, rec, stream);
  }
  template <memory_space Space>
  void window_with(const presynaptic_window<Space>& in, std::int64_t steps, std::int64_t,
                   const window_record<Real>& rec, cudaStream_t stream) {
    const std::uint8_t* mask = resident_growing<Space>(in.spikes, window_bytes_, "window spike staging", stream);
    launch_window(window_presynaptic{mask, sources_.data(), n_pre_, n_pre_ * batch_}, steps, rec, stream);
  }
  template <memory_space Space>
  void window_with(const presynaptic_bit_window<Space>& in, std::int64_t steps, std::int64_t,
                   const window_record<Real>& rec, cudaStream_t stream) {
    const std::int64_t w = bit_words(n_pre_);
    const std::uint32_t* words = resident_growing<Space>(in.words, window_words_, "window spike staging", stream);
    launch_window(window_presynaptic_bits{words, sources_.data(), w, w * batch_}, steps, rec, stream);
  }
  template <memory_space Space>
  void window_with(const events_window<Space>& in, std::int64_t steps, std::int64_t, const window_record<Real>& rec,
                   cudaStream_t stream) {
    // The events become the bits of the window (a spike there is exactly an
    // event: both set the countdown to the pulse length before the update).
    const std::int64_t* offsets = resident_growing<Space>(in.step_offsets, event_offsets_stage_, "window event staging", stream);
    const std::int64_t* events = resident_growing<Space>(in.elements, event_stage_, "window event staging", stream);
    const std::int64_t w = bit_words(units_);
    grow(event_bits_, steps * batch_ * w, "window event bits");
    Backend::events_to_bits(ctx_, offsets, events, in.elements.size, steps, units_, batch_, event_bits_.data(), stream);
    launch_window(window_bits{event_bits_.data(), w, w * batch_}, steps, rec, stream);
  }

  // Data of a window input in this backend's memory; host data on a device
  // backend goes through a staging buffer that grows to the largest window.
  template <memory_space Space, class T>
  const T* resident_growing(span_in<Space, T> s, buffer<T>& staging, const char* what, cudaStream_t stream) {
    if constexpr (Space == memory_space::host && Space != space) {
      require_staging();
      grow(staging, s.size, what);
    }
    return resident<Space>(s, staging, stream);
  }

  Real* field(state_field f) { return f == state_field::g ? g_.data() : x_.data(); }
  const Real* field(state_field f) const { return f == state_field::g ? g_.data() : x_.data(); }
  state_ptrs<Real> state() { return state_ptrs<Real>{g_.data(), x_.data(), countdown_.data(), units_, batch_}; }
  state_ptrs<Real> cstate() const {
    return state_ptrs<Real>{const_cast<Real*>(g_.data()), const_cast<Real*>(x_.data()),
                            const_cast<countdown_t*>(countdown_.data()), units_, batch_};
  }

  typename Backend::context ctx_;
  std::int64_t units_;
  std::int64_t batch_;
  bool host_staging_;
  double dt_;  ///< ms, float64: the Poisson probability uses it unrounded
  buffer<Real> g_, x_;
  buffer<countdown_t> countdown_;
  buffer<Real> alpha1_, beta1_, ax_on_, beta2_, hx_on_, hx_off_;
  buffer<countdown_t> pulse_;
  buffer<std::int32_t> sources_;
  std::int64_t n_pre_ = 0;
  buffer<std::uint8_t> dense_stage_, pre_stage_;
  buffer<std::int64_t> event_stage_, event_offsets_stage_;
  buffer<std::uint8_t> window_bytes_;
  buffer<std::uint32_t> window_words_, event_bits_;
  buffer<std::int64_t> rec_sorted_, rec_slot_;
  mutable buffer<std::int64_t> gather_index_;
  mutable buffer<Real> gather_values_;
  model_args<Real> args_{};
};

}  // namespace bionmda::detail
