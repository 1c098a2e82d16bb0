// Bitwise fingerprints of the final state of fixed, seeded scenarios, compared
// with the values recorded in tests/data/bitwise/<backend>.txt. They guard
// refactorings that must not change results by a single bit: every input
// kind, both precisions, uniform and per-unit parameters, vector tails and
// the CPU's multi-threaded path, initial values, postsynaptic outputs and
// checkpoints (state and file bytes).
//
// Recording: BIONMDA_BITWISE_WRITE=<path> runs every scenario and writes the
// file there instead of comparing (BIONMDA_BITWISE_SOURCE, optional, names
// the source tree in its header).
//
// The fingerprint is 64-bit FNV-1a over raw bytes, so it depends on the
// standard library's <random> distributions (libstdc++ here) and, on the CPU,
// on the instruction set the kernel runs with (-ffast-math vector expm1): the
// CPU file's header line "# cpu_isa: <isa>" names it, and runs on another
// instruction set (BIONMDA_CPU_ISA, another CPU) skip.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include "support/test_support.hpp"

#if BIONMDA_TEST_CUDA
#include <cuda_runtime.h>

#include <stdexcept>
#endif

#ifndef BIONMDA_TEST_DATA_DIR
#error "BIONMDA_TEST_DATA_DIR must name tests/data"
#endif

namespace {

namespace fs = std::filesystem;
using namespace bionmda;

// --- Fingerprint ------------------------------------------------------------

class fnv1a {
 public:
  void add_bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t k = 0; k < n; ++k) {
      h_ ^= p[k];
      h_ *= 0x100000001b3ULL;
    }
  }
  template <class T>
  void add(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    add_bytes(v.data(), v.size() * sizeof(T));
  }
  template <class T>
  void add_value(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    add_bytes(&v, sizeof(T));
  }
  [[nodiscard]] std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

// --- Porting layer ----------------------------------------------------------
// Every call that steps, writes or reads a population or a map goes through
// the functions of this section, so that an API change means editing only
// these (the scenarios below must keep feeding them the same inputs).

