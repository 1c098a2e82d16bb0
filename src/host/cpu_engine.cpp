// CPU backend: state in aligned host buffers, steps through cpu_kernels.
#include <algorithm>
#include <cstring>
#include <string>

#include <unistd.h>

#include "bionmda/detail/error_macros.hpp"
#include "coeff_table.hpp"
#include "cpu_kernels.hpp"
#include "engine.hpp"
#include "host_buffer.hpp"

namespace bionmda::detail {
namespace {

// Caller-owned memory when given, else a new allocation.
template <class Element>
host_buffer<Element> state_buffer(void* external, const engine_shape& shape) {
  const std::int64_t n = shape.units * shape.batch;
  if (external != nullptr) return host_buffer<Element>::borrow(static_cast<Element*>(external), n);
  return host_buffer<Element>(n);
}

template <class Element>
host_buffer<Element> copy_of(const std::vector<Element>& v) {
  host_buffer<Element> out(static_cast<std::int64_t>(v.size()));
  std::copy(v.begin(), v.end(), out.data());
  return out;
}

template <class Real>
class cpu_engine final : public engine {
 public:
  cpu_engine(const prepared_model& m, engine_shape shape)
      : shape_(shape),
        g_(state_buffer<Real>(shape.external_g, shape)),
        x_(state_buffer<Real>(shape.external_x, shape)),
        countdown_(state_buffer<countdown_t>(shape.external_countdown, shape)) {
    const coeff_table<Real> t = make_coeff_table<Real>(m);
    args_.dt = static_cast<Real>(m.dt);
    args_.per_unit = m.per_unit;
    args_.coeffs = t.uniform;
    args_.pulse_steps = m.pulse_steps;
    if (m.per_unit) {
      alpha1_ = copy_of(t.alpha1);
      beta1_ = copy_of(t.beta1);
      ax_on_ = copy_of(t.ax_on);
      beta2_ = copy_of(t.beta2);
      hx_on_ = copy_of(t.hx_on);
      hx_off_ = copy_of(t.hx_off);
      pulse_ = copy_of(m.pulse_u);
      args_.alpha1 = alpha1_.data();
      args_.beta1 = beta1_.data();
      args_.ax_on = ax_on_.data();
      args_.beta2 = beta2_.data();
      args_.hx_on = hx_on_.data();
      args_.hx_off = hx_off_.data();
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
    in.post = r.post;
    in.g_post = r.g_post;
    in.V = r.V;
    in.I = r.I;
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

  void write_countdown(const std::uint16_t* in, cudaStream_t) override {
    if (countdown_.size() > 0) std::memcpy(countdown_.data(), in, countdown_.size() * sizeof(countdown_t));
  }

  void read_sources(std::int32_t* out, cudaStream_t) const override {
    if (sources_.size() > 0) std::memcpy(out, sources_.data(), sources_.size() * sizeof(std::int32_t));
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
  host_buffer<Real> alpha1_, beta1_, ax_on_, beta2_, hx_on_, hx_off_;
  host_buffer<countdown_t> pulse_;
  host_buffer<std::int32_t> sources_;
  std::int64_t n_pre_ = 0;
  model_args<Real> args_{};
};

}  // namespace

namespace {
// Refuses a state larger than the machine's physical memory up front: with
// memory overcommit the allocation itself may succeed and the process be
// killed later, when the pages are first touched.
void check_fits_in_memory(engine_shape shape, precision p, bool per_unit) {
  const double real = p == precision::float32 ? 4.0 : 8.0;
  const double elements = static_cast<double>(shape.units) * static_cast<double>(shape.batch);
  const double per_unit_bytes = per_unit ? static_cast<double>(shape.units) * (6 * real + 2) : 0.0;
  const double need = elements * (2 * real + 2) + per_unit_bytes;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long avail_pages = sysconf(_SC_AVPHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return;  // unknown: let the allocation decide
  const double total = static_cast<double>(pages) * static_cast<double>(page);
  if (need > total) {
    const auto avail = static_cast<std::size_t>(std::max(0L, avail_pages)) * static_cast<std::size_t>(page);
    throw out_of_memory("bionmda: the CPU backend's state needs " +
                            std::to_string(static_cast<unsigned long long>(need)) +
                            " bytes, more than this machine's " +
                            std::to_string(static_cast<unsigned long long>(total)) +
                            " bytes of memory (" + std::to_string(avail) + " available)",
                        static_cast<std::size_t>(std::min(need, 1.8e19)), avail);
  }
}
}  // namespace

std::unique_ptr<engine> make_cpu_engine(const prepared_model& model, engine_shape shape,
                                        precision p) {
  if (shape.external_g == nullptr) check_fits_in_memory(shape, p, model.per_unit);
  if (p == precision::float32) return std::make_unique<cpu_engine<float>>(model, shape);
  return std::make_unique<cpu_engine<double>>(model, shape);
}

}  // namespace bionmda::detail
