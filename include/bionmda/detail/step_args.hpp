#pragma once
/**
 * @file detail/step_args.hpp
 * @brief Trivially copyable arguments of one step, passed by value to the CPU
 *        loop and the CUDA kernel alike, and the spike sources they read.
 */
#include <cmath>
#include <cstdint>

#include "bionmda/detail/counter_rng.hpp"
#include "bionmda/detail/host_device.hpp"
#include "bionmda/detail/kinetics.hpp"

namespace bionmda::detail {

/// The mutable state, laid out [batch][unit] (element e = b * units + i).
template <class Real>
struct state_ptrs {
  Real* __restrict__ g;
  Real* __restrict__ x;
  countdown_t* __restrict__ countdown;
  std::int64_t units;  ///< N
  std::int64_t batch;  ///< B
};

/// Parameters in the state's precision: uniform values, or per-unit arrays.
template <class Real>
struct model_args {
  Real dt;                   ///< ms
  Real j_fast;               ///< euler_fast_decay_rate(dt): g's factor is -1/J below it [1/ms]
  /// Some unit's dt * (alpha1 + beta1) comes near euler_fast_decay_z, so g's
  /// factor may need its large-|z| branch; when false the CPU step runs the
  /// shorter euler_factor_narrow (the same values, fewer instructions).
  bool wide_range;
  unit_coeffs<Real> coeffs;  ///< uniform coefficients (used when per_unit is false)
  countdown_t pulse_steps;   ///< uniform pulse length in steps
  bool per_unit;             ///< true: read the arrays below, indexed by unit
  const Real* __restrict__ alpha1;
  const Real* __restrict__ beta1;
  const Real* __restrict__ ax_on;
  const Real* __restrict__ beta2;
  const Real* __restrict__ hx_on;
  const Real* __restrict__ hx_off;
  const countdown_t* __restrict__ pulse;

  /// Coefficients of unit i (per-unit mode).
  BIONMDA_HD unit_coeffs<Real> coeffs_of(std::int64_t i) const {
    return unit_coeffs<Real>{alpha1[i], beta1[i], ax_on[i], beta2[i], hx_on[i], hx_off[i]};
  }
};

/// Spike gates: whether element e = b * N + i receives a spike this step.
/// The kernels and CPU loops are templated on them; one gate per kind of
/// input that is resolved inside the step.
struct gate_none {
  BIONMDA_HD bool operator()(std::int64_t, std::int64_t, std::int64_t) const { return false; }
};

/// No spikes, after spike events have started their pulses (countdown set to
/// the pulse length): the step is then the masked step of those spikes.
struct gate_after_events : gate_none {};

struct gate_dense {
  const std::uint8_t* __restrict__ mask;  ///< [B][N]
  BIONMDA_HD bool operator()(std::int64_t e, std::int64_t, std::int64_t) const {
    return mask[e] != 0;
  }
};

struct gate_presynaptic {
  const std::uint8_t* __restrict__ mask;      ///< [B][N_pre]
  const std::int32_t* __restrict__ sources;   ///< [N], each in [0, N_pre)
  std::int64_t n_pre;
  BIONMDA_HD bool operator()(std::int64_t, std::int64_t b, std::int64_t i) const {
    return mask[b * n_pre + sources[i]] != 0;
  }
};

struct gate_poisson {
  std::uint64_t key;        ///< stream_key(seed, rng_poisson, step)
  std::uint64_t threshold;  ///< spike when bits < threshold
  bool always;              ///< probability >= 1
  BIONMDA_HD bool operator()(std::int64_t e, std::int64_t, std::int64_t) const {
    return always || draw_bits(key, static_cast<std::uint64_t>(e)) < threshold;
  }
};

/// p at or above which every element spikes: 1, less what the two roundings
/// of rate_hz * dt / 1000 can lose (each half an ulp, 2^-53 relative), with
/// a factor of two to spare. A rate meant as one spike per step (10 kHz at
/// 0.1 ms, or 1000 / dt in general) spikes every step whichever way the
/// product rounds.
inline constexpr double poisson_certain = 1.0 - 0x1p-51;

/// The Poisson gate of one step: p = rate_hz * dt / 1000 per element; element
/// e spikes when draw_bits(key, e) < p * 2^64, compared exactly (the draw is
/// an integer, so the threshold is p * 2^64 rounded up); p >= poisson_certain:
/// every element spikes. p * 2^64 is formed only for p < poisson_certain,
/// where it is below 2^64 - 2^12 and converts to an integer exactly.
inline gate_poisson make_gate_poisson(double rate_hz, double dt, std::uint64_t seed, std::int64_t step) {
  const double p = rate_hz * dt / 1000.0;
  gate_poisson gate{};
  gate.key = stream_key(seed, rng_poisson, static_cast<std::uint64_t>(step));
  gate.always = p >= poisson_certain;
  gate.threshold = gate.always ? UINT64_MAX : static_cast<std::uint64_t>(std::ceil(std::ldexp(p, 64)));
  return gate;
}

/// Uniform initial value of element e in [low, high): the same double on
/// every backend (no contraction into a fused multiply-add on the GPU).
BIONMDA_HD double uniform_initial(std::uint64_t key, std::uint64_t e, double low, double high) {
  const double u = bits_to_unit_double(draw_bits(key, e));
#if defined(__CUDA_ARCH__)
  const double v = __dadd_rn(low, __dmul_rn(__dsub_rn(high, low), u));
#else
  const double v = low + (high - low) * u;
#endif
  return v < high ? v : high;
}

}  // namespace bionmda::detail