#if BIONMDA_TEST_CUDA
// A device copy of a host vector, and back (CUDA backend's map calls).
template <class T>
class device_vector {
 public:
  explicit device_vector(const std::vector<T>& host) : size_(host.size()) {
    if (size_ == 0) return;
    check(cudaMalloc(reinterpret_cast<void**>(&data_), size_ * sizeof(T)), "cudaMalloc");
    check(cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy to device");
  }
  ~device_vector() { cudaFree(data_); }
  device_vector(const device_vector&) = delete;
  device_vector& operator=(const device_vector&) = delete;
  void copy_to(std::vector<T>& host) const {
    if (size_ == 0) return;
    check(cudaMemcpy(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  }
  [[nodiscard]] device_span<T> span() { return {data_, static_cast<std::int64_t>(size_)}; }
  [[nodiscard]] device_span<const T> cspan() const { return {data_, static_cast<std::int64_t>(size_)}; }

 private:
  static void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
};
#endif

void step_none(population& pop) { pop.step(); }

// How dense spikes reach the population: as a mask, or as the equivalent
// sparse event list (spike_events must give the same bits).
bool& dense_as_events() {
  static bool on = false;
  return on;
}

void step_dense(population& pop, const std::vector<std::uint8_t>& mask) {
  if (!dense_as_events()) {
    pop.step(dense_mask(host_span<const std::uint8_t>(mask)));
    return;
  }
  std::vector<std::int64_t> events;
  for (std::size_t e = 0; e < mask.size(); ++e) {
    if (mask[e] != 0) events.push_back(static_cast<std::int64_t>(e));
  }
  pop.step(spike_events(host_span<const std::int64_t>(events)));
}

void set_sources(population& pop, const std::vector<std::int32_t>& sources, std::int64_t n_pre) {
  pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), n_pre);
}

void step_pre(population& pop, const std::vector<std::uint8_t>& pre_mask) {
  pop.step(presynaptic_mask(host_span<const std::uint8_t>(pre_mask)));
}

void step_poisson(population& pop, double rate_hz, std::uint64_t seed) { pop.step(poisson{rate_hz, seed}); }

// N values (every batch entry) or N*B values.
void set_g(population& pop, const std::vector<double>& values) { pop.set_g(host_span<const double>(values)); }
void set_x(population& pop, const std::vector<double>& values) { pop.set_x(host_span<const double>(values)); }

postsynaptic_map make_per_presynaptic_map(const population& pop, csr_connectivity conn) {
  return postsynaptic_map(pop, std::move(conn));
}

postsynaptic_map make_per_synapse_map(population& pop, csr_connectivity conn, std::int64_t n_pre) {
  return postsynaptic_map::per_synapse(pop, std::move(conn), n_pre);
}

// Per-presynaptic mode: g_post (and I when V is non-empty), [B][n_post].
template <class Real>
void compute_post(const postsynaptic_map& map, population& pop, std::vector<Real>& g_post,
                  const std::vector<Real>& V, std::vector<Real>& I) {
  g_post.assign(static_cast<std::size_t>(map.n_post() * pop.batch()), Real(0));
  I.assign(V.size(), Real(0));
#if BIONMDA_TEST_CUDA
  device_vector<Real> d_gp(g_post), d_v(V), d_i(I);
  map.compute_async<Real>(pop, d_gp.span(), d_v.cspan(), d_i.span());
  pop.synchronize();
  d_gp.copy_to(g_post);
  d_i.copy_to(I);
#else
  map.compute<Real>(pop, host_span<Real>(g_post), host_span<const Real>(V), host_span<Real>(I));
#endif
}

// Per-synapse mode: one step with presynaptic mask [B][n_pre], forming g_post
// (and I when V is non-empty) in the same pass.
template <class Real>
void step_synapse(const postsynaptic_map& map, population& pop, const std::vector<std::uint8_t>& pre_mask,
                  std::vector<Real>& g_post, const std::vector<Real>& V, std::vector<Real>& I) {
  g_post.assign(static_cast<std::size_t>(map.n_post() * pop.batch()), Real(0));
  I.assign(V.size(), Real(0));
#if BIONMDA_TEST_CUDA
  device_vector<std::uint8_t> d_pre(pre_mask);
  device_vector<Real> d_gp(g_post), d_v(V), d_i(I);
  map.step_async<Real>(pop, d_pre.cspan(), d_gp.span(), d_v.cspan(), d_i.span());
  pop.synchronize();
  d_gp.copy_to(g_post);
  d_i.copy_to(I);
#else
  map.step<Real>(pop, host_span<const std::uint8_t>(pre_mask), host_span<Real>(g_post),
                 host_span<const Real>(V), host_span<Real>(I));
#endif
}

void save(const population& pop, const std::string& path, std::uint64_t poisson_seed) {
  save_checkpoint(pop, path, poisson_seed);
}

population load(const std::string& path) { return load_checkpoint(path, test::backend_under_test()); }

void restore(population& pop, const std::string& path) { restore_checkpoint(pop, path); }

// The only place that reads a population's state.
void hash_state(fnv1a& h, const population& pop) {
  h.add(pop.g());
  h.add(pop.x());
  h.add(pop.countdown());
  h.add_value<std::int64_t>(pop.step_count());
}

// --- Scenario helpers -------------------------------------------------------

template <class Real>
constexpr precision precision_of = std::is_same_v<Real, float> ? precision::float32 : precision::float64;

template <class Real>
population_config make_config(std::int64_t n, std::int64_t b, double dt = 0.1) {
  population_config c;
  c.units = n;
  c.batch = b;
  c.dt = dt;
  c.precision = precision_of<Real>;
  c.backend = test::backend_under_test();
  return c;
}

// Uniform but not the defaults, so the uniform path sees every field; T_dur
// 0.35 ms at dt 0.1 ms is a 4-step pulse (no rounding ambiguity).
parameters custom_uniform_parameters() {
  parameters p;
  p.alpha1 = 1.5;
  p.beta1 = 0.02;
  p.alpha2 = 0.8;
  p.beta2 = 0.4;
  p.T = 1.2;
  p.T_dur = 0.35;
  return p;
}

std::vector<std::int32_t> random_sources(std::mt19937_64& rng, std::int64_t n, std::int64_t n_pre) {
  std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
  std::vector<std::int32_t> s(static_cast<std::size_t>(n));
  for (auto& v : s) v = pick(rng);
  return s;
}

// Post-major CSR; rows listed in `fixed` get that many synapses, the others a
// random count in [0, max_in] (every 17th row empty).
csr_connectivity random_csr(std::mt19937_64& rng, std::int64_t n_post, std::int64_t n_pre, int max_in,
                            const std::map<std::int64_t, std::int64_t>& fixed = {}) {
  csr_connectivity c;
  c.n_post = n_post;
  c.row_offsets.push_back(0);
  std::uniform_int_distribution<std::int64_t> degree(0, max_in);
  std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
  std::uniform_real_distribution<double> w(0.1, 2.0);
  for (std::int64_t j = 0; j < n_post; ++j) {
    const auto it = fixed.find(j);
    const std::int64_t d = it != fixed.end() ? it->second : (j % 17 == 0 ? 0 : degree(rng));
    for (std::int64_t k = 0; k < d; ++k) {
      c.source.push_back(pick(rng));
      c.gmax.push_back(w(rng));
    }
    c.row_offsets.push_back(static_cast<std::int64_t>(c.source.size()));
  }
  return c;
}

template <class Real>
std::vector<Real> random_voltages(std::mt19937_64& rng, std::int64_t n) {
  const auto v = test::random_values(rng, n, -90.0, 30.0);
  std::vector<Real> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = static_cast<Real>(v[k]);
  return out;
}

std::uint64_t fingerprint(const population& pop) {
  fnv1a h;
  hash_state(h, pop);
  return h.value();
}

// --- Scenarios: dense host masks --------------------------------------------

// One unit (pure vector tail), default parameters, constant 0 start.
template <class Real>
std::uint64_t dense_n1_b1() {
  std::mt19937_64 rng(101);
  population pop(make_config<Real>(1, 1));
  for (int s = 0; s < 200; ++s) step_dense(pop, test::random_mask(rng, pop.elements(), 0.2));
  return fingerprint(pop);
}

// Per-unit parameters, uniform random initial values.
template <class Real>
std::uint64_t dense_n33_b3_per_unit() {
  std::mt19937_64 rng(102);
  auto cfg = make_config<Real>(33, 3);
  cfg.params = test::random_parameters(rng, 33, 0.1);
  cfg.g0 = initial_value::uniform(0.0, 1.0, 11);
  cfg.x0 = initial_value::uniform(0.0, 0.5, 12);
  population pop(cfg);
  for (int s = 0; s < 150; ++s) step_dense(pop, test::random_mask(rng, pop.elements(), 0.1));
  return fingerprint(pop);
}

// One full tile plus a tail of 3; g0 per unit (N values), x0 constant.
template <class Real>
std::uint64_t dense_n8195_b1_per_unit_init() {
  std::mt19937_64 rng(103);
  const std::int64_t n = 8195;
  auto cfg = make_config<Real>(n, 1);
  cfg.params = test::random_parameters(rng, n, 0.1);
  cfg.g0 = initial_value::per_unit(test::random_values(rng, n, 0.0, 1.0));
  cfg.x0 = initial_value::constant(0.3);
  population pop(cfg);
  for (int s = 0; s < 100; ++s) step_dense(pop, test::random_mask(rng, pop.elements(), 0.05));
  return fingerprint(pop);
}

// Uniform (non-default) parameters, several tiles per row on one thread
// (N*B below the parallel threshold); x0 per unit and batch entry (N*B values).
template <class Real>
std::uint64_t dense_n8195_b3_uniform() {
  std::mt19937_64 rng(104);
  const std::int64_t n = 8195, b = 3;
  auto cfg = make_config<Real>(n, b);
  cfg.params = custom_uniform_parameters();
  cfg.g0 = initial_value::uniform(0.2, 0.6, 13);
  cfg.x0 = initial_value::per_unit(test::random_values(rng, n * b, 0.0, 1.0));
  population pop(cfg);
  for (int s = 0; s < 80; ++s) step_dense(pop, test::random_mask(rng, pop.elements(), 0.03));
  return fingerprint(pop);
}

// N*B = 60033 >= 32768: the CPU backend's OpenMP path.
template <class Real>
std::uint64_t dense_n20011_b3_parallel() {
  std::mt19937_64 rng(105);
  const std::int64_t n = 20011;
  auto cfg = make_config<Real>(n, 3);
  cfg.params = test::random_parameters(rng, n, 0.1);
  cfg.g0 = initial_value::uniform(0.0, 1.0, 14);
  cfg.x0 = initial_value::uniform(0.0, 1.0, 15);
  population pop(cfg);
  for (int s = 0; s < 60; ++s) step_dense(pop, test::random_mask(rng, pop.elements(), 0.02));
  return fingerprint(pop);
}

// set_g (N values, every batch entry) and set_x (N*B values) mid-run.
template <class Real>
std::uint64_t dense_set_state_n257_b3() {
  std::mt19937_64 rng(106);
  const std::int64_t n = 257, b = 3;
  auto cfg = make_config<Real>(n, b);
  cfg.params = test::random_parameters(rng, n, 0.1);
  cfg.g0 = 0.1;
  cfg.x0 = 0.05;
  population pop(cfg);
  for (int s = 0; s < 120; ++s) {
    if (s == 40) set_g(pop, test::random_values(rng, n, 0.0, 1.0));
    if (s == 70) set_x(pop, test::random_values(rng, n * b, 0.0, 1.0));
    step_dense(pop, test::random_mask(rng, pop.elements(), 0.08));
  }
  return fingerprint(pop);
}

// --- Scenarios: no spikes ---------------------------------------------------

// Blocks of spikes and of no-spike steps: pulses started by a dense step run
// on and end in no-spike steps.
template <class Real>
std::uint64_t none_burst_n33_b3() {
  std::mt19937_64 rng(107);
  const std::int64_t n = 33;
  auto cfg = make_config<Real>(n, 3);
  cfg.g0 = initial_value::per_unit(test::random_values(rng, n, 0.0, 0.5));
  population pop(cfg);
  for (int block = 0; block < 2; ++block) {
    for (int s = 0; s < 30; ++s) step_dense(pop, test::random_mask(rng, pop.elements(), 0.3));
    for (int s = 0; s < 40; ++s) step_none(pop);
  }
  return fingerprint(pop);
}

// A long decay after a burst: float32 x falls into the subnormal range,
// which the CPU backend flushes to zero.
template <class Real>
std::uint64_t none_decay_n33_b1_long() {
  std::mt19937_64 rng(108);
  const std::int64_t n = 33;
  auto cfg = make_config<Real>(n, 1);
  cfg.params = test::random_parameters(rng, n, 0.1);
  cfg.g0 = initial_value::uniform(0.0, 1.0, 16);
  population pop(cfg);
  for (int s = 0; s < 50; ++s) step_dense(pop, test::random_mask(rng, pop.elements(), 0.2));
  for (int s = 0; s < 3000; ++s) step_none(pop);
  return fingerprint(pop);
}

// --- Scenarios: presynaptic masks -------------------------------------------

template <class Real>
std::uint64_t pre_n33_b3() {
  std::mt19937_64 rng(109);
  const std::int64_t n = 33, b = 3, n_pre = 7;
  auto cfg = make_config<Real>(n, b);
  cfg.params = test::random_parameters(rng, n, 0.1);
  cfg.g0 = initial_value::uniform(0.0, 1.0, 17);
  cfg.x0 = initial_value::uniform(0.0, 1.0, 18);
  population pop(cfg);
  set_sources(pop, random_sources(rng, n, n_pre), n_pre);
  for (int s = 0; s < 120; ++s) step_pre(pop, test::random_mask(rng, n_pre * b, 0.1));
  return fingerprint(pop);
}

// 40009 units in one row: five tiles (the last a tail), threads on.
template <class Real>
std::uint64_t pre_n40009_b1_parallel() {
  std::mt19937_64 rng(110);
  const std::int64_t n = 40009, n_pre = 500;
  population pop(make_config<Real>(n, 1));
  set_sources(pop, random_sources(rng, n, n_pre), n_pre);
  for (int s = 0; s < 60; ++s) step_pre(pop, test::random_mask(rng, n_pre, 0.03));
  return fingerprint(pop);
}

// --- Scenarios: Poisson -----------------------------------------------------

// 20 Hz * 0.1 ms: p = 0.002 per step.
template <class Real>
std::uint64_t poisson_20hz_n8195_b3() {
  std::mt19937_64 rng(111);
  const std::int64_t n = 8195;
  auto cfg = make_config<Real>(n, 3);
  cfg.params = test::random_parameters(rng, n, 0.1);
  cfg.g0 = initial_value::uniform(0.0, 0.3, 19);
  population pop(cfg);
  for (int s = 0; s < 100; ++s) step_poisson(pop, 20.0, 2024);
  return fingerprint(pop);
}

// 3000 Hz * 0.1 ms: p = 0.3 per step, pulses restarted while running.
template <class Real>
std::uint64_t poisson_3000hz_n33_b3() {
  population pop(make_config<Real>(33, 3));
  for (int s = 0; s < 100; ++s) step_poisson(pop, 3000.0, 7);
  return fingerprint(pop);
}

// 3000 Hz * 0.25 ms: p = 0.75 per step; N*B = 60033, threads on.
template <class Real>
std::uint64_t poisson_3000hz_n20011_b3_parallel() {
  std::mt19937_64 rng(113);
  const std::int64_t n = 20011;
  const double dt = 0.25;
  auto cfg = make_config<Real>(n, 3, dt);
  cfg.params = test::random_parameters(rng, n, dt);
  cfg.x0 = initial_value::uniform(0.0, 1.0, 20);
  population pop(cfg);
  for (int s = 0; s < 60; ++s) step_poisson(pop, 3000.0, 99);
  return fingerprint(pop);
}

// --- Scenarios: postsynaptic maps -------------------------------------------

// Per-presynaptic mode: g_post and I every 10 steps with fresh voltages, and
// g_post alone (no V) at the end. 1500 * 3 rows: the CPU sum's threaded path.
template <class Real>
std::uint64_t post_compute_n2003_b3() {
  std::mt19937_64 rng(114);
  const std::int64_t n = 2003, b = 3, n_post = 1500;
  auto cfg = make_config<Real>(n, b);
  cfg.params = test::random_parameters(rng, n, 0.1);
  population pop(cfg);
  const postsynaptic_map map = make_per_presynaptic_map(pop, random_csr(rng, n_post, n, 20));
  fnv1a h;
  std::vector<Real> g_post, I;
  for (int s = 0; s < 60; ++s) {
    step_dense(pop, test::random_mask(rng, pop.elements(), 0.03));
    if (s % 10 == 9) {
      compute_post<Real>(map, pop, g_post, random_voltages<Real>(rng, n_post * b), I);
      h.add(g_post);
      h.add(I);
    }
  }
  compute_post<Real>(map, pop, g_post, {}, I);
  h.add(g_post);
  hash_state(h, pop);
  return h.value();
}

// Per-synapse mode, B = 3, with empty rows and a row of 9000 synapses (longer
// than the CPU's tile); ~15000 synapses * 3: threads on. g_post and I of
// every step go into the fingerprint.
template <class Real>
std::uint64_t synapse_long_row_b3() {
  std::mt19937_64 rng(115);
  const std::int64_t n_pre = 300, n_post = 400, b = 3;
  csr_connectivity conn = random_csr(rng, n_post, n_pre, 30, {{7, 9000}, {8, 0}});
  auto cfg = make_config<Real>(conn.row_offsets.back(), b);
  cfg.params = test::random_parameters(rng, cfg.units, 0.1);
  cfg.g0 = initial_value::uniform(0.0, 0.3, 21);
  population pop(cfg);
  const postsynaptic_map map = make_per_synapse_map(pop, std::move(conn), n_pre);
  fnv1a h;
  std::vector<Real> g_post, I;
  for (int s = 0; s < 60; ++s) {
    step_synapse<Real>(map, pop, test::random_mask(rng, n_pre * b, 0.04), g_post,
                       random_voltages<Real>(rng, n_post * b), I);
    h.add(g_post);
    h.add(I);
  }
  hash_state(h, pop);
  return h.value();
}

// Per-synapse mode, one batch entry, g_post only (no V).
template <class Real>
std::uint64_t synapse_n_post37_b1_no_v() {
  std::mt19937_64 rng(116);
  const std::int64_t n_pre = 23, n_post = 37;
  csr_connectivity conn = random_csr(rng, n_post, n_pre, 12);
  auto cfg = make_config<Real>(conn.row_offsets.back(), 1);
  cfg.params = custom_uniform_parameters();
  population pop(cfg);
  const postsynaptic_map map = make_per_synapse_map(pop, std::move(conn), n_pre);
  fnv1a h;
  std::vector<Real> g_post, I;
  for (int s = 0; s < 80; ++s) {
    step_synapse<Real>(map, pop, test::random_mask(rng, n_pre, 0.1), g_post, {}, I);
    h.add(g_post);
  }
  hash_state(h, pop);
  return h.value();
}

// --- Scenarios: checkpoints -------------------------------------------------

// A checkpoint file in the temporary directory, removed when done.
class temp_file {
 public:
  explicit temp_file(const std::string& name)
      : path_((fs::temp_directory_path() / ("bionmda_bitwise_" + std::to_string(::getpid()) + "_" + name))
                  .string()) {
    fs::remove(path_);
  }
  ~temp_file() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::uint64_t bytes_hash() const {
    std::ifstream in(path_, std::ios::binary);
    const std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_FALSE(b.empty()) << path_;
    fnv1a h;
    h.add(b);
    return h.value();
  }

