// One rank's synapses: the units its rows need, their map, and the staging of
// each window's spikes (pinned host and device memory on the CUDA backend).
#include "bionmda/network/projection.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

#include "bionmda/error.hpp"
#include "cuda_entry.hpp"

namespace bionmda {

const char* to_string(synapse_mode m) noexcept {
  return m == synapse_mode::per_synapse ? "per-synapse" : "per-presynaptic";
}

namespace {

// Page-locked host memory on the CUDA backend, plain memory otherwise.
template <class T>
class host_array {
 public:
  host_array() = default;
  host_array(std::int64_t n, bool pinned, const char* what) : n_(n), pinned_(pinned) {
    const auto bytes = static_cast<std::size_t>(std::max<std::int64_t>(n, 1)) * sizeof(T);
    if (pinned) {
      p_ = static_cast<T*>(detail::cuda_host_allocate(bytes, what));
    } else {
      plain_ = buffer<T>(n, memory_space::host, 0, what);  // bionmda::out_of_memory naming what
      p_ = plain_.data();
    }
  }
  ~host_array() {
    if (pinned_) detail::cuda_host_free(p_);
  }
  host_array(host_array&& o) noexcept : p_(o.p_), n_(o.n_), pinned_(o.pinned_), plain_(std::move(o.plain_)) {
    o.p_ = nullptr;
    o.pinned_ = false;
  }
  host_array& operator=(host_array&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(pinned_, o.pinned_);
    plain_.swap(o.plain_);
    return *this;
  }
  host_array(const host_array&) = delete;
  host_array& operator=(const host_array&) = delete;
  T* data() const noexcept { return p_; }
  std::int64_t size() const noexcept { return n_; }

