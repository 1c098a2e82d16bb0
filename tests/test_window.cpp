// Windows of K steps (population::step_window, window.hpp) against K single
// steps with the same spikes, bit for bit: every input kind, both precisions,
// uniform and per-unit parameters, sizes from 0 past the CPU's parallel
// threshold, pulses crossing window edges, windows of 1 to 1000 steps,
// per-step recording, windows mixed with steps, and every refusal.
//
// The expected values always come from a second population advanced one
// population::step at a time (dense_mask, presynaptic_mask, spike_events,
// poisson, no_spikes), never from the window code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iomanip>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace bionmda;

constexpr double dt = 0.1;
constexpr std::int64_t first_step = 1000003;  // Poisson keys away from step 0

using h8 = host_span<const std::uint8_t>;
using h32 = host_span<const std::uint32_t>;
using h64 = host_span<const std::int64_t>;
using d8 = device_span<const std::uint8_t>;
using d32 = device_span<const std::uint32_t>;
using d64 = device_span<const std::int64_t>;

template <class V>
auto& at(V& v, std::int64_t i) {
  return v[static_cast<std::size_t>(i)];
}

template <class Real>
constexpr precision precision_of = std::is_same_v<Real, float> ? precision::float32 : precision::float64;

// --- Bitwise comparison -------------------------------------------------------

