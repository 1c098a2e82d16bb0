// population: validation and bookkeeping in front of a backend engine.
#include "bionmda/population.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <cmath>
#include <cstdio>

#include "bionmda/detail/counter_rng.hpp"
#include "bionmda/detail/error_macros.hpp"
#include "engine.hpp"
#include "model_setup.hpp"

namespace bionmda {
namespace {

// Elements per chunk when generating initial values on the host.
constexpr std::int64_t init_chunk = 1 << 20;

std::int64_t checked_elements(std::int64_t units, std::int64_t batch) {
  BIONMDA_EXPECTS(units >= 0, "units (N) must be >= 0, got " << units);
  BIONMDA_EXPECTS(batch >= 1, "batch (B) must be >= 1, got " << batch);
  BIONMDA_EXPECTS(units == 0 || batch <= INT64_MAX / units,
                  "units * batch overflows 64 bits: " << units << " * " << batch);
  return units * batch;
}

void apply_initial(detail::engine& e, detail::field f, const initial_value& v,
                   std::int64_t units, std::int64_t batch, cudaStream_t stream) {
  const std::int64_t total = units * batch;
  switch (v.get_kind()) {
    case initial_value::kind::constant:
      e.fill(f, v.low(), stream);
      return;
    case initial_value::kind::per_unit: {
      const auto n = static_cast<std::int64_t>(v.values().size());
      if (n == total) {
        e.write(f, 0, total, v.values().data(), stream);
      } else {
        for (std::int64_t b = 0; b < batch; ++b) e.write(f, b * units, units, v.values().data(), stream);
      }
      return;
    }
    case initial_value::kind::uniform_random: {
      const std::uint64_t key = detail::stream_key(
          v.seed(), f == detail::field::g ? detail::rng_init_g : detail::rng_init_x, 0);
      std::vector<double> chunk(static_cast<std::size_t>(std::min(total, init_chunk)));
      for (std::int64_t start = 0; start < total; start += init_chunk) {
        const std::int64_t count = std::min(init_chunk, total - start);
        for (std::int64_t k = 0; k < count; ++k) {
          const double u = detail::bits_to_unit_double(
              detail::draw_bits(key, static_cast<std::uint64_t>(start + k)));
          chunk[static_cast<std::size_t>(k)] = std::min(v.high(), v.low() + (v.high() - v.low()) * u);
        }
        e.write(f, start, count, chunk.data(), stream);
      }
      return;
    }
  }
}

void notice_cpu_fallback() {
  static bool said = false;
  if (said) return;
  said = true;
  std::fprintf(stderr, "bionmda: no usable CUDA device (%s); using the CPU backend\n",
               cuda_unavailable_reason().c_str());
}

}  // namespace

population::population(population_config config) : config_(std::move(config)) {
  build(nullptr, nullptr, nullptr, memory_space::host, config_.precision);
}

population::population(population_config config, state_view<float> external) : config_(std::move(config)) {
  BIONMDA_EXPECTS(external.units == config_.units && external.batch == config_.batch,
                  "external state is " << external.units << " x " << external.batch << "; config is "
                                       << config_.units << " x " << config_.batch);
  build(external.g, external.x, external.countdown, external.space, precision::float32);
}

population::population(population_config config, state_view<double> external) : config_(std::move(config)) {
  BIONMDA_EXPECTS(external.units == config_.units && external.batch == config_.batch,
                  "external state is " << external.units << " x " << external.batch << "; config is "
                                       << config_.units << " x " << config_.batch);
  build(external.g, external.x, external.countdown, external.space, precision::float64);
}

void population::build(void* g, void* x, std::uint16_t* countdown, memory_space space, bionmda::precision p) {
  const std::int64_t total = checked_elements(config_.units, config_.batch);
  const detail::prepared_model model =
      detail::prepare_model(config_.params, config_.dt, config_.units);
  detail::validate_initial_value(config_.g0, "g", config_.units, config_.batch);
  detail::validate_initial_value(config_.x0, "x", config_.units, config_.batch);
  detail::check_representable(config_.params, config_.dt, config_.units, config_.precision);
  detail::engine_shape shape{config_.units, config_.batch};
  const bool external = g != nullptr || x != nullptr || countdown != nullptr;
  if (external) {
    BIONMDA_EXPECTS(config_.backend != backend::automatic,
                    "a population over external buffers needs an explicit backend (cpu or cuda), not auto");
    BIONMDA_EXPECTS(config_.precision == p, "external state is " << to_string(p) << " but config.precision is "
                                                                  << to_string(config_.precision));
    BIONMDA_EXPECTS(total == 0 || (g != nullptr && x != nullptr && countdown != nullptr),
                    "external state needs non-null g, x and countdown pointers");
    const memory_space want = config_.backend == backend::cuda ? memory_space::device : memory_space::host;
    BIONMDA_EXPECTS(space == want, "external state is in " << (space == memory_space::device ? "device" : "host")
                                                           << " memory; the " << to_string(config_.backend)
                                                           << " backend needs "
                                                           << (want == memory_space::device ? "device" : "host")
                                                           << " memory");
    if (want == memory_space::device) {
      for (auto [ptr, name] : {std::pair<const void*, const char*>{g, "g"}, {x, "x"}, {countdown, "countdown"}}) {
        BIONMDA_EXPECTS(reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0,
                        "external " << name << " must be 16-byte aligned in device memory (the step uses wide loads)");
      }
    }
    shape.external_g = g;
    shape.external_x = x;
    shape.external_countdown = countdown;
  }

  backend_ = resolve_backend(config_.backend);
  if (backend_ == backend::cuda) {
    engine_ = detail::make_cuda_engine(model, shape, config_.precision, config_.device,
                                       config_.host_input_staging);
  } else {
    if (config_.backend == backend::automatic) notice_cpu_fallback();
    engine_ = detail::make_cpu_engine(model, shape, config_.precision);
  }
  reset();
}

population::~population() = default;
population::population(population&&) noexcept = default;
population& population::operator=(population&&) noexcept = default;

void population::check_alive() const {
  BIONMDA_EXPECTS(engine_ != nullptr, "this population was moved from and holds no state");
}

std::int64_t population::units() const noexcept { return config_.units; }
std::int64_t population::batch() const noexcept { return config_.batch; }
std::int64_t population::elements() const noexcept { return config_.units * config_.batch; }
double population::dt() const noexcept { return config_.dt; }
std::int64_t population::step_count() const noexcept { return steps_; }
double population::time() const noexcept { return static_cast<double>(steps_) * config_.dt; }
backend population::backend() const noexcept { return backend_; }
precision population::precision() const noexcept { return config_.precision; }
const population_config& population::config() const noexcept { return config_; }
std::int64_t population::presynaptic_size() const noexcept { return n_pre_; }

std::int64_t population::pulse_steps(std::int64_t unit) const {
  check_alive();
  BIONMDA_EXPECTS(unit >= 0 && unit < config_.units,
                  "unit index " << unit << " out of range [0, " << config_.units << ")");
  return detail::pulse_steps_for(config_.params.T_dur.is_per_unit()
                                     ? config_.params.T_dur.at(unit)
                                     : config_.params.T_dur.uniform(),
                                 config_.dt);
}

void population::set_presynaptic_sources(host_span<const std::int32_t> sources,
                                         std::int64_t n_pre, cudaStream_t stream) {
  check_alive();
  BIONMDA_EXPECTS(sources.size == config_.units,
                  "presynaptic sources has " << sources.size << " entries; expected N = "
                                             << config_.units);
  BIONMDA_EXPECTS(n_pre >= 1 || config_.units == 0,
                  "presynaptic population size n_pre must be >= 1, got " << n_pre);
  BIONMDA_EXPECTS(n_pre >= 0 && n_pre <= INT32_MAX,
                  "presynaptic population size n_pre must be in [0, 2^31), got " << n_pre);
  BIONMDA_EXPECTS(sources.data != nullptr || sources.size == 0,
                  "presynaptic sources is a null pointer");
  for (std::int64_t i = 0; i < sources.size; ++i) {
    const std::int32_t s = sources.data[i];
    BIONMDA_EXPECTS(s >= 0 && s < n_pre, "presynaptic source[" << i << "] = " << s
                                                               << " is out of range [0, " << n_pre
                                                               << ")");
  }
  engine_->set_sources(sources.data, n_pre, stream);
  n_pre_ = n_pre;
}

namespace {
void check_mask(const std::uint8_t* data, std::int64_t size, std::int64_t expected,
                const char* what) {
  BIONMDA_EXPECTS(size == expected,
                  what << " has " << size << " elements; expected " << expected);
  BIONMDA_EXPECTS(data != nullptr || size == 0, what << " is a null pointer");
}
}  // namespace

void population::step_async(cudaStream_t stream) {
  check_alive();
  engine_->step(detail::step_request{}, stream);
  ++steps_;
}

void population::step(cudaStream_t stream) {
  step_async(stream);
  engine_->synchronize(stream);
}

void population::step(host_span<const std::uint8_t> spikes, cudaStream_t stream) {
  check_alive();
  check_mask(spikes.data, spikes.size, elements(), "spike mask [B][N]");
  detail::step_request r;
  r.input = detail::step_request::kind::dense;
  r.mask = spikes.data;
  r.space = memory_space::host;
  engine_->step(r, stream);
  ++steps_;
  engine_->synchronize(stream);
}

void population::step_async(device_span<const std::uint8_t> spikes, cudaStream_t stream) {
  check_alive();
  BIONMDA_EXPECTS(backend_ == backend::cuda,
                  "a device-memory spike mask needs the CUDA backend; this population is on the "
                  "CPU (pass a host_span)");
  check_mask(spikes.data, spikes.size, elements(), "spike mask [B][N]");
  detail::step_request r;
  r.input = detail::step_request::kind::dense;
  r.mask = spikes.data;
  r.space = memory_space::device;
  engine_->step(r, stream);
  ++steps_;
}

void population::step(device_span<const std::uint8_t> spikes, cudaStream_t stream) {
  step_async(spikes, stream);
  engine_->synchronize(stream);
}

void population::step_presynaptic(host_span<const std::uint8_t> pre_spikes, cudaStream_t stream) {
  check_alive();
  BIONMDA_EXPECTS(n_pre_ > 0 || config_.units == 0,
                  "step_presynaptic needs set_presynaptic_sources first");
  check_mask(pre_spikes.data, pre_spikes.size, n_pre_ * config_.batch,
             "presynaptic spike mask [B][N_pre]");
  detail::step_request r;
  r.input = detail::step_request::kind::presynaptic;
  r.mask = pre_spikes.data;
  r.space = memory_space::host;
  engine_->step(r, stream);
  ++steps_;
  engine_->synchronize(stream);
}

void population::step_presynaptic_async(device_span<const std::uint8_t> pre_spikes,
                                        cudaStream_t stream) {
  check_alive();
  BIONMDA_EXPECTS(backend_ == backend::cuda,
                  "a device-memory spike mask needs the CUDA backend; this population is on the "
                  "CPU (pass a host_span)");
  BIONMDA_EXPECTS(n_pre_ > 0 || config_.units == 0,
                  "step_presynaptic needs set_presynaptic_sources first");
  check_mask(pre_spikes.data, pre_spikes.size, n_pre_ * config_.batch,
             "presynaptic spike mask [B][N_pre]");
  detail::step_request r;
  r.input = detail::step_request::kind::presynaptic;
  r.mask = pre_spikes.data;
  r.space = memory_space::device;
  engine_->step(r, stream);
  ++steps_;
}

void population::step_presynaptic(device_span<const std::uint8_t> pre_spikes,
                                  cudaStream_t stream) {
  step_presynaptic_async(pre_spikes, stream);
  engine_->synchronize(stream);
}

void population::step_fused_post_(const std::uint8_t* pre_mask, memory_space space, const void* post,
                                  void* g_post, const void* V, void* I, cudaStream_t stream) {
  check_alive();
  detail::step_request r;
  r.input = detail::step_request::kind::presynaptic;
  r.mask = pre_mask;
  r.space = space;
  r.post = post;
  r.g_post = g_post;
  r.V = V;
  r.I = I;
  engine_->step(r, stream);
  ++steps_;
}

void population::step_poisson_async(double rate_hz, std::uint64_t seed, cudaStream_t stream) {
  check_alive();
  BIONMDA_EXPECTS(std::isfinite(rate_hz) && rate_hz >= 0,
                  "Poisson rate must be finite and >= 0 Hz, got " << rate_hz);
  const double p = rate_hz * config_.dt / 1000.0;
  detail::step_request r;
  r.input = detail::step_request::kind::poisson;
  r.poisson_key = detail::stream_key(seed, detail::rng_poisson, static_cast<std::uint64_t>(steps_));
  r.poisson_always = p >= 1.0;
  r.poisson_threshold = p >= 1.0 ? UINT64_MAX : static_cast<std::uint64_t>(std::ldexp(p, 64));
  engine_->step(r, stream);
  ++steps_;
}

void population::step_poisson(double rate_hz, std::uint64_t seed, cudaStream_t stream) {
  step_poisson_async(rate_hz, seed, stream);
  engine_->synchronize(stream);
}

std::vector<double> population::g(cudaStream_t stream) const {
  check_alive();
  std::vector<double> out(static_cast<std::size_t>(elements()));
  engine_->read(detail::field::g, 0, elements(), out.data(), stream);
  return out;
}

std::vector<double> population::x(cudaStream_t stream) const {
  check_alive();
  std::vector<double> out(static_cast<std::size_t>(elements()));
  engine_->read(detail::field::x, 0, elements(), out.data(), stream);
  return out;
}

std::vector<std::uint16_t> population::countdown(cudaStream_t stream) const {
  check_alive();
  std::vector<std::uint16_t> out(static_cast<std::size_t>(elements()));
  engine_->read_countdown(out.data(), stream);
  return out;
}

namespace {
void check_state_values(host_span<const double> v, std::int64_t units, std::int64_t batch,
                        const char* name) {
  BIONMDA_EXPECTS(v.size == units || v.size == units * batch,
                  name << " has " << v.size << " values; expected N = " << units
                       << " or N*B = " << units * batch);
  BIONMDA_EXPECTS(v.data != nullptr || v.size == 0, name << " is a null pointer");
  for (std::int64_t i = 0; i < v.size; ++i) {
    BIONMDA_EXPECTS(std::isfinite(v.data[i]) && v.data[i] >= 0 && v.data[i] <= 1,
                    name << "[" << i << "] must be finite and in [0, 1], got " << v.data[i]);
  }
}

void write_state(detail::engine& e, detail::field f, host_span<const double> v,
                 std::int64_t units, std::int64_t batch, cudaStream_t stream) {
  if (v.size == units * batch) {
    e.write(f, 0, v.size, v.data, stream);
  } else {
    for (std::int64_t b = 0; b < batch; ++b) e.write(f, b * units, units, v.data, stream);
  }
}
}  // namespace

void population::set_g(host_span<const double> values, cudaStream_t stream) {
  check_alive();
  check_state_values(values, config_.units, config_.batch, "g");
  write_state(*engine_, detail::field::g, values, config_.units, config_.batch, stream);
}

void population::set_x(host_span<const double> values, cudaStream_t stream) {
  check_alive();
  check_state_values(values, config_.units, config_.batch, "x");
  write_state(*engine_, detail::field::x, values, config_.units, config_.batch, stream);
}

void population::reset(cudaStream_t stream) {
  check_alive();
  apply_initial(*engine_, detail::field::g, config_.g0, config_.units, config_.batch, stream);
  apply_initial(*engine_, detail::field::x, config_.x0, config_.units, config_.batch, stream);
  engine_->clear_countdown(stream);
  engine_->synchronize(stream);
  steps_ = 0;
}

void population::synchronize(cudaStream_t stream) const {
  check_alive();
  engine_->synchronize(stream);
}

state_view<float> population::view_f32() {
  check_alive();
  BIONMDA_EXPECTS(config_.precision == precision::float32,
                  "view_f32() on a population of precision " << to_string(config_.precision));
  return state_view<float>{static_cast<float*>(engine_->g_data()),
                           static_cast<float*>(engine_->x_data()), engine_->countdown_data(),
                           config_.units, config_.batch,
                           backend_ == backend::cuda ? memory_space::device : memory_space::host};
}

state_view<double> population::view_f64() {
  check_alive();
  BIONMDA_EXPECTS(config_.precision == precision::float64,
                  "view_f64() on a population of precision " << to_string(config_.precision));
  return state_view<double>{static_cast<double*>(engine_->g_data()),
                            static_cast<double*>(engine_->x_data()), engine_->countdown_data(),
                            config_.units, config_.batch,
                            backend_ == backend::cuda ? memory_space::device : memory_space::host};
}

}  // namespace bionmda
