// CPU backend: state in aligned host buffers, steps through cpu_kernels.
#include <algorithm>
#include <cstring>

#include "bionmda/detail/error_macros.hpp"
#include "cpu_kernels.hpp"
#include "engine.hpp"
#include "host_buffer.hpp"

namespace bionmda::detail {
namespace {

template <class Real>
host_buffer<Real> to_real(const std::vector<double>& v) {
  host_buffer<Real> out(static_cast<std::int64_t>(v.size()));
  std::transform(v.begin(), v.end(), out.data(), [](double a) { return static_cast<Real>(a); });
  return out;
}

template <class Real>
class cpu_engine final : public engine {
 public:
  cpu_engine(const prepared_model& m, engine_shape shape)
      : shape_(shape),
        g_(shape.units * shape.batch),
        x_(shape.units * shape.batch),
        countdown_(shape.units * shape.batch) {
    args_.dt = static_cast<Real>(m.dt);
    args_.per_unit = m.per_unit;
    args_.rates = unit_rates<Real>{static_cast<Real>(m.alpha1), static_cast<Real>(m.beta1),
                                   static_cast<Real>(m.alpha2), static_cast<Real>(m.beta2),
                                   static_cast<Real>(m.T)};
    args_.pulse_steps = m.pulse_steps;
    if (m.per_unit) {
      alpha1_ = to_real<Real>(m.alpha1_u);
      beta1_ = to_real<Real>(m.beta1_u);
      alpha2_ = to_real<Real>(m.alpha2_u);
      beta2_ = to_real<Real>(m.beta2_u);
      T_ = to_real<Real>(m.T_u);
      pulse_ = host_buffer<countdown_t>(static_cast<std::int64_t>(m.pulse_u.size()));
      std::copy(m.pulse_u.begin(), m.pulse_u.end(), pulse_.data());
      args_.alpha1 = alpha1_.data();
      args_.beta1 = beta1_.data();
      args_.alpha2 = alpha2_.data();
      args_.beta2 = beta2_.data();
      args_.T = T_.data();
      args_.pulse = pulse_.data();
    }
    clear_countdown(nullptr);
  }

  void step(const step_request& r, cudaStream_t) override {
    cpu_input in;
    in.kind = r.input;
    in.mask = r.mask;
    in.sources = sources_.data();
    in.n_pre = n_pre_;
    in.key = r.poisson_key;
    in.threshold = r.poisson_threshold;
    in.always = r.poisson_always;
    cpu_step<Real>(state(), args_, in);
  }

  void read(field f, std::int64_t offset, std::int64_t count, double* out,
            cudaStream_t) const override {
    const Real* src = (f == field::g ? g_.data() : x_.data()) + offset;
    std::transform(src, src + count, out, [](Real a) { return static_cast<double>(a); });
  }

  void read_countdown(std::uint16_t* out, cudaStream_t) const override {
    if (countdown_.size() > 0) {
      std::memcpy(out, countdown_.data(), countdown_.size() * sizeof(countdown_t));
    }
  }

  void write(field f, std::int64_t offset, std::int64_t count, const double* values,
             cudaStream_t) override {
    Real* dst = (f == field::g ? g_.data() : x_.data()) + offset;
    std::transform(values, values + count, dst, [](double a) { return static_cast<Real>(a); });
  }

  void fill(field f, double value, cudaStream_t) override {
    Real* dst = f == field::g ? g_.data() : x_.data();
    std::fill(dst, dst + g_.size(), static_cast<Real>(value));
  }

  void clear_countdown(cudaStream_t) override {
    std::fill(countdown_.data(), countdown_.data() + countdown_.size(), countdown_t{0});
  }

  void set_sources(const std::int32_t* sources, std::int64_t n_pre, cudaStream_t) override {
    host_buffer<std::int32_t> copy(shape_.units);
    std::copy(sources, sources + shape_.units, copy.data());
    sources_ = std::move(copy);
    n_pre_ = n_pre;
  }

  void synchronize(cudaStream_t) const override {}
  void* g_data() override { return g_.data(); }
  void* x_data() override { return x_.data(); }
  std::uint16_t* countdown_data() override { return countdown_.data(); }

 private:
  state_ptrs<Real> state() {
    return state_ptrs<Real>{g_.data(), x_.data(), countdown_.data(), shape_.units, shape_.batch};
  }

  engine_shape shape_;
  host_buffer<Real> g_, x_;
  host_buffer<countdown_t> countdown_;
  host_buffer<Real> alpha1_, beta1_, alpha2_, beta2_, T_;
  host_buffer<countdown_t> pulse_;
  host_buffer<std::int32_t> sources_;
  std::int64_t n_pre_ = 0;
  model_args<Real> args_{};
};

}  // namespace

std::unique_ptr<engine> make_cpu_engine(const prepared_model& model, engine_shape shape,
                                        precision p) {
  if (p == precision::float32) return std::make_unique<cpu_engine<float>>(model, shape);
  return std::make_unique<cpu_engine<double>>(model, shape);
}

}  // namespace bionmda::detail