 private:
  std::string path_;
};

enum class ckpt_part { state, file };

// 60 Poisson steps, save, load_checkpoint, 60 more. Per-unit parameters with
// one uniform field, random g0: all of it goes into the file.
template <class Real, ckpt_part Part>
std::uint64_t ckpt_load_poisson() {
  std::mt19937_64 rng(117);
  const std::int64_t n = 777;
  const double dt = 0.125;
  auto cfg = make_config<Real>(n, 3, dt);
  cfg.params = test::random_parameters(rng, n, dt);
  cfg.params.beta1 = 0.02;
  cfg.g0 = initial_value::uniform(0.0, 0.5, 3);
  cfg.x0 = 0.25;
  population first(cfg);
  for (int s = 0; s < 60; ++s) step_poisson(first, 400.0, 5);
  const temp_file file(std::string("load_") + (std::is_same_v<Real, float> ? "f32" : "f64"));
  save(first, file.path(), 5);
  if constexpr (Part == ckpt_part::file) return file.bytes_hash();
  population second = load(file.path());
  for (int s = 0; s < 60; ++s) step_poisson(second, 400.0, 5);
  return fingerprint(second);
}

// Presynaptic input; save; restore_checkpoint into a fresh population (which
// gets the sources from the file); 60 more steps. g0 per unit in the file.
template <class Real, ckpt_part Part>
std::uint64_t ckpt_restore_pre() {
  std::mt19937_64 rng(118);
  const std::int64_t n = 501, b = 2, n_pre = 40;
  auto cfg = make_config<Real>(n, b);
  cfg.g0 = initial_value::per_unit(test::random_values(rng, n, 0.0, 1.0));
  cfg.x0 = initial_value::uniform(0.0, 1.0, 22);
  population first(cfg);
  set_sources(first, random_sources(rng, n, n_pre), n_pre);
  for (int s = 0; s < 60; ++s) step_pre(first, test::random_mask(rng, n_pre * b, 0.1));
  const temp_file file(std::string("restore_") + (std::is_same_v<Real, float> ? "f32" : "f64"));
  save(first, file.path(), 0);
  if constexpr (Part == ckpt_part::file) return file.bytes_hash();
  population second(cfg);
  restore(second, file.path());
  for (int s = 0; s < 60; ++s) step_pre(second, test::random_mask(rng, n_pre * b, 0.1));
  return fingerprint(second);
}

// --- Registry ---------------------------------------------------------------

struct scenario {
  std::string name;
  std::function<std::uint64_t()> run;
};

template <class Real>
void add_scenarios(std::vector<scenario>& out) {
  const std::string p = std::is_same_v<Real, float> ? "f32_" : "f64_";
  out.push_back({p + "dense_n1_b1", dense_n1_b1<Real>});
  out.push_back({p + "dense_n33_b3_per_unit", dense_n33_b3_per_unit<Real>});
  out.push_back({p + "dense_n8195_b1_per_unit_init", dense_n8195_b1_per_unit_init<Real>});
  out.push_back({p + "dense_n8195_b3_uniform", dense_n8195_b3_uniform<Real>});
  out.push_back({p + "dense_n20011_b3_parallel", dense_n20011_b3_parallel<Real>});
  out.push_back({p + "dense_set_state_n257_b3", dense_set_state_n257_b3<Real>});
  out.push_back({p + "none_burst_n33_b3", none_burst_n33_b3<Real>});
  out.push_back({p + "none_decay_n33_b1_long", none_decay_n33_b1_long<Real>});
  out.push_back({p + "pre_n33_b3", pre_n33_b3<Real>});
  out.push_back({p + "pre_n40009_b1_parallel", pre_n40009_b1_parallel<Real>});
  out.push_back({p + "poisson_20hz_n8195_b3", poisson_20hz_n8195_b3<Real>});
  out.push_back({p + "poisson_3000hz_n33_b3", poisson_3000hz_n33_b3<Real>});
  out.push_back({p + "poisson_3000hz_n20011_b3_parallel", poisson_3000hz_n20011_b3_parallel<Real>});
  out.push_back({p + "post_compute_n2003_b3", post_compute_n2003_b3<Real>});
  out.push_back({p + "synapse_long_row_b3", synapse_long_row_b3<Real>});
  out.push_back({p + "synapse_n_post37_b1_no_v", synapse_n_post37_b1_no_v<Real>});
  out.push_back({p + "ckpt_load_poisson", ckpt_load_poisson<Real, ckpt_part::state>});
  out.push_back({p + "ckpt_load_poisson_file", ckpt_load_poisson<Real, ckpt_part::file>});
  out.push_back({p + "ckpt_restore_pre", ckpt_restore_pre<Real, ckpt_part::state>});
  out.push_back({p + "ckpt_restore_pre_file", ckpt_restore_pre<Real, ckpt_part::file>});
}

const std::vector<scenario>& scenarios() {
  static const std::vector<scenario> all = [] {
    std::vector<scenario> v;
    add_scenarios<float>(v);
    add_scenarios<double>(v);
    return v;
  }();
  return all;
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const auto& s : scenarios()) names.push_back(s.name);
  return names;
}