template <class T>
::testing::AssertionResult same_bits(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << what << " has " << got.size() << " values, expected " << want.size();
  }
  for (std::size_t k = 0; k < got.size(); ++k) {
    if (std::memcmp(&got[k], &want[k], sizeof(T)) != 0) {
      return ::testing::AssertionFailure() << std::setprecision(17) << what << "[" << k << "] = " << +got[k]
                                           << ", expected " << +want[k] << " (of " << got.size() << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

struct snapshot {
  std::vector<double> g, x;
  std::vector<std::uint16_t> countdown;
  std::int64_t steps;
};

snapshot snap(const population& p) { return {p.g(), p.x(), p.countdown(), p.step_count()}; }

::testing::AssertionResult same_state(const population& got, const snapshot& want) {
  const snapshot s = snap(got);
  if (s.steps != want.steps) {
    return ::testing::AssertionFailure() << "step_count " << s.steps << ", expected " << want.steps;
  }
  for (auto r : {same_bits(s.g, want.g, "g"), same_bits(s.x, want.x, "x"),
                 same_bits(s.countdown, want.countdown, "countdown")}) {
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

// --- Configurations -----------------------------------------------------------

enum class input_kind { none, dense, bits, presynaptic, presynaptic_bits, events, poisson };
const input_kind all_kinds[] = {
    input_kind::none,   input_kind::dense,  input_kind::bits, input_kind::presynaptic, input_kind::presynaptic_bits,
    input_kind::events, input_kind::poisson};

const char* name_of(input_kind k) {
  switch (k) {
    case input_kind::none: return "none";
    case input_kind::dense: return "dense";
    case input_kind::bits: return "bits";
    case input_kind::presynaptic: return "presynaptic";
    case input_kind::presynaptic_bits: return "presynaptic_bits";
    case input_kind::events: return "events";
    case input_kind::poisson: return "poisson";
  }
  return "?";
}

bool is_presynaptic(input_kind k) { return k == input_kind::presynaptic || k == input_kind::presynaptic_bits; }

enum class trace_mode { both, g_only, x_only };

struct setup {
  input_kind kind = input_kind::dense;
  precision prec = precision::float32;
  bool per_unit = false;
  bool wide = false;  // alpha1 * dt far past euler_fast_decay_z: the update's large-|dt*J| branch
  std::int64_t units = 33;
  std::int64_t batch = 1;
  bool device_inputs = false;  // window inputs in device memory (CUDA backend)
  trace_mode mode = trace_mode::both;
};

population_config make_config(const setup& s) {
  population_config c;
  c.units = s.units;
  c.batch = s.batch;
  c.dt = dt;
  c.precision = s.prec;
  c.backend = test::backend_under_test();
  if (s.per_unit) {
    std::mt19937_64 rng(7 + static_cast<std::uint64_t>(s.units));
    c.params = test::random_parameters(rng, s.units, dt);  // pulses of 0 to 12 steps
  } else {
    c.params.T_dur = 0.45;  // k * dt < 0.45 for k = 0..4: 5-step pulses, across windows of 3
  }
  if (s.wide) c.params.alpha1 = 2000.0;  // dt * (alpha1 + beta1) = 200 > euler_fast_decay_z / 2
  c.g0 = initial_value::uniform(0.0, 0.6, 11);
  c.x0 = initial_value::uniform(0.0, 0.8, 12);
  c.threads = 2;  // the CPU team runs from 2^15 elements on
  return c;
}

// Unsorted, with repeats, across batch rows (and CPU tiles for large N).
std::vector<std::int64_t> default_recorded(std::int64_t n) {
  if (n == 0) return {};
  return {n - 1, 0, n / 2, 0, n - 1, (2 * n) / 3, 1 % n, n / 3};
}

// [rows][width] bytes as [rows][ceil(width/32)] words; the unused bits of each
// row's last word are set (window.hpp: ignored).
std::vector<std::uint32_t> to_words(const std::vector<std::uint8_t>& bytes, std::int64_t rows, std::int64_t width) {
  const std::int64_t w = (width + 31) / 32;
  std::vector<std::uint32_t> words(static_cast<std::size_t>(rows * w), 0u);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t i = 0; i < w * 32; ++i) {
      const bool on = i >= width || bytes[static_cast<std::size_t>(r * width + i)] != 0;
      if (on) words[static_cast<std::size_t>(r * w + i / 32)] |= 1u << (i % 32);
    }
  }
  return words;
}

// --- Two populations, one by windows, one by single steps --------------------

class pair_run {
 public:
  explicit pair_run(const setup& s, std::vector<std::int64_t> recorded)
      : s_(s),
        win_(make_config(s)),
        ref_(make_config(s)),
        rng_(1234 + static_cast<std::uint64_t>(s.units * 7 + s.batch)) {
    if (is_presynaptic(s.kind)) {
      n_pre_ = s.units + 5;
      std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre_ - 1));
      std::vector<std::int32_t> sources(static_cast<std::size_t>(s.units));
      for (auto& v : sources) v = pick(rng_);
      win_.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre_);
      ref_.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre_);
    }
    record(std::move(recorded));
    win_.set_step_count(first_step);
    ref_.set_step_count(first_step);
  }

  population& windowed() { return win_; }

  // The elements the windows record from now on (replacing the last set).
  void record(std::vector<std::int64_t> recorded) {
    rec_ = std::move(recorded);
    win_.set_recorded_elements(h64(rec_));
  }

  // k steps of new spikes: one window on the windowed population (or k
  // single steps when by_window is false), k single steps on the reference;
  // then the states and the trace must agree bit for bit.
  template <class Real>
  ::testing::AssertionResult advance(std::int64_t k, bool by_window = true) {
    make_spikes(k);
    const std::int64_t n_rec = static_cast<std::int64_t>(rec_.size());
    const std::int64_t used = k * n_rec;
    const Real sentinel = Real(-1);  // never a state value: g, x are in [0, 1]
    std::vector<Real> host_g(static_cast<std::size_t>(used + 2), sentinel), host_x = host_g;
    buffer<Real> tg = win_.make_buffer<Real>(used + 2), tx = win_.make_buffer<Real>(used + 2);
    tg.copy_from(host_span<const Real>(host_g));
    tx.copy_from(host_span<const Real>(host_x));
    const std::int64_t g_size = s_.mode == trace_mode::x_only ? 0 : used + 2;
    const std::int64_t x_size = s_.mode == trace_mode::g_only ? 0 : used + 2;
    window_trace<Real> trace;
    if (win_.space() == memory_space::host) {
      trace = window_trace<Real>(host_span<Real>(g_size ? tg.data() : nullptr, g_size),
                                 host_span<Real>(x_size ? tx.data() : nullptr, x_size));
    } else {
      trace = window_trace<Real>(device_span<Real>(g_size ? tg.data() : nullptr, g_size),
                                 device_span<Real>(x_size ? tx.data() : nullptr, x_size));
    }
    if (by_window && k % 2 == 1) {  // odd windows enqueue, then wait
      win_.step_window_async(k, window_in(k), trace);
      win_.synchronize();
    } else if (by_window) {
      win_.step_window(k, window_in(k), trace);
    } else {
      for (std::int64_t q = 0; q < k; ++q) step_one(win_, q);
    }

    // The reference, and its recorded elements after each step.
    std::vector<double> want_g(static_cast<std::size_t>(used)), want_x = want_g;
    for (std::int64_t q = 0; q < k; ++q) {
      step_one(ref_, q);
      if (n_rec == 0) continue;
      const std::vector<double> g = ref_.g(), x = ref_.x();
      for (std::int64_t r = 0; r < n_rec; ++r) {
        at(want_g, q * n_rec + r) = at(g, at(rec_, r));
        at(want_x, q * n_rec + r) = at(x, at(rec_, r));
      }
    }
    ::testing::AssertionResult same = same_state(win_, snap(ref_));
    if (!same || !by_window) return same;

    // A given trace holds them and nothing past K * n_rec; one not given is untouched.
    tg.copy_to(host_span<Real>(host_g));
    tx.copy_to(host_span<Real>(host_x));
    auto check = [&](const std::vector<double>& want, const std::vector<Real>& got, bool given, const char* what) {
      std::vector<double> expected(got.size(), double(sentinel));
      if (given) std::copy(want.begin(), want.end(), expected.begin());
      return same_bits(std::vector<double>(got.begin(), got.end()), expected, what);
    };
    if (auto r = check(want_g, host_g, g_size > 0, "trace g"); !r) return r;
    return check(want_x, host_x, x_size > 0, "trace x");
  }

 private:
  // The spikes of k steps in the forms the input kind needs.
  void make_spikes(std::int64_t k) {
    const std::int64_t N = s_.units, B = s_.batch, width = is_presynaptic(s_.kind) ? n_pre_ : N;
    bytes_.assign(static_cast<std::size_t>(k * B * width), 0);
    // p = 1/16 per byte; non-zero values other than 1 (non-zero = spike).
    for (std::size_t q = 0; q < bytes_.size(); q += 8) {
      std::uint64_t r = rng_();
      for (std::size_t j = q; j < std::min(q + 8, bytes_.size()); ++j, r >>= 8) {
        if ((r & 0xF) == 0) bytes_[j] = static_cast<std::uint8_t>((r & 0xFF) | 0x21);
      }
    }
    // Spikes at the first and the last step of the window, at the first and the last element.
    const std::int64_t step_bytes = B * width;
    if (step_bytes > 0) {
      for (std::int64_t q : {std::int64_t{0}, k - 1}) {
        bytes_[static_cast<std::size_t>(q * step_bytes)] = 1;
        bytes_[static_cast<std::size_t>(q * step_bytes + step_bytes - 1)] = 1;
      }
    }
    if (s_.kind == input_kind::bits || s_.kind == input_kind::presynaptic_bits) words_ = to_words(bytes_, k * B, width);
    if (s_.kind == input_kind::events) {
      // Per step: the spiking elements, some twice, shuffled.
      offsets_.assign(1, 0);
      events_.clear();
      for (std::int64_t q = 0; q < k; ++q) {
        const auto from = events_.size();
        for (std::int64_t e = 0; e < N * B; ++e) {
          if (bytes_[static_cast<std::size_t>(q * N * B + e)] == 0) continue;
          events_.push_back(e);
          if (rng_() % 8 == 0) events_.push_back(e);
        }
        std::shuffle(events_.begin() + static_cast<std::ptrdiff_t>(from), events_.end(), rng_);
        offsets_.push_back(static_cast<std::int64_t>(events_.size()));
      }
    }
  }

  // Where device inputs are asked for, a device copy kept in `keep`.
  template <template <memory_space> class Input, class T>
  window_input in_memory(const std::vector<T>& data, buffer<T>& keep) {
    if (!s_.device_inputs) return Input<memory_space::host>(host_span<const T>(data));
    keep = win_.make_buffer<T>(static_cast<std::int64_t>(data.size()));
    keep.copy_from(host_span<const T>(data));
    return Input<memory_space::device>(device_span<const T>(keep.device_view()));
  }

  window_input window_in(std::int64_t) {
    switch (s_.kind) {
      case input_kind::none: return no_spikes{};
      case input_kind::poisson: return poisson{250.0, 77};
      case input_kind::dense: return in_memory<dense_window>(bytes_, dev_bytes_);
      case input_kind::bits: return in_memory<bit_window>(words_, dev_words_);
      case input_kind::presynaptic: return in_memory<presynaptic_window>(bytes_, dev_bytes_);
      case input_kind::presynaptic_bits: return in_memory<presynaptic_bit_window>(words_, dev_words_);
      case input_kind::events:
        if (!s_.device_inputs) {
          return events_window(h64(offsets_), h64(events_));
        }
        dev_offsets_ = win_.make_buffer<std::int64_t>(static_cast<std::int64_t>(offsets_.size()));
        dev_offsets_.copy_from(h64(offsets_));
        dev_events_ = win_.make_buffer<std::int64_t>(static_cast<std::int64_t>(events_.size()));
        dev_events_.copy_from(h64(events_));
        return events_window(d64(dev_offsets_.device_view()), d64(dev_events_.device_view()));
    }
    return no_spikes{};
  }

  // Step q of the current spikes as one population::step.
  void step_one(population& p, std::int64_t q) {
    const std::int64_t N = s_.units, B = s_.batch;
    switch (s_.kind) {
      case input_kind::none: p.step(); return;
      case input_kind::poisson: p.step(poisson{250.0, 77}); return;
      case input_kind::dense:
      case input_kind::bits: p.step(dense_mask(h8(bytes_.data() + q * B * N, B * N))); return;
      case input_kind::presynaptic:
      case input_kind::presynaptic_bits:
        p.step(presynaptic_mask(h8(bytes_.data() + q * B * n_pre_, B * n_pre_)));
        return;
      case input_kind::events: {
        const std::int64_t from = at(offsets_, q), to = at(offsets_, q + 1);
        p.step(spike_events(h64(events_.data() + from, to - from)));
        return;
      }
    }
  }

  setup s_;
  population win_, ref_;
  std::vector<std::int64_t> rec_;
  std::mt19937_64 rng_;
  std::int64_t n_pre_ = 0;
  std::vector<std::uint8_t> bytes_;
  std::vector<std::uint32_t> words_;
  std::vector<std::int64_t> offsets_, events_;
  buffer<std::uint8_t> dev_bytes_;
  buffer<std::uint32_t> dev_words_;
  buffer<std::int64_t> dev_offsets_, dev_events_;
};

