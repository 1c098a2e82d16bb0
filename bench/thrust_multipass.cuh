#pragma once
// The comparison point for the fused step: what a user with Thrust alone would
// write, one transform per stage (gating, x update, g update), with the
// transmitter flag passed between stages through a temporary array.
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/zip_iterator.h>
#include <thrust/transform.h>
#include <thrust/tuple.h>

#include <cmath>
#include <cstdint>

namespace bionmda::bench {

struct multipass_params {
  float alpha1 = 2.0f, beta1 = 0.01f, alpha2 = 1.0f, beta2 = 0.5f, T = 1.0f, dt = 0.1f;
  std::uint16_t pulse_steps = 5;
};

struct gate_stage {
  std::uint16_t n;
  __device__ thrust::tuple<std::uint16_t, std::uint8_t> operator()(
      const thrust::tuple<std::uint16_t, std::uint8_t>& in) const {
    const std::uint16_t start = thrust::get<1>(in) ? n : thrust::get<0>(in);
    const bool on = start != 0;
    return thrust::make_tuple(static_cast<std::uint16_t>(on ? start - 1 : 0), static_cast<std::uint8_t>(on));
  }
};

struct x_stage {
  multipass_params p;
  __device__ float operator()(float x, std::uint8_t on) const {
    const float TT = on ? p.T : 0.0f;
    const float f = p.alpha2 * TT * (1.0f - x) - p.beta2 * x;
    const float J = -(p.alpha2 * TT + p.beta2);
    const float z = p.dt * J;
    return x + (z == 0.0f ? p.dt : p.dt * expm1f(z) / z) * f;
  }
};

struct g_stage {
  multipass_params p;
  __device__ float operator()(float g, float x) const {
    const float f = p.alpha1 * x * (1.0f - g) - p.beta1 * g;
    const float J = -(p.alpha1 * x + p.beta1);
    const float z = p.dt * J;
    return g + (z == 0.0f ? p.dt : p.dt * expm1f(z) / z) * f;
  }
};

/// State of the multi-pass version (float32).
struct multipass_state {
  thrust::device_vector<float> g, x;
  thrust::device_vector<std::uint16_t> countdown;
  thrust::device_vector<std::uint8_t> on;  // the temporary between stages
  explicit multipass_state(std::size_t n) : g(n, 0.0f), x(n, 0.0f), countdown(n, 0), on(n, 0) {}

  void step(const std::uint8_t* mask, const multipass_params& p, cudaStream_t stream) {
    const auto n = static_cast<std::ptrdiff_t>(g.size());
    auto policy = thrust::cuda::par.on(stream);
    auto in = thrust::make_zip_iterator(thrust::make_tuple(countdown.begin(), thrust::device_pointer_cast(mask)));
    auto out = thrust::make_zip_iterator(thrust::make_tuple(countdown.begin(), on.begin()));
    thrust::transform(policy, in, in + n, out, gate_stage{p.pulse_steps});
    thrust::transform(policy, x.begin(), x.end(), on.begin(), x.begin(), x_stage{p});
    thrust::transform(policy, g.begin(), g.end(), x.begin(), g.begin(), g_stage{p});
  }
};

}  // namespace bionmda::bench
