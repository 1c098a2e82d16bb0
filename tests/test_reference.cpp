// The float64 reference against closed-form solutions and a fine RK4 solution.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "bionmda/reference.hpp"

namespace {

using bionmda::parameters;
using bionmda::reference_population;

// x during a pulse from x0 = 0 is x_inf * (1 - e^{-(a+b) t}), a = alpha2*T,
// b = beta2; after the pulse it decays as e^{-b (t - T_dur)}. Exponential
// Euler with TT frozen per step is exact for this linear equation, so the
// reference must match to rounding (1e-14 over 100 steps of ~1e-16 each).
TEST(Reference, XMatchesClosedFormDuringAndAfterOnePulse) {
  const double dt = 0.1;
  parameters p;  // alpha2 = 1, beta2 = 0.5, T = 1, T_dur = 0.5 -> 5 steps
  reference_population ref(1, 1, dt, p, {0.0}, {0.0});
  ASSERT_EQ(ref.pulse_steps(0), 5);
  const double a = 1.0 * 1.0;
  const double b = 0.5;
  const double x_inf = a / (a + b);
  const std::uint8_t spike = 1;
  const std::uint8_t none = 0;
  double x_end = 0;
  for (int s = 0; s < 100; ++s) {
    ref.step(s == 0 ? &spike : &none);
    const double t = (s + 1) * dt;  // value after step s
    double expected;
    if (s < 5) {
      expected = x_inf * (1.0 - std::exp(-(a + b) * t));
      x_end = expected;
    } else {
      expected = x_end * std::exp(-b * (t - 0.5));
    }
    EXPECT_NEAR(ref.x()[0], expected, 1e-14) << "step " << s;
  }
}

// With x = 0 and no input, g decays as g0 * e^{-beta1 t}, exactly under
// exponential Euler.
TEST(Reference, GDecaysExponentiallyWithoutInput) {
  const double dt = 0.25;
  parameters p;
  p.beta1 = 0.02;
  reference_population ref(2, 1, dt, p, {0.8, 0.3}, {0.0, 0.0});
  for (int s = 1; s <= 400; ++s) {
    ref.step(nullptr);
    const double t = s * dt;
    EXPECT_NEAR(ref.g()[0], 0.8 * std::exp(-0.02 * t), 1e-13) << "step " << s;
    EXPECT_NEAR(ref.g()[1], 0.3 * std::exp(-0.02 * t), 1e-13) << "step " << s;
    EXPECT_EQ(ref.x()[0], 0.0);
  }
}

// RK4 of the ODE pair with a square pulse on [0, T_dur), fine step h.
struct rk4_state {
  double g, x;
};
rk4_state rk4_solution(double t_end, double h, double T_dur) {
  const double alpha1 = 2.0, beta1 = 0.01, alpha2 = 1.0, beta2 = 0.5, T = 1.0;
  auto rhs = [&](double t, const rk4_state& s) {
    const double TT = t < T_dur ? T : 0.0;
    return rk4_state{alpha1 * s.x * (1 - s.g) - beta1 * s.g,
                     alpha2 * TT * (1 - s.x) - beta2 * s.x};
  };
  rk4_state s{0, 0};
  const long n = std::lround(t_end / h);
  for (long k = 0; k < n; ++k) {
    const double t = static_cast<double>(k) * h;
    // h divides T_dur, so no RK4 step straddles the pulse edge; stages at
    // t + h (the right end) must see the pulse as a left-continuous function.
    auto f = [&](double tt, const rk4_state& st) { return rhs(std::min(tt, t + 0.999999 * h), st); };
    const rk4_state k1 = f(t, s);
    const rk4_state k2 = f(t + h / 2, {s.g + h / 2 * k1.g, s.x + h / 2 * k1.x});
    const rk4_state k3 = f(t + h / 2, {s.g + h / 2 * k2.g, s.x + h / 2 * k2.x});
    const rk4_state k4 = f(t + h, {s.g + h * k3.g, s.x + h * k3.x});
    s.g += h / 6 * (k1.g + 2 * k2.g + 2 * k3.g + k4.g);
    s.x += h / 6 * (k1.x + 2 * k2.x + 2 * k3.x + k4.x);
  }
  return s;
}

// The scheme is first order (x then g with the new x is a splitting), so
// halving dt should roughly halve the error against a converged solution.
TEST(Reference, ConvergesAtFirstOrderToRk4) {
  const double t_end = 5.0;
  const double T_dur = 0.5;
  const rk4_state exact = rk4_solution(t_end, 1e-4, T_dur);
  std::vector<double> errors;
  for (double dt : {0.1, 0.05, 0.025}) {
    parameters p;
    reference_population ref(1, 1, dt, p, {0.0}, {0.0});
    const long steps = std::lround(t_end / dt);
    const std::uint8_t spike = 1;
    for (long s = 0; s < steps; ++s) ref.step(s == 0 ? &spike : nullptr);
    errors.push_back(std::fabs(ref.g()[0] - exact.g));
  }
  SCOPED_TRACE(::testing::Message() << "errors " << errors[0] << " " << errors[1] << " "
                                    << errors[2]);
  ASSERT_GT(errors[0], 1e-8) << "error too small to measure an order";
  for (int k = 0; k + 1 < 3; ++k) {
    const double ratio = errors[static_cast<std::size_t>(k)] / errors[static_cast<std::size_t>(k + 1)];
    EXPECT_GT(ratio, 1.7) << "dt -> dt/2 should halve the error (first order)";
    EXPECT_LT(ratio, 2.3) << "dt -> dt/2 should halve the error (first order)";
  }
}

TEST(Reference, PulseLengthRule) {
  auto n = [](double T_dur, double dt) {
    parameters p;
    p.T_dur = T_dur;
    return reference_population(1, 1, dt, p, {0.0}, {0.0}).pulse_steps(0);
  };
  EXPECT_EQ(n(0.5, 0.1), 5);     // 0.5/0.1 is exactly 5.0 in double
  EXPECT_EQ(n(0.3, 0.1), 3);     // 2.9999999999999996 counts as 3
  EXPECT_EQ(n(0.0, 0.1), 0);
  EXPECT_EQ(n(0.55, 0.1), 6);    // k = 0..5
  EXPECT_EQ(n(0.05, 0.1), 1);    // only k = 0
  EXPECT_EQ(n(0.5, 0.125), 4);
  // Just off a whole number of steps: inside the 1e-9 band it is that number
  // (ceil would give 8), outside it the next (a 1e-3 tolerance would give 5).
  EXPECT_EQ(n(0.07, 0.01), 7);   // 7.000000000000001
  EXPECT_EQ(n(0.035, 0.005), 7); // 7.000000000000001
  EXPECT_EQ(n(0.5001, 0.1), 6);  // 5.0009999999999994
  EXPECT_EQ(n(0.4999, 0.1), 5);  // 4.999
  // The band is relative: 5000.0000001 is 5000, and 1e-10 is one step (k = 0).
  EXPECT_EQ(n(0.5 + 1e-11, 1e-4), 5000);
  EXPECT_EQ(n(1e-11, 0.1), 1);
}

}  // namespace