// --- Recorded values --------------------------------------------------------

std::string to_hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* backend_name() { return test::backend_under_test() == backend::cuda ? "cuda" : "cpu"; }

std::string recorded_path() {
  return std::string(BIONMDA_TEST_DATA_DIR) + "/bitwise/" + backend_name() + ".txt";
}

// Non-empty in generate mode: where to write the fingerprints.
std::string write_path() {
  const char* p = std::getenv("BIONMDA_BITWISE_WRITE");
  return p != nullptr ? p : "";
}

// The build this test was compiled in (tests/CMakeLists.txt).
std::string this_build() {
#ifdef BIONMDA_TEST_BUILD
  return BIONMDA_TEST_BUILD;
#else
  return "unknown";
#endif
}

// The fingerprints recorded for the backend under test; `isa` gets the CPU
// instruction set named in the header ("" when none), `found` whether the file exists.
struct recording {
  bool found = false;
  std::string isa;
  std::string build;  ///< "# build: " line: compiler, major version, build type, sanitizers
  std::map<std::string, std::string> hashes;
};

const recording& recorded() {
  static const recording r = [] {
    recording out;
    std::ifstream in(recorded_path());
    out.found = static_cast<bool>(in);
    std::string line;
    const std::string isa_key = "# cpu_isa: ";
    const std::string build_key = "# build: ";
    while (std::getline(in, line)) {
      if (line.compare(0, isa_key.size(), isa_key) == 0) out.isa = line.substr(isa_key.size());
      if (line.compare(0, build_key.size(), build_key) == 0) out.build = line.substr(build_key.size());
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string name, hex;
      if (fields >> name >> hex) out.hashes[name] = hex;
    }
    return out;
  }();
  return r;
}

