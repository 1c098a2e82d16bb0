// CUDA backend: state in device buffers, one fused kernel launch per step.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "bionmda/detail/error_macros.hpp"
#include "coeff_table.hpp"
#include "cuda_check.hpp"
#include "device_buffer.hpp"
#include "device_scope.hpp"
#include "engine.hpp"
#include "launch.cuh"
#include "step_kernel.cuh"

namespace bionmda::detail {
namespace {

// Elements per host<->device chunk in read() and write().
constexpr std::int64_t transfer_chunk = 1 << 20;

template <class Element>
device_buffer<Element> upload(const std::vector<Element>& host, const char* what) {
  device_buffer<Element> d(static_cast<std::int64_t>(host.size()), what);
  if (!host.empty()) {
    BIONMDA_CUDA_TRY(cudaMemcpy(d.data(), host.data(), d.bytes(), cudaMemcpyHostToDevice));
  }
  return d;
}

template <class Real>
class cuda_engine final : public engine {
 public:
  cuda_engine(const prepared_model& m, engine_shape shape, int device, bool host_staging)
      : shape_(shape), device_(device), host_staging_(host_staging) {
    const int count = static_cast<int>(cuda_devices().size());
    BIONMDA_EXPECTS_AS(backend_unavailable, device >= 0 && device < count,
                       "CUDA device " << device << " does not exist (" << count
                                      << " usable devices)");
    device_scope scope(device_);
    cudaDeviceProp prop{};
    BIONMDA_CUDA_TRY(cudaGetDeviceProperties(&prop, device_));
    multiprocessors_ = prop.multiProcessorCount;
    // Evict-first cache hints are off by default: measured on an H100 they
    // gained 4% at 2^22 units, nothing at 2^24 and lost 11% at 2^26
    // (bench/RESULTS.md). BIONMDA_CUDA_STREAMING=1 turns them on.
    streaming_ = false;
    if (const char* env = std::getenv("BIONMDA_CUDA_STREAMING")) streaming_ = std::string(env) != "0";

    const std::int64_t n = shape.units * shape.batch;
    if (shape.external_g != nullptr) {  // caller-owned state: no allocation, no copy
      g_ = device_buffer<Real>::borrow(static_cast<Real*>(shape.external_g), n);
      x_ = device_buffer<Real>::borrow(static_cast<Real*>(shape.external_x), n);
      countdown_ = device_buffer<countdown_t>::borrow(shape.external_countdown, n);
    } else {
      g_ = device_buffer<Real>(n, "g");
      x_ = device_buffer<Real>(n, "x");
      countdown_ = device_buffer<countdown_t>(n, "pulse countdown");
    }
    if (host_staging_) dense_staging_ = device_buffer<std::uint8_t>(n, "host spike staging");

    const coeff_table<Real> t = make_coeff_table<Real>(m);
    args_.dt = static_cast<Real>(m.dt);
    args_.per_unit = m.per_unit;
    args_.coeffs = t.uniform;
    args_.pulse_steps = m.pulse_steps;
    if (m.per_unit) {
      alpha1_ = upload(t.alpha1, "alpha1");
      beta1_ = upload(t.beta1, "beta1");
      ax_on_ = upload(t.ax_on, "alpha2*T");
      beta2_ = upload(t.beta2, "beta2");
      hx_on_ = upload(t.hx_on, "x factor (on)");
      hx_off_ = upload(t.hx_off, "x factor (off)");
      pulse_ = upload(m.pulse_u, "pulse steps");
      args_.alpha1 = alpha1_.data();
      args_.beta1 = beta1_.data();
      args_.ax_on = ax_on_.data();
      args_.beta2 = beta2_.data();
      args_.hx_on = hx_on_.data();
      args_.hx_off = hx_off_.data();
      args_.pulse = pulse_.data();
    }
  }

