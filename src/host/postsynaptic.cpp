// postsynaptic_map: validation of connectivity, dispatch to a backend, and the
// CPU per-post sum.
#include "bionmda/postsynaptic.hpp"

#include <cmath>

#include "bionmda/detail/error_macros.hpp"
#include "post_engine.hpp"

namespace bionmda {

double mg_block_current(double g, double V, const mg_block& mg) {
  return detail::mg_current(g, V, detail::make_mg_coeffs<double>(mg));
}

namespace detail {
namespace {

template <class Real>
class cpu_post_engine final : public post_engine {
 public:
  cpu_post_engine(const csr_connectivity& c, const mg_block& mg, std::int64_t units, std::int64_t batch)
      : offsets_(c.row_offsets), source_(c.source), gmax_(c.gmax.begin(), c.gmax.end()) {
    args_ = post_args<Real>{offsets_.data(), source_.data(), gmax_.data(), c.n_post, units, batch,
                            make_mg_coeffs<Real>(mg)};
  }
  void compute(const void* g_in, void* g_post_out, const void* V_in, void* I_out, cudaStream_t) const override {
    const auto* g = static_cast<const Real*>(g_in);
    auto* g_post = static_cast<Real*>(g_post_out);
    const auto* V = static_cast<const Real*>(V_in);
    auto* I = static_cast<Real*>(I_out);
    const post_args<Real> a = args_;
    const std::int64_t rows = a.n_post * a.batch;
#pragma omp parallel for schedule(static) if (rows >= 4096)
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t b = r / a.n_post;
      const std::int64_t j = r - b * a.n_post;
      const Real* gb = g + b * a.units;
      Real acc = 0;
      for (std::int64_t k = a.row_offsets[j]; k < a.row_offsets[j + 1]; ++k) acc += a.gmax[k] * gb[a.source[k]];
      g_post[r] = acc;
      if (V != nullptr) I[r] = mg_current(acc, V[r], a.mg);
    }
  }
  const void* args() const override { return &args_; }