 private:
  T* p_ = nullptr;
  std::int64_t n_ = 0;
  bool pinned_ = false;
  buffer<T> plain_;
};

void check_rows(const csr_connectivity& rows, std::int64_t n_pre) {
  const std::string w = "projection: ";
  if (n_pre < 0 || n_pre > INT32_MAX) {
    throw invalid_argument(w + "n_pre = " + std::to_string(n_pre) + ", must lie in [0, 2^31)");
  }
  if (rows.n_post < 0) throw invalid_argument(w + "rows.n_post = " + std::to_string(rows.n_post) + " < 0");
  if (rows.row_offsets.size() != static_cast<std::size_t>(rows.n_post) + 1) {
    throw invalid_argument(w + "rows.row_offsets has " + std::to_string(rows.row_offsets.size()) +
                           " entries, needs n_post + 1 = " + std::to_string(rows.n_post + 1));
  }
  const auto nnz = static_cast<std::int64_t>(rows.source.size());
  if (rows.row_offsets.front() != 0 || rows.row_offsets.back() != nnz) {
    throw invalid_argument(w + "rows.row_offsets must run from 0 to the " + std::to_string(nnz) + " synapses");
  }
  for (std::size_t i = 0; i + 1 < rows.row_offsets.size(); ++i) {
    if (rows.row_offsets[i + 1] < rows.row_offsets[i]) {
      throw invalid_argument(w + "rows.row_offsets decreases at row " + std::to_string(i));
    }
  }
  if (rows.gmax.size() != rows.source.size()) {
    throw invalid_argument(w + "rows.gmax has " + std::to_string(rows.gmax.size()) + " entries, rows.source " +
                           std::to_string(nnz));
  }
  for (std::size_t k = 0; k < rows.source.size(); ++k) {
    if (rows.source[k] < 0 || rows.source[k] >= n_pre) {
      throw invalid_argument(w + "rows.source[" + std::to_string(k) + "] = " + std::to_string(rows.source[k]) +
                             " outside [0, n_pre = " + std::to_string(n_pre) + ")");
    }
  }
}

}  // namespace

// What a window hands to the units: per-presynaptic, the events (offsets and
// local unit indices); per-synapse, a dense byte per source and step.
struct projection::staging {
  bool device = false;
  host_array<std::int64_t> offsets;   // max_steps + 1
  host_array<std::int64_t> elements;  // max_steps * units
  host_array<std::uint8_t> dense;     // max_steps * sources
  host_array<float> g_f32;            // device: g_post comes back here
  host_array<double> g_f64;
  buffer<std::int64_t> d_offsets, d_elements;
  buffer<std::uint8_t> d_dense;
  buffer<float> d_g_f32;
  buffer<double> d_g_f64;
};

projection::projection(csr_connectivity rows, std::int64_t n_pre, projection_config config)
    : mode_(config.mode), n_pre_(n_pre), max_steps_(config.max_window_steps) {
  check_rows(rows, n_pre);
  if (max_steps_ < 1 || max_steps_ >= max_spike_window_steps) {
    throw invalid_argument("projection: max_window_steps = " + std::to_string(max_steps_) +
                           ", must lie in [1, 2^24)");
  }
  sources_.assign(rows.source.begin(), rows.source.end());
  std::sort(sources_.begin(), sources_.end());
  sources_.erase(std::unique(sources_.begin(), sources_.end()), sources_.end());
  const auto n_src = static_cast<std::int64_t>(sources_.size());
  const auto nnz = static_cast<std::int64_t>(rows.source.size());
  const std::int64_t n_post = rows.n_post;
  // Per-synapse windows are dense over the sources; the map needs at least
  // one (a rank whose rows have no synapse gets one that never spikes).
  const std::int64_t n_dense = std::max<std::int64_t>(n_src, 1);
  for (auto& s : rows.source) {
    s = static_cast<std::int32_t>(std::lower_bound(sources_.begin(), sources_.end(), std::int64_t{s}) - sources_.begin());
  }
  population_config cfg = config.synapses;
  cfg.units = mode_ == synapse_mode::per_synapse ? nnz : n_src;
  cfg.batch = 1;
  cfg.host_input_staging = false;  // the projection stages its own input
  pop_ = std::make_unique<population>(std::move(cfg));
  map_ = std::make_unique<postsynaptic_map>(mode_ == synapse_mode::per_synapse
                                                ? postsynaptic_map::per_synapse(*pop_, std::move(rows), n_dense)
                                                : postsynaptic_map(*pop_, std::move(rows)));
  auto st = std::make_unique<staging>();
  st->device = pop_->backend() == backend::cuda;
  const bool pinned = st->device;
  if (mode_ == synapse_mode::per_presynaptic) {
    st->offsets = host_array<std::int64_t>(max_steps_ + 1, pinned, "window spike offsets");
    st->elements = host_array<std::int64_t>(max_steps_ * n_src, pinned, "window spikes");
  } else {
    st->dense = host_array<std::uint8_t>(max_steps_ * n_dense, pinned, "window spike bytes");
  }
  if (st->device) {
    if (mode_ == synapse_mode::per_presynaptic) {
      st->d_offsets = pop_->make_buffer<std::int64_t>(max_steps_ + 1, "window spike offsets");
      st->d_elements = pop_->make_buffer<std::int64_t>(std::max<std::int64_t>(max_steps_ * n_src, 1), "window spikes");
    } else {
      st->d_dense = pop_->make_buffer<std::uint8_t>(max_steps_ * n_dense, "window spike bytes");
    }
    if (pop_->precision() == precision::float32) {
      st->g_f32 = host_array<float>(max_steps_ * n_post, true, "window g_post");
      st->d_g_f32 = pop_->make_buffer<float>(std::max<std::int64_t>(max_steps_ * n_post, 1), "window g_post");
    } else {
      st->g_f64 = host_array<double>(max_steps_ * n_post, true, "window g_post");
      st->d_g_f64 = pop_->make_buffer<double>(std::max<std::int64_t>(max_steps_ * n_post, 1), "window g_post");
    }
  }
  staging_ = std::move(st);
}

projection::~projection() = default;
projection::projection(projection&&) noexcept = default;
projection& projection::operator=(projection&&) noexcept = default;

std::int64_t projection::n_post() const noexcept { return map_->n_post(); }
std::int64_t projection::synapses() const noexcept { return map_->synapses(); }

template <class Real>
void projection::step_window(std::int64_t steps, host_span<const spike_word> arriving, host_span<Real> g_post) {
  const std::string w = "projection::step_window: ";
  constexpr precision want = std::is_same_v<Real, float> ? precision::float32 : precision::float64;
  if (pop_->precision() != want) {
    throw invalid_argument(w + "g_post is " + (want == precision::float32 ? "float32" : "float64") +
                           ", the units are " + to_string(pop_->precision()));
  }
  if (steps < 1 || steps > max_steps_) {
    throw invalid_argument(w + "steps = " + std::to_string(steps) + ", must lie in [1, max_window_steps = " +
                           std::to_string(max_steps_) + "]");
  }
  const std::int64_t n_post = map_->n_post();
  if (g_post.size < steps * n_post) {
    throw invalid_argument(w + "g_post holds " + std::to_string(g_post.size) + " values, needs steps * n_post = " +
                           std::to_string(steps * n_post));
  }
  for (std::int64_t i = 0; i < arriving.size; ++i) {
    const spike_word s = arriving.data[i];
    if (spike_step(s) >= steps || (i > 0 && arriving.data[i - 1] > s)) {
      throw invalid_argument(w + "arriving spike " + std::to_string(i) + " (step " + std::to_string(spike_step(s)) +
                             ", neuron " + std::to_string(spike_neuron(s)) + "): " +
                             (spike_step(s) >= steps ? "step outside the window of " + std::to_string(steps)
                                                     : std::string("spikes must be sorted ascending")));
    }
  }
  staging& st = *staging_;
  const auto n_src = static_cast<std::int64_t>(sources_.size());
  const std::int64_t n_dense = std::max<std::int64_t>(n_src, 1);  // bytes per step, per-synapse mode
  // The spikes as the units' input: a step's spikes are ascending by neuron,
  // so one merge walk per step against the sorted sources.
  std::int64_t events = 0;
  if (mode_ == synapse_mode::per_presynaptic) {
    st.offsets.data()[0] = 0;
  } else {
    std::fill(st.dense.data(), st.dense.data() + steps * n_dense, std::uint8_t{0});
  }
  std::int64_t i = 0;
  for (std::int64_t k = 0; k < steps; ++k) {
    auto src = sources_.begin();
    std::int64_t prev = -1;
    for (; i < arriving.size && spike_step(arriving.data[i]) == k; ++i) {
      const std::int64_t neuron = spike_neuron(arriving.data[i]);
      if (neuron == prev) continue;
      prev = neuron;
      src = std::lower_bound(src, sources_.end(), neuron);
      if (src == sources_.end() || *src != neuron) continue;
      const std::int64_t unit = src - sources_.begin();
      if (mode_ == synapse_mode::per_presynaptic) {
        st.elements.data()[events++] = unit;
      } else {
        st.dense.data()[k * n_dense + unit] = 1;
      }
    }
    if (mode_ == synapse_mode::per_presynaptic) st.offsets.data()[k + 1] = events;
  }
  if (!st.device) {
    // The map takes exactly steps * n_post values; g_post may hold more.
    const host_span<Real> g_out(g_post.data, steps * n_post);
    if (mode_ == synapse_mode::per_presynaptic) {
      map_->step_window<Real>(*pop_, steps,
                              events_window(host_span<const std::int64_t>(st.offsets.data(), steps + 1),
                                            host_span<const std::int64_t>(st.elements.data(), events)),
                              g_out);
    } else {
      map_->step_window<Real>(*pop_, steps,
                              presynaptic_window(host_span<const std::uint8_t>(st.dense.data(), steps * n_dense)),
                              g_out);
    }
    return;
  }
  // CUDA: pinned host -> device, the window, device -> pinned host -> g_post.
  buffer<Real>& d_g = [&]() -> buffer<Real>& {
    if constexpr (std::is_same_v<Real, float>) return st.d_g_f32;
    else return st.d_g_f64;
  }();
  Real* h_g = [&]() {
    if constexpr (std::is_same_v<Real, float>) return st.g_f32.data();
    else return st.g_f64.data();
  }();
  const auto d_out = device_span<Real>(d_g.device_view().data, steps * n_post);
  if (mode_ == synapse_mode::per_presynaptic) {
    detail::copy_bytes(st.d_offsets.device_view().data, memory_space::device, st.offsets.data(), memory_space::host,
                       static_cast<std::size_t>(steps + 1) * sizeof(std::int64_t), nullptr);
    if (events > 0) {
      detail::copy_bytes(st.d_elements.device_view().data, memory_space::device, st.elements.data(),
                         memory_space::host, static_cast<std::size_t>(events) * sizeof(std::int64_t), nullptr);
    }
    map_->step_window_async<Real>(
        *pop_, steps,
        events_window(device_span<const std::int64_t>(st.d_offsets.device_view().data, steps + 1),
                      device_span<const std::int64_t>(st.d_elements.device_view().data, events)),
        d_out);
  } else {
    detail::copy_bytes(st.d_dense.device_view().data, memory_space::device, st.dense.data(), memory_space::host,
                       static_cast<std::size_t>(steps * n_dense), nullptr);
    map_->step_window_async<Real>(
        *pop_, steps, presynaptic_window(device_span<const std::uint8_t>(st.d_dense.device_view().data, steps * n_dense)),
        d_out);
  }
  // The copies above ran on the current device's default stream, the window
  // on the units' device: wait for the units' device before reading g_post
  // (and before the next window overwrites the staging buffers), also when
  // there is no g_post to read (no rows).
  pop_->synchronize();
  if (steps * n_post > 0) {
    detail::copy_bytes(h_g, memory_space::host, d_out.data, memory_space::device,
                       static_cast<std::size_t>(steps * n_post) * sizeof(Real), nullptr);
    std::copy(h_g, h_g + steps * n_post, g_post.data);
  }
}

template void projection::step_window<float>(std::int64_t, host_span<const spike_word>, host_span<float>);
template void projection::step_window<double>(std::int64_t, host_span<const spike_word>, host_span<double>);

}  // namespace bionmda