  void step(const step_request& r, cudaStream_t stream) override {
    device_scope scope(device_);
    const std::int64_t n = shape_.units * shape_.batch;
    const std::int64_t chunks = (n + chunk - 1) / chunk;
    const std::uint8_t* mask = r.mask;
    if (r.space == memory_space::host &&
        (r.input == step_request::kind::dense || r.input == step_request::kind::presynaptic)) {
      mask = stage(r, stream);
    }
    const auto st = state();
    if (r.post != nullptr) {
      // Per-synapse mode: update and per-post sums in one kernel.
      const post_args<Real> a = *static_cast<const post_args<Real>*>(r.post);
      const std::int64_t threads = a.n_post * shape_.batch * 32;
      auto* g_post = static_cast<Real*>(r.g_post);
      const auto* V = static_cast<const Real*>(r.V);
      auto* I = static_cast<Real*>(r.I);
      if (args_.per_unit) {
        launch_1d<post_step_kernel<Real, true>, step_block_size>(threads, multiprocessors_, stream, st, args_, a,
                                                                  mask, n_pre_, g_post, V, I);
      } else {
        launch_1d<post_step_kernel<Real, false>, step_block_size>(threads, multiprocessors_, stream, st, args_, a,
                                                                   mask, n_pre_, g_post, V, I);
      }
      return;
    }
    switch (r.input) {
      case step_request::kind::none:
        return launch(st, no_spikes{}, chunks, false, stream);
      case step_request::kind::dense: {
        const bool vec = reinterpret_cast<std::uintptr_t>(mask) % 4 == 0;
        return launch(st, dense_spikes{mask}, chunks, vec, stream);
      }
      case step_request::kind::presynaptic:
        return launch(st, presynaptic_spikes{mask, sources_.data(), n_pre_}, chunks, false, stream);
      case step_request::kind::poisson:
        return launch(st, poisson_spikes{r.poisson_key, r.poisson_threshold, r.poisson_always},
                      chunks, false, stream);
    }
  }

  void read(field f, std::int64_t offset, std::int64_t count, double* out,
            cudaStream_t stream) const override {
    device_scope scope(device_);
    const Real* src = (f == field::g ? g_.data() : x_.data()) + offset;
    std::vector<Real> host(static_cast<std::size_t>(std::min(count, transfer_chunk)));
    for (std::int64_t done = 0; done < count; done += transfer_chunk) {
      const std::int64_t k = std::min(transfer_chunk, count - done);
      BIONMDA_CUDA_TRY(cudaMemcpyAsync(host.data(), src + done, static_cast<std::size_t>(k) * sizeof(Real),
                                       cudaMemcpyDeviceToHost, stream));
      BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
      std::transform(host.begin(), host.begin() + k, out + done,
                     [](Real a) { return static_cast<double>(a); });
    }
  }

  void read_countdown(std::uint16_t* out, cudaStream_t stream) const override {
    device_scope scope(device_);
    if (countdown_.size() == 0) return;
    BIONMDA_CUDA_TRY(cudaMemcpyAsync(out, countdown_.data(), countdown_.bytes(),
                                     cudaMemcpyDeviceToHost, stream));
    BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
  }

  void write_countdown(const std::uint16_t* in, cudaStream_t stream) override {
    device_scope scope(device_);
    if (countdown_.size() == 0) return;
    BIONMDA_CUDA_TRY(cudaMemcpyAsync(countdown_.data(), in, countdown_.bytes(), cudaMemcpyHostToDevice, stream));
    BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
  }

  void read_sources(std::int32_t* out, cudaStream_t stream) const override {
    device_scope scope(device_);
    if (sources_.size() == 0) return;
    BIONMDA_CUDA_TRY(cudaMemcpyAsync(out, sources_.data(), sources_.bytes(), cudaMemcpyDeviceToHost, stream));
    BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
  }

  void write(field f, std::int64_t offset, std::int64_t count, const double* values,
             cudaStream_t stream) override {
    device_scope scope(device_);
    Real* dst = (f == field::g ? g_.data() : x_.data()) + offset;
    std::vector<Real> host(static_cast<std::size_t>(std::min(count, transfer_chunk)));
    for (std::int64_t done = 0; done < count; done += transfer_chunk) {
      const std::int64_t k = std::min(transfer_chunk, count - done);
      std::transform(values + done, values + done + k, host.begin(),
                     [](double a) { return static_cast<Real>(a); });
      BIONMDA_CUDA_TRY(cudaMemcpyAsync(dst + done, host.data(), static_cast<std::size_t>(k) * sizeof(Real),
                                       cudaMemcpyHostToDevice, stream));
      // The host chunk is reused next iteration: wait for the copy to finish.
      BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
    }
  }

  void fill(field f, double value, cudaStream_t stream) override {
    device_scope scope(device_);
    Real* dst = f == field::g ? g_.data() : x_.data();
    launch_1d<fill_kernel<Real>, step_block_size>(g_.size(), multiprocessors_, stream, dst,
                                                  g_.size(), static_cast<Real>(value));
  }