// Generate mode: fingerprints of this run, written out after the last test.
std::map<std::string, std::uint64_t>& computed() {
  static std::map<std::string, std::uint64_t> m;
  return m;
}

class write_recording : public ::testing::Environment {
 public:
  void TearDown() override {
    const std::string path = write_path();
    if (path.empty()) return;
    if (computed().size() != scenarios().size()) {
      ADD_FAILURE() << "BIONMDA_BITWISE_WRITE: only " << computed().size() << " of " << scenarios().size()
                    << " scenarios ran (a --gtest_filter?); " << path << " not written";
      return;
    }
    const char* source = std::getenv("BIONMDA_BITWISE_SOURCE");
    char date[32] = "unknown date";
    const std::time_t now = std::time(nullptr);
    if (const std::tm* utc = std::gmtime(&now)) std::strftime(date, sizeof date, "%Y-%m-%d", utc);
    std::ofstream out(path);
    out << "# Bitwise fingerprints of tests/test_bitwise_scenarios.cpp, backend " << backend_name() << ".\n"
        << "# Recorded " << date << " from " << (source != nullptr ? source : "an unnamed source tree")
        << " (BIONMDA_BITWISE_WRITE).\n";
    if (test::backend_under_test() == backend::cpu) {
      out << "# cpu_isa: " << cpu_instruction_set() << "\n# build: " << this_build() << "\n";
    }
    for (const auto& s : scenarios()) out << s.name << ' ' << to_hex(computed().at(s.name)) << '\n';
    out.flush();
    if (!out) ADD_FAILURE() << "cannot write " << path;
    std::printf("wrote %zu fingerprints to %s\n", scenarios().size(), path.c_str());
  }
};