// Windows of the given sizes in a row, each compared when it ends.
template <class Real>
void run_windows(const setup& s, const std::vector<std::int64_t>& windows) {
  pair_run run(s, default_recorded(s.units * s.batch));
  if (!s.per_unit && s.units > 0) {
    ASSERT_EQ(run.windowed().pulse_steps(), 5);
  }
  std::int64_t done = 0;
  for (std::int64_t k : windows) {
    ASSERT_TRUE(run.advance<Real>(k)) << "window of " << k << " steps after " << done << " steps";
    done += k;
    ASSERT_EQ(run.windowed().step_count(), first_step + done);
  }
}

void run_windows(const setup& s, const std::vector<std::int64_t>& windows) {
  if (s.prec == precision::float32) {
    run_windows<float>(s, windows);
  } else {
    run_windows<double>(s, windows);
  }
}

std::string describe(const setup& s) {
  return std::string(name_of(s.kind)) + (s.prec == precision::float32 ? "_f32" : "_f64") +
         (s.per_unit ? "_per_unit" : "_uniform") + "_B" + std::to_string(s.batch) + "_N" + std::to_string(s.units);
}

// --- Every input kind x precision x parameters x batch x size -----------------

using grid_param = std::tuple<input_kind, precision, bool, std::int64_t, std::int64_t>;