  void clear_countdown(cudaStream_t stream) override {
    device_scope scope(device_);
    if (countdown_.size() > 0) {
      BIONMDA_CUDA_TRY(cudaMemsetAsync(countdown_.data(), 0, countdown_.bytes(), stream));
    }
  }

  void set_sources(const std::int32_t* sources, std::int64_t n_pre, cudaStream_t stream) override {
    device_scope scope(device_);
    // Allocate everything before replacing anything, so a failure changes nothing.
    device_buffer<std::int32_t> d(shape_.units, "presynaptic sources");
    device_buffer<std::uint8_t> staging;
    if (host_staging_) staging = device_buffer<std::uint8_t>(n_pre * shape_.batch, "host presynaptic staging");
    if (d.size() > 0) {
      BIONMDA_CUDA_TRY(cudaMemcpyAsync(d.data(), sources, d.bytes(), cudaMemcpyHostToDevice, stream));
      BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
    }
    sources_ = std::move(d);
    pre_staging_ = std::move(staging);
    n_pre_ = n_pre;
  }

  void synchronize(cudaStream_t stream) const override {
    device_scope scope(device_);
    BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream));
  }

  void* g_data() override { return g_.data(); }
  void* x_data() override { return x_.data(); }
  std::uint16_t* countdown_data() override { return countdown_.data(); }

 private:
  state_ptrs<Real> state() {
    return state_ptrs<Real>{g_.data(), x_.data(), countdown_.data(), shape_.units, shape_.batch};
  }

  // Copies a host-memory mask into the staging buffer reserved for it.
  const std::uint8_t* stage(const step_request& r, cudaStream_t stream) {
    const bool dense = r.input == step_request::kind::dense;
    device_buffer<std::uint8_t>& buf = dense ? dense_staging_ : pre_staging_;
    BIONMDA_EXPECTS(host_staging_,
                    "a host-memory spike mask on the CUDA backend needs host_input_staging = true "
                    "in population_config (or pass a device_span)");
    if (buf.size() > 0) {
      BIONMDA_CUDA_TRY(cudaMemcpyAsync(buf.data(), r.mask, buf.bytes(), cudaMemcpyHostToDevice, stream));
    }
    return buf.data();
  }

  template <class Spikes>
  void launch(const state_ptrs<Real>& st, Spikes spikes, std::int64_t chunks, bool mask_vec,
              cudaStream_t stream) {
    if (streaming_) {
      launch_per_unit<true>(st, spikes, chunks, mask_vec, stream);
    } else {
      launch_per_unit<false>(st, spikes, chunks, mask_vec, stream);
    }
  }

  template <bool Streaming, class Spikes>
  void launch_per_unit(const state_ptrs<Real>& st, Spikes spikes, std::int64_t chunks, bool mask_vec,
                       cudaStream_t stream) {
    if (args_.per_unit) {
      launch_1d<step_kernel<Real, true, Streaming, Spikes>, step_block_size>(
          chunks, multiprocessors_, stream, st, args_, spikes, mask_vec);
    } else {
      launch_1d<step_kernel<Real, false, Streaming, Spikes>, step_block_size>(
          chunks, multiprocessors_, stream, st, args_, spikes, mask_vec);
    }
  }

  engine_shape shape_;
  int device_;
  bool host_staging_;
  int multiprocessors_ = 1;
  bool streaming_ = false;
  device_buffer<Real> g_, x_;
  device_buffer<countdown_t> countdown_;
  device_buffer<Real> alpha1_, beta1_, ax_on_, beta2_, hx_on_, hx_off_;
  device_buffer<countdown_t> pulse_;
  device_buffer<std::int32_t> sources_;
  device_buffer<std::uint8_t> dense_staging_, pre_staging_;
  std::int64_t n_pre_ = 0;
  model_args<Real> args_{};
};

}  // namespace

std::unique_ptr<engine> make_cuda_engine(const prepared_model& model, engine_shape shape,
                                         precision p, int device, bool host_staging) {
  if (p == precision::float32) {
    return std::make_unique<cuda_engine<float>>(model, shape, device, host_staging);
  }
  return std::make_unique<cuda_engine<double>>(model, shape, device, host_staging);
}

}  // namespace bionmda::detail