[[maybe_unused]] ::testing::Environment* const write_env =
    ::testing::AddGlobalTestEnvironment(new write_recording);

// --- The test ---------------------------------------------------------------

class Bitwise : public ::testing::TestWithParam<std::string> {
 public:
  void SetUp() override {
    BIONMDA_SKIP_IF_UNAVAILABLE();
    if (!write_path().empty()) return;
    const recording& r = recorded();
    if (!r.found && test::backend_under_test() == backend::cuda) {
      GTEST_SKIP() << "no recorded CUDA fingerprints (record them on a GPU machine with BIONMDA_BITWISE_WRITE)";
    }
    ASSERT_TRUE(r.found) << "cannot read " << recorded_path();
    // The CPU kernel is built with -ffast-math per instruction set; the
    // vector expm1 and FMA contraction give other last bits on other ISAs.
    if (test::backend_under_test() == backend::cpu && !r.isa.empty() && r.isa != cpu_instruction_set()) {
      GTEST_SKIP() << "fingerprints were recorded with the CPU instruction set " << r.isa
                   << "; this run uses " << cpu_instruction_set()
                   << " (BIONMDA_CPU_ISA or another CPU), whose last bits differ";
    }
    // Another compiler, build type or a sanitizer vectorises the CPU loop otherwise.
    if (test::backend_under_test() == backend::cpu && !r.build.empty() && r.build != this_build()) {
      GTEST_SKIP() << "fingerprints were recorded with the build \"" << r.build << "\"; this is \"" << this_build()
                   << "\", whose CPU loop vectorises differently";
    }
  }
};