 private:
  std::vector<std::int64_t> offsets_;
  std::vector<std::int32_t> source_;
  std::vector<Real> gmax_;
  post_args<Real> args_{};
};

// units: the range of source indices (population units in per-presynaptic
// mode, presynaptic neurons in per-synapse mode).
void validate(const csr_connectivity& c, const mg_block& mg, std::int64_t units) {
  BIONMDA_EXPECTS(c.n_post >= 0, "connectivity n_post must be >= 0, got " << c.n_post);
  BIONMDA_EXPECTS(static_cast<std::int64_t>(c.row_offsets.size()) == c.n_post + 1,
                  "connectivity row_offsets has " << c.row_offsets.size() << " entries; expected n_post + 1 = "
                                                  << c.n_post + 1);
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

}  // namespace

std::unique_ptr<post_engine> make_cpu_post_engine(const csr_connectivity& c, const mg_block& mg, precision p,
                                                  std::int64_t units, std::int64_t batch) {
  if (p == precision::float32) return std::make_unique<cpu_post_engine<float>>(c, mg, units, batch);
  return std::make_unique<cpu_post_engine<double>>(c, mg, units, batch);
}

}  // namespace detail

postsynaptic_map::postsynaptic_map(const population& pop, csr_connectivity conn, mg_block mg)
    : units_(pop.units()), batch_(pop.batch()), backend_(pop.backend()), precision_(pop.precision()) {
  detail::validate(conn, mg, pop.units());
  n_post_ = conn.n_post;
  nnz_ = conn.row_offsets.back();
  if (backend_ == backend::cuda) {
    engine_ = detail::make_cuda_post_engine(conn, mg, precision_, units_, batch_, pop.config().device);
  } else {
    engine_ = detail::make_cpu_post_engine(conn, mg, precision_, units_, batch_);
  }
}

postsynaptic_map postsynaptic_map::per_synapse(population& pop, csr_connectivity conn, std::int64_t n_pre,
                                               mg_block mg) {
  BIONMDA_EXPECTS(n_pre >= 1 && n_pre <= INT32_MAX, "per-synapse n_pre must be in [1, 2^31), got " << n_pre);
  detail::validate(conn, mg, n_pre);
  const std::int64_t nnz = conn.row_offsets.back();
  BIONMDA_EXPECTS(pop.units() == nnz, "per-synapse mode needs one unit per synapse: the population has "
                                          << pop.units() << " units, the connectivity " << nnz << " synapses");
  // The per-post sum reads g[b][k] of synapse k itself: the state index is k.
  postsynaptic_map map;
  map.units_ = pop.units();
  map.batch_ = pop.batch();
  map.backend_ = pop.backend();
  map.precision_ = pop.precision();
  map.n_post_ = conn.n_post;
  map.nnz_ = nnz;
  map.n_pre_ = n_pre;
  map.per_synapse_ = true;
  if (map.backend_ == backend::cuda) {
    map.engine_ = detail::make_cuda_post_engine(conn, mg, map.precision_, map.units_, map.batch_, pop.config().device);
  } else {
    map.engine_ = detail::make_cpu_post_engine(conn, mg, map.precision_, map.units_, map.batch_);
  }
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

namespace {
template <class Real>
const void* state_g(population& pop) {
  if constexpr (std::is_same_v<Real, float>) {
    return pop.view_f32().g;
  } else {
    return pop.view_f64().g;
  }
}
}  // namespace

#define BIONMDA_CHECK_POST_CALL(memory_name, expected_backend)                                             \
  BIONMDA_EXPECTS(engine_ != nullptr, "this postsynaptic_map was moved from");                          \
  BIONMDA_EXPECTS(pop.units() == units_ && pop.batch() == batch_ && pop.backend() == backend_,           \
                  "postsynaptic_map used with a population other than the one it was built for");      \
  BIONMDA_EXPECTS(backend_ == expected_backend,                                                          \
                  memory_name << " spans need the " << to_string(expected_backend) << " backend; the "   \
                              << "population is on " << to_string(backend_));                            \
  BIONMDA_EXPECTS(pop.precision() == precision_,                                                         \
                  "postsynaptic_map built for a " << to_string(precision_) << " population, used with a "  \
                                                  << to_string(pop.precision()) << " one");              \
  BIONMDA_EXPECTS((std::is_same_v<Real, float>) == (precision_ == precision::float32),                   \
                  "output precision does not match the population's " << to_string(precision_));         \
  BIONMDA_EXPECTS(!per_synapse_ || pop.presynaptic_size() == n_pre_,                                     \
                  "the population's presynaptic size changed to " << pop.presynaptic_size()             \
                      << " since this per-synapse map was built for " << n_pre_);                        \
  BIONMDA_EXPECTS(g_post.data != nullptr || g_post.size == 0, "g_post is a null pointer");              \
  BIONMDA_EXPECTS(V.size == 0 || (V.data != nullptr && I.data != nullptr), "V or I is a null pointer");  \
  BIONMDA_EXPECTS(g_post.size == n_post_ * batch_,                                                       \
                  "g_post has " << g_post.size << " elements; expected B*n_post = " << n_post_ * batch_); \
  BIONMDA_EXPECTS(V.size == 0 || V.size == n_post_ * batch_,                                             \
                  "V has " << V.size << " elements; expected 0 or B*n_post = " << n_post_ * batch_);     \
  BIONMDA_EXPECTS(I.size == V.size, "I has " << I.size << " elements; expected " << V.size << " (as V)")

template <class Real>
void postsynaptic_map::step_async(population& pop, device_span<const std::uint8_t> pre_spikes,
                                  device_span<Real> g_post, device_span<const Real> V, device_span<Real> I,
                                  cudaStream_t stream) const {
  BIONMDA_CHECK_POST_CALL("device-memory", backend::cuda);
  BIONMDA_EXPECTS(per_synapse_, "step_async needs a per-synapse map (postsynaptic_map::per_synapse)");
  BIONMDA_EXPECTS(pre_spikes.size == n_pre_ * batch_, "presynaptic spike mask has " << pre_spikes.size
                                                          << " elements; expected B*n_pre = " << n_pre_ * batch_);
  pop.step_fused_post_(pre_spikes.data, memory_space::device, engine_->args(), g_post.data,
                       V.size ? V.data : nullptr, V.size ? I.data : nullptr, stream);
}

template <class Real>
void postsynaptic_map::step(population& pop, host_span<const std::uint8_t> pre_spikes, host_span<Real> g_post,
                            host_span<const Real> V, host_span<Real> I) const {
  BIONMDA_CHECK_POST_CALL("host-memory", backend::cpu);
  BIONMDA_EXPECTS(per_synapse_, "step needs a per-synapse map (postsynaptic_map::per_synapse)");
  BIONMDA_EXPECTS(pre_spikes.size == n_pre_ * batch_, "presynaptic spike mask has " << pre_spikes.size
                                                          << " elements; expected B*n_pre = " << n_pre_ * batch_);
  pop.step_fused_post_(pre_spikes.data, memory_space::host, engine_->args(), g_post.data,
                       V.size ? V.data : nullptr, V.size ? I.data : nullptr, nullptr);
}

template <class Real>
void postsynaptic_map::compute_async(population& pop, device_span<Real> g_post, device_span<const Real> V,
                                     device_span<Real> I, cudaStream_t stream) const {
  BIONMDA_CHECK_POST_CALL("device-memory", backend::cuda);
  BIONMDA_EXPECTS(!per_synapse_, "compute_async is for per-presynaptic maps; a per-synapse map forms g_post in step");
  engine_->compute(state_g<Real>(pop), g_post.data, V.size ? V.data : nullptr, V.size ? I.data : nullptr, stream);
}

template <class Real>
void postsynaptic_map::compute(population& pop, host_span<Real> g_post, host_span<const Real> V,
                               host_span<Real> I) const {
  BIONMDA_CHECK_POST_CALL("host-memory", backend::cpu);
  BIONMDA_EXPECTS(!per_synapse_, "compute is for per-presynaptic maps; a per-synapse map forms g_post in step");
  engine_->compute(state_g<Real>(pop), g_post.data, V.size ? V.data : nullptr, V.size ? I.data : nullptr, nullptr);
}

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
