// postsynaptic_map: validation of connectivity, which is held in the
// population's memory; the sums run in the population's backend.
#include "bionmda/postsynaptic.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "bionmda/detail/error_macros.hpp"
#include "bionmda/detail/mg_block.hpp"

namespace bionmda {
double mg_block_current(double g, double V, const mg_block& mg) {
  return detail::mg_current(g, V, make_mg_coefficients<double>(mg));
}

namespace detail {
namespace {

// units: the range of source indices (population units in per-presynaptic
// mode, presynaptic neurons in per-synapse mode); batch: the population's B.
void validate(const csr_connectivity& c, const mg_block& mg, std::int64_t units, std::int64_t batch) {
  BIONMDA_EXPECTS(c.n_post >= 0, "connectivity n_post must be >= 0, got " << c.n_post);
  // The outputs g_post, V and I hold B * n_post values: that count must exist.
  BIONMDA_EXPECTS(c.n_post == 0 || batch <= INT64_MAX / c.n_post,
                  "connectivity n_post * batch (the outputs' size) overflows 64 bits: " << c.n_post << " * "
                                                                                        << batch);
  BIONMDA_EXPECTS(c.n_post < INT64_MAX && static_cast<std::int64_t>(c.row_offsets.size()) == c.n_post + 1,
                  "connectivity row_offsets has " << c.row_offsets.size() << " entries; expected n_post + 1 = "
                                                  << c.n_post << " + 1");
  BIONMDA_EXPECTS(c.row_offsets.front() == 0,
                  "connectivity row_offsets[0] must be 0, got " << c.row_offsets.front());
  for (std::int64_t j = 0; j < c.n_post; ++j) {
    BIONMDA_EXPECTS(c.row_offsets[static_cast<std::size_t>(j + 1)] >= c.row_offsets[static_cast<std::size_t>(j)],
                    "connectivity row_offsets must be non-decreasing: row_offsets[" << j + 1 << "] = "
                        << c.row_offsets[static_cast<std::size_t>(j + 1)] << " < row_offsets[" << j
                        << "] = " << c.row_offsets[static_cast<std::size_t>(j)]);
  }
  const std::int64_t nnz = c.row_offsets.back();
  BIONMDA_EXPECTS(static_cast<std::int64_t>(c.source.size()) == nnz,
                  "connectivity source has " << c.source.size() << " entries; row_offsets[n_post] = " << nnz);
  BIONMDA_EXPECTS(static_cast<std::int64_t>(c.gmax.size()) == nnz,
                  "connectivity gmax has " << c.gmax.size() << " entries; row_offsets[n_post] = " << nnz);
  for (std::size_t k = 0; k < c.source.size(); ++k) {
    BIONMDA_EXPECTS(c.source[k] >= 0 && c.source[k] < units,
                    "connectivity source[" << k << "] = " << c.source[k] << " is out of range [0, " << units << ")");
    BIONMDA_EXPECTS(std::isfinite(c.gmax[k]), "connectivity gmax[" << k << "] must be finite, got " << c.gmax[k]);
  }
  BIONMDA_EXPECTS(std::isfinite(mg.E), "mg_block E must be finite, got " << mg.E);
  BIONMDA_EXPECTS(std::isfinite(mg.cc_Mg) && mg.cc_Mg >= 0, "mg_block cc_Mg must be finite and >= 0 mM, got " << mg.cc_Mg);
  BIONMDA_EXPECTS(std::isfinite(mg.alpha), "mg_block alpha must be finite, got " << mg.alpha);
  BIONMDA_EXPECTS(std::isfinite(mg.beta) && mg.beta > 0, "mg_block beta must be finite and > 0 mM, got " << mg.beta);
  BIONMDA_EXPECTS(std::isfinite(mg.V_offset), "mg_block V_offset must be finite, got " << mg.V_offset);
}

// A host vector as a buffer in the population's memory.
template <class T, class From>
buffer<T> to_buffer(const population& pop, const std::vector<From>& v, const char* what) {
  buffer<T> b = pop.make_buffer<T>(static_cast<std::int64_t>(v.size()), what);
  if constexpr (std::is_same_v<T, From>) {
    b.copy_from(host_span<const T>(v.data(), static_cast<std::int64_t>(v.size())));
  } else {
    const std::vector<T> converted(v.begin(), v.end());
    b.copy_from(host_span<const T>(converted));
  }
  return b;
}

}  // namespace
}  // namespace detail

void postsynaptic_map::upload(const population& pop, const csr_connectivity& conn) {
  units_ = pop.units();
  batch_ = pop.batch();
  backend_ = pop.backend();
  precision_ = pop.precision();
  n_post_ = conn.n_post;
  nnz_ = conn.row_offsets.back();
  row_offsets_ = detail::to_buffer<std::int64_t>(pop, conn.row_offsets, "CSR row offsets");
  source_ = detail::to_buffer<std::int32_t>(pop, conn.source, "CSR sources");
  if (precision_ == precision::float32) {
    gmax_f32_ = detail::to_buffer<float>(pop, conn.gmax, "CSR gmax");
  } else {
    gmax_f64_ = detail::to_buffer<double>(pop, conn.gmax, "CSR gmax");
  }
}

postsynaptic_map::postsynaptic_map(const population& pop, csr_connectivity conn, mg_block mg) : mg_(mg) {
  detail::validate(conn, mg, pop.units(), pop.batch());
  upload(pop, conn);
}

postsynaptic_map postsynaptic_map::per_synapse(population& pop, csr_connectivity conn, std::int64_t n_pre,
                                               mg_block mg) {
  BIONMDA_EXPECTS(n_pre >= 1 && n_pre <= INT32_MAX, "per-synapse n_pre must be in [1, 2^31), got " << n_pre);
  BIONMDA_EXPECTS(pop.batch() <= INT64_MAX / n_pre, "per-synapse presynaptic mask size n_pre * batch overflows 64 bits: "
                                                        << n_pre << " * " << pop.batch());
  detail::validate(conn, mg, n_pre, pop.batch());
  const std::int64_t nnz = conn.row_offsets.back();
  BIONMDA_EXPECTS(pop.units() == nnz, "per-synapse mode needs one unit per synapse: the population has "
                                          << pop.units() << " units, the connectivity " << nnz << " synapses");
  // The per-post sum reads g[b][k] of synapse k itself: the state index is k.
  postsynaptic_map map;
  map.mg_ = mg;
  map.upload(pop, conn);
  map.n_pre_ = n_pre;
  map.per_synapse_ = true;
  // Last, after everything that can fail: the population's sources.
  pop.set_presynaptic_sources(host_span<const std::int32_t>(conn.source), n_pre);
  return map;
}

postsynaptic_map::postsynaptic_map() = default;
postsynaptic_map::~postsynaptic_map() = default;
postsynaptic_map::postsynaptic_map(postsynaptic_map&&) noexcept = default;
postsynaptic_map& postsynaptic_map::operator=(postsynaptic_map&&) noexcept = default;
std::int64_t postsynaptic_map::n_post() const noexcept { return n_post_; }
std::int64_t postsynaptic_map::synapses() const noexcept { return nnz_; }

template <class Real>
detail::post_args<Real> postsynaptic_map::args() const {
  const Real* gmax = nullptr;
  if constexpr (std::is_same_v<Real, float>) {
    gmax = gmax_f32_.data();
  } else {
    gmax = gmax_f64_.data();
  }
  return detail::post_args<Real>{row_offsets_.data(), source_.data(), gmax,    n_post_,
                                 units_,              batch_,         make_mg_coefficients<Real>(mg_)};
}

// Checks one call's population and outputs (every span, before anything runs).
template <class Real, class Span, class ConstSpan>
detail::post_outputs<Real> postsynaptic_map::outputs(const population& pop, Span g_post, ConstSpan V, Span I,
                                                     std::int64_t steps) const {
  constexpr bool device = std::is_same_v<Span, device_span<Real>>;
  const bionmda::backend expected = device ? backend::cuda : backend::cpu;
  BIONMDA_EXPECTS(row_offsets_.size() > 0, "this postsynaptic_map was moved from");
  BIONMDA_EXPECTS(pop.units() == units_ && pop.batch() == batch_ && pop.backend() == backend_,
                  "postsynaptic_map used with a population other than the one it was built for");
  BIONMDA_EXPECTS(backend_ == expected, (device ? "device-memory" : "host-memory")
                                            << " spans need the " << to_string(expected) << " backend; the "
                                            << "population is on " << to_string(backend_));
  BIONMDA_EXPECTS(pop.precision() == precision_, "postsynaptic_map built for a " << to_string(precision_)
                                                                                 << " population, used with a "
                                                                                 << to_string(pop.precision()) << " one");
  BIONMDA_EXPECTS((std::is_same_v<Real, float>) == (precision_ == precision::float32),
                  "output precision does not match the population's " << to_string(precision_));
  BIONMDA_EXPECTS(!per_synapse_ || pop.presynaptic_size() == n_pre_,
                  "the population's presynaptic size changed to " << pop.presynaptic_size()
                                                                  << " since this per-synapse map was built for " << n_pre_);
  const std::int64_t rows = n_post_ * batch_;
  if (steps != 1) {  // a window: g_post [K][B][n_post], no current
    BIONMDA_EXPECTS(steps >= 0, "a window needs steps >= 0, got " << steps);
    BIONMDA_EXPECTS(rows == 0 || steps <= INT64_MAX / rows,
                    "g_post of " << steps << " steps x " << rows << " rows overflows 64 bits");
  }
  BIONMDA_EXPECTS(g_post.size == steps * rows, "g_post has " << g_post.size << " elements; expected "
                                                             << (steps != 1 ? "K*B*n_post = " : "B*n_post = ")
                                                             << steps * rows);
  BIONMDA_EXPECTS(g_post.data != nullptr || g_post.size == 0, "g_post is a null pointer");
  BIONMDA_EXPECTS(V.size == 0 || V.size == rows, "V has " << V.size << " elements; expected 0 or B*n_post = " << rows);
  BIONMDA_EXPECTS(I.size == V.size, "I has " << I.size << " elements; expected " << V.size << " (as V)");
  BIONMDA_EXPECTS(V.size == 0 || (V.data != nullptr && I.data != nullptr), "V or I is a null pointer");
  return detail::post_outputs<Real>{g_post.data, V.size ? V.data : nullptr, V.size ? I.data : nullptr};
}

namespace {
template <class Span>
void check_pre_mask(const Span& pre, std::int64_t expected) {
  BIONMDA_EXPECTS(pre.size == expected,
                  "presynaptic spike mask has " << pre.size << " elements; expected B*n_pre = " << expected);
  BIONMDA_EXPECTS(pre.data != nullptr || pre.size == 0, "presynaptic spike mask is a null pointer");
}
}  // namespace

template <class Real>
void postsynaptic_map::step_async(population& pop, device_span<const std::uint8_t> pre_spikes,
                                  device_span<Real> g_post, device_span<const Real> V, device_span<Real> I,
                                  cudaStream_t stream) const {
  const detail::post_outputs<Real> out = outputs<Real>(pop, g_post, V, I);
  BIONMDA_EXPECTS(per_synapse_, "step_async needs a per-synapse map (postsynaptic_map::per_synapse)");
  check_pre_mask(pre_spikes, n_pre_ * batch_);
  pop.step_with_post(presynaptic_mask(pre_spikes), args<Real>(), out, stream);
}

template <class Real>
void postsynaptic_map::step(population& pop, host_span<const std::uint8_t> pre_spikes, host_span<Real> g_post,
                            host_span<const Real> V, host_span<Real> I) const {
  const detail::post_outputs<Real> out = outputs<Real>(pop, g_post, V, I);
  BIONMDA_EXPECTS(per_synapse_, "step needs a per-synapse map (postsynaptic_map::per_synapse)");
  check_pre_mask(pre_spikes, n_pre_ * batch_);
  pop.step_with_post(presynaptic_mask(pre_spikes), args<Real>(), out, nullptr);
}

template <class Real>
void postsynaptic_map::compute_async(population& pop, device_span<Real> g_post, device_span<const Real> V,
                                     device_span<Real> I, cudaStream_t stream) const {
  const detail::post_outputs<Real> out = outputs<Real>(pop, g_post, V, I);
  BIONMDA_EXPECTS(!per_synapse_, "compute_async is for per-presynaptic maps; a per-synapse map forms g_post in step");
  pop.sum_post(args<Real>(), out, stream);
}

template <class Real>
void postsynaptic_map::compute(population& pop, host_span<Real> g_post, host_span<const Real> V,
                               host_span<Real> I) const {
  const detail::post_outputs<Real> out = outputs<Real>(pop, g_post, V, I);
  BIONMDA_EXPECTS(!per_synapse_, "compute is for per-presynaptic maps; a per-synapse map forms g_post in step");
  pop.sum_post(args<Real>(), out, nullptr);
}

template <class Real>
Real* postsynaptic_map::window_history(const population& pop, std::int64_t steps) const {
  if (per_synapse_ || steps == 0) return nullptr;
  auto& h = [this]() -> buffer<Real>& {
    if constexpr (std::is_same_v<Real, float>) {
      return history_f32_;
    } else {
      return history_f64_;
    }
  }();
  const std::int64_t values = pop.window_history_values(steps);
  BIONMDA_EXPECTS(values >= 0 && values <= INT64_MAX / static_cast<std::int64_t>(sizeof(Real)),
                  "a window history of " << steps << " steps x " << units_ * batch_ << " elements overflows 64 bits");
  const std::int64_t need = std::max<std::int64_t>(1, values);
  if (h.size() < need) h = pop.make_buffer<Real>(need, "per-presynaptic window history");
  return h.data();
}

template <class Real>
void postsynaptic_map::step_window_async(population& pop, std::int64_t steps, const window_input& input,
                                         device_span<Real> g_post, cudaStream_t stream) const {
  const detail::post_outputs<Real> out = outputs<Real>(pop, g_post, device_span<const Real>{}, device_span<Real>{}, steps);
  pop.window_with_post<Real>(steps, input, args<Real>(), out.g_post, per_synapse_, window_history<Real>(pop, steps), stream);
}

template <class Real>
void postsynaptic_map::step_window(population& pop, std::int64_t steps, const window_input& input,
                                   host_span<Real> g_post) const {
  const detail::post_outputs<Real> out = outputs<Real>(pop, g_post, host_span<const Real>{}, host_span<Real>{}, steps);
  pop.window_with_post<Real>(steps, input, args<Real>(), out.g_post, per_synapse_, window_history<Real>(pop, steps), nullptr);
}

template void postsynaptic_map::step_window_async<float>(population&, std::int64_t, const window_input&,
                                                         device_span<float>, cudaStream_t) const;
template void postsynaptic_map::step_window_async<double>(population&, std::int64_t, const window_input&,
                                                          device_span<double>, cudaStream_t) const;
template void postsynaptic_map::step_window<float>(population&, std::int64_t, const window_input&,
                                                   host_span<float>) const;
template void postsynaptic_map::step_window<double>(population&, std::int64_t, const window_input&,
                                                    host_span<double>) const;

template void postsynaptic_map::compute_async<float>(population&, device_span<float>, device_span<const float>,
                                                     device_span<float>, cudaStream_t) const;
template void postsynaptic_map::compute_async<double>(population&, device_span<double>, device_span<const double>,
                                                      device_span<double>, cudaStream_t) const;
template void postsynaptic_map::compute<float>(population&, host_span<float>, host_span<const float>,
                                               host_span<float>) const;
template void postsynaptic_map::compute<double>(population&, host_span<double>, host_span<const double>,
                                                host_span<double>) const;
template void postsynaptic_map::step_async<float>(population&, device_span<const std::uint8_t>, device_span<float>,
                                                  device_span<const float>, device_span<float>, cudaStream_t) const;
template void postsynaptic_map::step_async<double>(population&, device_span<const std::uint8_t>,
                                                   device_span<double>, device_span<const double>,
                                                   device_span<double>, cudaStream_t) const;
template void postsynaptic_map::step<float>(population&, host_span<const std::uint8_t>, host_span<float>,
                                            host_span<const float>, host_span<float>) const;
template void postsynaptic_map::step<double>(population&, host_span<const std::uint8_t>, host_span<double>,
                                             host_span<const double>, host_span<double>) const;

}  // namespace bionmda