setup setup_of(const grid_param& p) {
  setup s;
  std::tie(s.kind, s.prec, s.per_unit, s.batch, s.units) = p;
  return s;
}

class WindowMatchesSteps : public ::testing::TestWithParam<grid_param> {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

// Windows of 1, 2, 3, 7 and 64 steps, then windows of 3 in a row that 5-step
// pulses cross.
TEST_P(WindowMatchesSteps, WindowsInARow) { run_windows(setup_of(GetParam()), {1, 2, 3, 7, 64, 3, 3, 3}); }

INSTANTIATE_TEST_SUITE_P(Grid, WindowMatchesSteps,
                         ::testing::Combine(::testing::ValuesIn(all_kinds),
                                            ::testing::Values(precision::float32, precision::float64),
                                            ::testing::Bool(), ::testing::Values<std::int64_t>(1, 3),
                                            ::testing::Values<std::int64_t>(0, 1, 31, 33, 8195, 40009)),
                         [](const auto& p) { return describe(setup_of(p.param)); });

using kind_precision = std::tuple<input_kind, precision>;

std::string kind_precision_name(const ::testing::TestParamInfo<kind_precision>& p) {
  return std::string(name_of(std::get<0>(p.param))) + (std::get<1>(p.param) == precision::float32 ? "_f32" : "_f64");
}

// --- Long windows, and runs that a window size does not divide ----------------

class LongWindows : public ::testing::TestWithParam<kind_precision> {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
  // Uniform, per-unit, and both with rates in the update's wide range.
  void run_all(const std::vector<std::int64_t>& windows) const {
    for (int variant = 0; variant < 4; ++variant) {
      setup s;
      std::tie(s.kind, s.prec) = GetParam();
      s.per_unit = variant % 2 == 1;
      s.wide = variant >= 2;
      s.units = 33;
      s.batch = 3;
      SCOPED_TRACE(std::string(s.per_unit ? "per-unit" : "uniform") + (s.wide ? ", wide range" : ""));
      run_windows(s, windows);
    }
  }
};

TEST_P(LongWindows, ThousandSteps) { run_all({1000, 1000}); }

// 2500 steps as 39 windows of 64 and one of 4, against 2500 single steps.
TEST_P(LongWindows, RemainderWindow) {
  std::vector<std::int64_t> windows(39, 64);
  windows.push_back(2500 - 39 * 64);
  run_all(windows);
}

INSTANTIATE_TEST_SUITE_P(Kinds, LongWindows,
                         ::testing::Combine(::testing::ValuesIn(all_kinds),
                                            ::testing::Values(precision::float32, precision::float64)),
                         kind_precision_name);

// --- Recording, mixing, device inputs ------------------------------------------

class WindowRecording : public ::testing::TestWithParam<precision> {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

// Only g, only x, both; nothing recorded (n_rec = 0: the trace is not
// written), then sets replacing each other. advance() checks the traces.
TEST_P(WindowRecording, TraceModesAndSets) {
  using set = std::vector<std::int64_t>;
  for (trace_mode mode : {trace_mode::both, trace_mode::g_only, trace_mode::x_only}) {
    SCOPED_TRACE("trace mode " + std::to_string(static_cast<int>(mode)));
    setup s;
    s.prec = GetParam();
    s.units = 33;
    s.batch = 3;
    s.mode = mode;
    pair_run run(s, {});
    for (const set& rec : {set{}, set{5, 5, 97, 0, 98, 50, 5}, set{98}, set{}, set{40, 2}}) {
      run.record(rec);
      ASSERT_EQ(run.windowed().recorded_count(), static_cast<std::int64_t>(rec.size()));
      for (std::int64_t k : {7, 1, 3}) {
        ASSERT_TRUE(s.prec == precision::float32 ? run.advance<float>(k) : run.advance<double>(k))
            << "K = " << k << ", n_rec = " << rec.size();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, WindowRecording, ::testing::Values(precision::float32, precision::float64),
                         [](const auto& p) { return p.param == precision::float32 ? "f32" : "f64"; });

class WindowMixing : public ::testing::TestWithParam<input_kind> {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

// Steps, a window, steps, windows: the windowed population continues exactly
// as the one stepped throughout, and step_count() advances by K per window.
TEST_P(WindowMixing, WindowsBetweenSteps) {
  setup s;
  s.kind = GetParam();
  s.units = 40;
  s.batch = 2;
  pair_run run(s, default_recorded(80));
  std::int64_t done = 0;
  for (auto [k, by_window] :
       {std::pair<std::int64_t, bool>{4, false}, {7, true}, {3, false}, {3, true}, {5, true}, {2, false}, {1, true}}) {
    ASSERT_TRUE(run.advance<float>(k, by_window))
        << k << (by_window ? " steps as a window" : " single steps") << " after " << done;
    done += k;
    ASSERT_EQ(run.windowed().step_count(), first_step + done);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, WindowMixing, ::testing::ValuesIn(all_kinds),
                         [](const auto& p) { return std::string(name_of(p.param)); });

class WindowDeviceInputs : public ::testing::TestWithParam<kind_precision> {
 protected:
  void SetUp() override {
    BIONMDA_SKIP_IF_UNAVAILABLE();
    if (test::backend_under_test() != backend::cuda) GTEST_SKIP() << "device-memory inputs need the CUDA backend";
  }
};

// Device-memory windows against single steps with host-memory input.
TEST_P(WindowDeviceInputs, MatchHostSteps) {
  setup s;
  std::tie(s.kind, s.prec) = GetParam();
  s.device_inputs = true;
  for (std::int64_t n : {1, 33, 8195}) {
    s.units = n;
    s.batch = 3;
    SCOPED_TRACE(describe(s));
    run_windows(s, {1, 3, 3, 64});
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, WindowDeviceInputs,
                         ::testing::Combine(::testing::Values(input_kind::dense, input_kind::bits,
                                                              input_kind::presynaptic, input_kind::presynaptic_bits,
                                                              input_kind::events),
                                            ::testing::Values(precision::float32, precision::float64)),
                         kind_precision_name);

// --- Refusals --------------------------------------------------------------------

// 8 units x 2 batch entries.
setup small_setup(precision prec, bool per_unit) {
  setup s;
  s.prec = prec;
  s.per_unit = per_unit;
  s.units = 8;
  s.batch = 2;
  return s;
}

// call must throw invalid_argument naming every word, and change nothing.
void expect_refused(population& pop, const std::vector<std::string>& words, const std::function<void()>& call) {
  const snapshot before = snap(pop);
  const std::int64_t n_rec = pop.recorded_count();
  try {
    call();
    ADD_FAILURE() << "no exception; expected one mentioning " << words.front();
  } catch (const invalid_argument& e) {
    const std::string msg = e.what();
    for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an invalid_argument: " << e.what();
  }
  EXPECT_TRUE(same_state(pop, before));
  EXPECT_EQ(pop.recorded_count(), n_rec);
}

template <class Real>
void check_refusals() {
  using Other = std::conditional_t<std::is_same_v<Real, float>, double, float>;
  constexpr std::int64_t N = 8, B = 2, n_pre = 5, K = 3;
  population_config cfg = make_config(small_setup(precision_of<Real>, false));
  population bare(cfg);  // no presynaptic sources
  population pop(cfg);
  const std::vector<std::int32_t> sources{0, 4, 1, 1, 3, 2, 0, 4};
  pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre);
  const std::vector<std::int64_t> rec{3, 1, 3};
  pop.set_recorded_elements(h64(rec));
  std::vector<std::uint8_t> mask(N * B, 0);
  mask[2] = mask[9] = 1;
  pop.step(dense_mask(h8(mask)));  // pulses running: countdown != 0
  pop.step();

  using u8 = std::vector<std::uint8_t>;
  using u32 = std::vector<std::uint32_t>;
  using i64 = std::vector<std::int64_t>;
  const u8 dense(K * B * N, 0), pre(K * B * n_pre, 0);
  const u32 words(K * B * 1, 0u), pre_words(K * B * 1, 0u);  // ceil(8 / 32) = ceil(5 / 32) = 1
  auto resized = [](auto v, int d) {
    v.resize(v.size() + d);
    return v;
  };
  auto run = [&](std::int64_t k, const window_input& in) { return [&pop, k, in] { pop.step_window(k, in); }; };
  auto run_async = [&](std::int64_t k, const window_input& in) {
    return [&pop, k, in] { pop.step_window_async(k, in); };
  };

  expect_refused(pop, {"steps >= 0", "-1"}, run(-1, no_spikes{}));
  expect_refused(pop, {"steps >= 0"}, run_async(-5, poisson{10.0, 1}));
  for (int d : {-1, 1}) {
    SCOPED_TRACE("size off by " + std::to_string(d));
    const u8 bd = resized(dense, d), bp = resized(pre, d);
    const u32 bw = resized(words, d), bpw = resized(pre_words, d);
    const i64 offs = resized(i64(K + 1, 0), d), none;
    expect_refused(pop, {"window spike mask", "expected"}, run(K, dense_window(h8(bd))));
    expect_refused(pop, {"window bit mask", "expected"}, run(K, bit_window(h32(bw))));
    expect_refused(pop, {"presynaptic window mask", "expected"}, run(K, presynaptic_window(h8(bp))));
    expect_refused(pop, {"presynaptic window bit mask", "expected"}, run_async(K, presynaptic_bit_window(h32(bpw))));
    expect_refused(pop, {"step offsets", "expected"}, run(K, events_window(h64(offs), h64(none))));
  }
  expect_refused(pop, {"null pointer"}, run(K, dense_window(h8(nullptr, K * B * N))));
  expect_refused(pop, {"null pointer"}, run(K, bit_window(h32(nullptr, K * B))));
  expect_refused(pop, {"null pointer"}, run(K, presynaptic_window(h8(nullptr, K * B * n_pre))));
  expect_refused(pop, {"null pointer"}, run(K, presynaptic_bit_window(h32(nullptr, K * B))));
  const i64 zero_offsets(K + 1, 0), no_events;
  expect_refused(pop, {"null pointer"}, run(K, events_window(h64(nullptr, K + 1), h64(no_events))));
  const i64 two_events{0, 0, 0, 2};
  expect_refused(pop, {"null pointer"}, run(K, events_window(h64(two_events), h64(nullptr, 2))));
  expect_refused(bare, {"set_presynaptic_sources"}, [&] { bare.step_window(K, presynaptic_window(h8(pre))); });
  expect_refused(bare, {"set_presynaptic_sources"},
                 [&] { bare.step_window(K, presynaptic_bit_window(h32(pre_words))); });

  if (pop.backend() == backend::cpu) {  // device memory needs the CUDA backend
    expect_refused(pop, {"CUDA backend"}, run(K, dense_window(d8(dense.data(), K * B * N))));
    expect_refused(pop, {"CUDA backend"}, run(K, bit_window(d32(words.data(), K * B))));
    expect_refused(pop, {"CUDA backend"}, run(K, presynaptic_window(d8(pre.data(), K * B * n_pre))));
    expect_refused(pop, {"CUDA backend"}, run(K, presynaptic_bit_window(d32(pre_words.data(), K * B))));
    expect_refused(pop, {"CUDA backend"}, run(K, events_window(d64(zero_offsets.data(), K + 1), d64())));
  }

  // Host events: offsets start at 0, never decrease, end at the event count; indices in [0, N*B).
  const i64 three{1, 2, 3};
  struct bad_events {
    i64 offsets, elements;
    std::vector<std::string> words;
  };
  for (const bad_events& b : {bad_events{{1, 1, 2, 3}, three, {"step_offsets[0]", "1"}},
                              bad_events{{0, 2, 1, 3}, three, {"step_offsets[2]", "below"}},
                              bad_events{{0, 1, 2, 2}, three, {"number of events", "3"}},
                              bad_events{{0, 1, 2, 4}, three, {"number of events"}},
                              bad_events{{0, 1, 2, 3}, {1, -1, 3}, {"out of range", "-1"}},
                              bad_events{{0, 1, 2, 3}, {1, 3, N * B}, {"out of range", "16"}}}) {
    expect_refused(pop, b.words, run(K, events_window(h64(b.offsets), h64(b.elements))));
  }
  for (double rate : {std::nan(""), std::numeric_limits<double>::infinity(), -1.0}) {
    expect_refused(pop, {"Poisson rate"}, run(K, poisson{rate, 3}));
  }

  // Traces: the state's precision and memory space, K * n_rec values, no null with a size.
  std::vector<Real> tg(K * 3), tx(K * 3);
  std::vector<Other> og(K * 3), ox(K * 3);
  auto traced = [&](const window_trace<Real>& t) { return [&pop, t] { pop.step_window(K, no_spikes{}, t); }; };
  expect_refused(pop, {std::is_same_v<Real, float> ? "float64" : "float32", "population"}, [&] {
    pop.step_window(K, no_spikes{}, window_trace<Other>(host_span<Other>(og), host_span<Other>(ox)));
  });
  if (pop.space() == memory_space::host) {
    expect_refused(
        pop, {"memory"},
        traced(window_trace<Real>(device_span<Real>(tg.data(), K * 3), device_span<Real>(tx.data(), K * 3))));
  } else {
    expect_refused(pop, {"memory"}, traced(window_trace<Real>(host_span<Real>(tg), host_span<Real>(tx))));
  }
  buffer<Real> dg = pop.make_buffer<Real>(K * 3), dx = pop.make_buffer<Real>(K * 3);
  auto trace_of = [&](Real* g, std::int64_t ng, Real* x, std::int64_t nx) {
    window_trace<Real> t;
    t.space = pop.space();
    t.g = g;
    t.g_size = ng;
    t.x = x;
    t.x_size = nx;
    return t;
  };
  expect_refused(pop, {"trace's g", "need 9"}, traced(trace_of(dg.data(), K * 3 - 1, dx.data(), K * 3)));
  expect_refused(pop, {"trace's x", "need 9"}, traced(trace_of(dg.data(), K * 3, dx.data(), K * 3 - 1)));
  expect_refused(pop, {"trace's x", "need 9"}, traced(trace_of(nullptr, 0, dx.data(), 1)));
  expect_refused(pop, {"trace's g", "null pointer"}, traced(trace_of(nullptr, K * 3, dx.data(), K * 3)));
  expect_refused(pop, {"trace's x", "null pointer"}, traced(trace_of(dg.data(), K * 3, nullptr, K * 3)));

  // Recorded elements: in [0, N*B), not null.
  for (const i64& bad : {i64{0, -1}, i64{2, N * B, 1}}) {
    expect_refused(pop, {"recorded element", "out of range"}, [&] { pop.set_recorded_elements(h64(bad)); });
  }
  expect_refused(pop, {"null pointer"}, [&] { pop.set_recorded_elements(h64(nullptr, 2)); });

  // The step counter: a window may end at INT64_MAX, not past it.
  pop.set_step_count(INT64_MAX - 2);
  expect_refused(pop, {"INT64_MAX"}, run(K, no_spikes{}));
  expect_refused(pop, {"INT64_MAX"}, run(K, dense_window(h8(dense))));
  const snapshot before = snap(pop);
  pop.step_window(2, poisson{100.0, 5});
  EXPECT_EQ(pop.step_count(), INT64_MAX);
  EXPECT_FALSE(same_state(pop, before));  // the window ran
  expect_refused(pop, {"INT64_MAX"}, run(1, no_spikes{}));
}

// A window of 0 steps does nothing, whatever its (valid) input and trace.
template <class Real>
void check_empty_windows() {
  population pop(make_config(small_setup(precision_of<Real>, true)));
  const std::vector<std::int64_t> rec{3, 1};
  pop.set_recorded_elements(h64(rec));
  std::vector<std::uint8_t> mask(16, 1);
  pop.step(dense_mask(h8(mask)));
  const snapshot before = snap(pop);
  const std::vector<std::int64_t> offsets{0}, none;
  std::vector<Real> tg(4, Real(-1)), tx(4, Real(-1));
  pop.step_window(0, no_spikes{});
  pop.step_window(0, poisson{1e4, 9});
  pop.step_window(0, dense_window(h8(nullptr, 0)));
  pop.step_window_async(0, events_window(h64(offsets), h64(none)));
  if (pop.space() == memory_space::host) {
    pop.step_window(0, poisson{1e4, 9}, window_trace<Real>(host_span<Real>(tg), host_span<Real>(tx)));
    EXPECT_TRUE(same_bits(tg, std::vector<Real>(4, Real(-1)), "trace g"));
  }
  EXPECT_TRUE(same_state(pop, before));
}

class WindowRefusals : public ::testing::Test {
 protected:
  void SetUp() override { BIONMDA_SKIP_IF_UNAVAILABLE(); }
};

TEST_F(WindowRefusals, Float32) { check_refusals<float>(); }
TEST_F(WindowRefusals, Float64) { check_refusals<double>(); }
TEST_F(WindowRefusals, ZeroStepsDoNothing) {
  check_empty_windows<float>();
  check_empty_windows<double>();
}

}  // namespace