// Every scenario again with its dense masks given as spike_events: the same
// recorded bits (a spike event starts the pulse exactly as a mask byte does).
TEST_P(Bitwise, SpikeEventsMatchRecording) {
  if (!write_path().empty()) GTEST_SKIP() << "generate mode records masks only";
  struct restore {
    ~restore() { dense_as_events() = false; }
  } guard;
  dense_as_events() = true;
  const std::string& name = GetParam();
  const scenario* sc = nullptr;
  for (const auto& s : scenarios()) {
    if (s.name == name) sc = &s;
  }
  ASSERT_NE(sc, nullptr);
  const auto it = recorded().hashes.find(name);
  ASSERT_NE(it, recorded().hashes.end()) << "scenario " << name << " is missing from " << recorded_path();
  EXPECT_EQ(to_hex(sc->run()), it->second) << "scenario " << name << " with spike_events";
}

TEST_P(Bitwise, MatchesRecording) {
  const std::string& name = GetParam();
  const scenario* sc = nullptr;
  for (const auto& s : scenarios()) {
    if (s.name == name) sc = &s;
  }
  ASSERT_NE(sc, nullptr);
  const std::uint64_t h = sc->run();
  if (!write_path().empty()) {
    computed()[name] = h;
    return;
  }
  const auto it = recorded().hashes.find(name);
  if (it == recorded().hashes.end()) {
    FAIL() << "scenario " << name << " (fingerprint " << to_hex(h) << ") is missing from " << recorded_path();
  }
  EXPECT_EQ(to_hex(h), it->second) << "scenario " << name << ": fingerprint " << to_hex(h) << ", recorded "
                                   << it->second << " in " << recorded_path();
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Bitwise, ::testing::ValuesIn(scenario_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

}  // namespace
