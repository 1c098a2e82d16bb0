// Checkpoints: N steps + save + load + M steps equals N + M steps bit for bit;
// across backends; truncated, corrupted, wrong-version, mismatched files are
// clear errors that leave the population untouched; states of several
// chunks (checkpoint_chunk_elements) round-trip and are checked chunk by chunk.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bionmda;

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    BIONMDA_SKIP_IF_UNAVAILABLE();
    dir_ = fs::temp_directory_path() / ("bionmda_ckp_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }
  static population_config config(precision p) {
    std::mt19937_64 rng(17);
    population_config c;
    c.units = 777;
    c.batch = 3;
    c.dt = 0.125;
    c.precision = p;
    c.backend = test::backend_under_test();
    c.params = test::random_parameters(rng, 777, 0.125);
    c.params.beta1 = 0.02;  // a mix of uniform and per-unit parameters
    c.g0 = initial_value::uniform(0, 0.5, 3);
    c.x0 = 0.25;
    return c;
  }
  static std::vector<char> bytes(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static void write_bytes(const std::string& p, const std::vector<char>& b) {
    std::ofstream(p, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
  }
  fs::path dir_;
};

TEST_F(Checkpoint, SaveLoadContinueEqualsUninterruptedBitForBit) {
  for (precision p : {precision::float32, precision::float64}) {
    SCOPED_TRACE(to_string(p));
    population whole(config(p)), first(config(p));
    for (int s = 0; s < 120; ++s) {
      whole.step(poisson{400.0, 5});
      first.step(poisson{400.0, 5});
    }
    save_checkpoint(first, path("a.ckp"), 5);
    checkpoint_info info;
    population second = load_checkpoint(path("a.ckp"), test::backend_under_test(), &info);
    EXPECT_EQ(info.step_count, 120);
    EXPECT_EQ(info.poisson_seed, 5u);
    EXPECT_EQ(info.units, 777);
    EXPECT_EQ(info.precision, p);
    EXPECT_EQ(second.step_count(), 120);
    EXPECT_EQ(second.g(), first.g());
    EXPECT_EQ(second.countdown(), first.countdown());
    for (int s = 0; s < 80; ++s) {
      whole.step(poisson{400.0, 5});
      second.step(poisson{400.0, 5});
    }
    EXPECT_EQ(second.g(), whole.g());
    EXPECT_EQ(second.x(), whole.x());
    EXPECT_EQ(second.countdown(), whole.countdown());
    // reset() of the loaded population goes back to the saved initial values.
    second.reset();
    whole.reset();
    EXPECT_EQ(second.g(), whole.g());
  }
}

TEST_F(Checkpoint, PresynapticSourcesRoundTrip) {
  std::mt19937_64 rng(2);
  population a(config(precision::float32));
  std::vector<std::int32_t> src(777);
  for (auto& s : src) s = static_cast<std::int32_t>(rng() % 50);
  a.set_presynaptic_sources(host_span<const std::int32_t>(src), 50);
  const auto pre = test::random_mask(rng, 150, 0.2);
  a.step(presynaptic_mask(host_span<const std::uint8_t>(pre)));
  save_checkpoint(a, path("p.ckp"));
  population b = load_checkpoint(path("p.ckp"), test::backend_under_test());
  EXPECT_EQ(b.presynaptic_size(), 50);
  for (int s = 0; s < 30; ++s) {
    const auto m = test::random_mask(rng, 150, 0.2);
    a.step(presynaptic_mask(host_span<const std::uint8_t>(m)));
    b.step(presynaptic_mask(host_span<const std::uint8_t>(m)));
  }
  EXPECT_EQ(a.g(), b.g());
}

TEST_F(Checkpoint, RestoreIntoAnExistingPopulation) {
  population a(config(precision::float64));
  for (int s = 0; s < 50; ++s) a.step(poisson{300.0, 1});
  save_checkpoint(a, path("r.ckp"));
  const auto g = a.g();
  for (int s = 0; s < 50; ++s) a.step(poisson{300.0, 1});
  ASSERT_NE(a.g(), g);
  restore_checkpoint(a, path("r.ckp"));
  EXPECT_EQ(a.g(), g);
  EXPECT_EQ(a.step_count(), 50);
}

TEST_F(Checkpoint, BadFilesAreClearErrorsAndChangeNothing) {
  population a(config(precision::float32));
  for (int s = 0; s < 20; ++s) a.step(poisson{300.0, 1});
  save_checkpoint(a, path("good.ckp"));
  const auto good = bytes(path("good.ckp"));
  population target(config(precision::float32));
  for (int s = 0; s < 7; ++s) target.step(poisson{900.0, 2});
  const auto g0 = target.g();
  const auto cd0 = target.countdown();
  auto expect = [&](const std::string& file, const std::string& words) {
    try {
      restore_checkpoint(target, file);
      ADD_FAILURE() << file << " was accepted; expected: " << words;
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)load_checkpoint(file, test::backend_under_test()), error);
    EXPECT_EQ(target.g(), g0) << "state must be untouched after " << words;
    EXPECT_EQ(target.countdown(), cd0);
    EXPECT_EQ(target.step_count(), 7);
  };
  expect(path("missing.ckp"), "cannot open");
  auto b = good;
  b.resize(b.size() / 2);
  write_bytes(path("truncated.ckp"), b);
  expect(path("truncated.ckp"), "truncated");
  b.resize(20);
  write_bytes(path("tiny.ckp"), b);
  expect(path("tiny.ckp"), "truncated");
  b = good;
  b[b.size() / 2] ^= 0x5a;
  write_bytes(path("flipped.ckp"), b);
  expect(path("flipped.ckp"), "checksum");
  b = good;
  b[8] = 9;  // format version field
  write_bytes(path("version.ckp"), b);
  expect(path("version.ckp"), "format version 9");
  b = good;
  b[0] = 'X';
  write_bytes(path("magic.ckp"), b);
  expect(path("magic.ckp"), "not a bionmda checkpoint");
  b = good;
  std::swap(b[12], b[15]);  // endianness marker
  write_bytes(path("endian.ckp"), b);
  expect(path("endian.ckp"), "endianness");
  // A valid file of another population shape.
  auto other_cfg = config(precision::float32);
  other_cfg.units = 10;
  other_cfg.params = parameters{};
  population other(other_cfg);
  save_checkpoint(other, path("other.ckp"));
  try {
    restore_checkpoint(target, path("other.ckp"));
    ADD_FAILURE() << "mismatched checkpoint accepted";
  } catch (const invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("10 x 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(target.g(), g0);
  auto f64 = config(precision::float64);
  population double_pop(f64);
  EXPECT_THROW(restore_checkpoint(double_pop, path("good.ckp")), invalid_argument);
}

TEST_F(Checkpoint, AtomicWriteLeavesNothingOnFailure) {
  population a(config(precision::float32));
  EXPECT_THROW(save_checkpoint(a, path("no/such/dir/a.ckp")), error);
  EXPECT_FALSE(fs::exists(path("no")));
  // Overwriting keeps a whole file at every moment: old content replaced whole.
  save_checkpoint(a, path("x.ckp"));
  a.step(poisson{300.0, 1});
  save_checkpoint(a, path("x.ckp"));
  EXPECT_EQ(read_checkpoint_info(path("x.ckp")).step_count, 1);
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find("tmp."), std::string::npos) << e.path();  // any temporary
  }
}

// --- States larger than one chunk ------------------------------------------

// A state of 2.5 chunks (the last one partial) in each of g, x and countdown.
constexpr std::int64_t big_batch = 2;
constexpr std::int64_t big_units = checkpoint_chunk_elements * 5 / 4 + 1;

// g, x, countdowns (in the state's own precision) and the step counter.
template <class Real>
struct raw_state {
  std::vector<Real> g, x;
  std::vector<std::uint16_t> countdown;
  std::int64_t steps = 0;
};

template <class Real>
raw_state<Real> raw_of(const population& p) {
  raw_state<Real> s;
  s.g.resize(static_cast<std::size_t>(p.elements()));
  s.x.resize(s.g.size());
  s.countdown.resize(s.g.size());
  p.read<Real>(state_field::g, 0, host_span<Real>(s.g));
  p.read<Real>(state_field::x, 0, host_span<Real>(s.x));
  p.read_countdown(0, host_span<std::uint16_t>(s.countdown));
  s.steps = p.step_count();
  return s;
}

template <class T>
::testing::AssertionResult same_bits(const std::vector<T>& a, const std::vector<T>& b, const char* what) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << what << ": " << a.size() << " vs " << b.size();
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (std::memcmp(&a[k], &b[k], sizeof(T)) != 0) {
      return ::testing::AssertionFailure() << what << "[" << k << "]: " << +a[k] << " vs " << +b[k];
    }
  }
  return ::testing::AssertionSuccess();
}

template <class Real>
::testing::AssertionResult same_state(const raw_state<Real>& a, const raw_state<Real>& b) {
  if (auto r = same_bits(a.g, b.g, "g"); !r) return r;
  if (auto r = same_bits(a.x, b.x, "x"); !r) return r;
  if (auto r = same_bits(a.countdown, b.countdown, "countdown"); !r) return r;
  if (a.steps != b.steps) return ::testing::AssertionFailure() << "step count " << a.steps << " vs " << b.steps;
  return ::testing::AssertionSuccess();
}

template <class Real>
class CheckpointChunks : public Checkpoint {
 protected:
  static population_config big_config() {
    population_config c;
    c.units = big_units;
    c.batch = big_batch;
    c.dt = 0.125;
    c.precision = std::is_same_v<Real, float> ? precision::float32 : precision::float64;
    c.backend = test::backend_under_test();
    // Per-unit pulse lengths of 0..12 steps, so each countdown is checked
    // against its own unit's; the other parameters uniform.
    std::mt19937_64 rng(31);
    std::uniform_int_distribution<int> steps(0, 12);
    std::vector<double> t_dur(static_cast<std::size_t>(big_units));
    for (auto& t : t_dur) {
      const int k = steps(rng);
      t = k == 0 ? 0.0 : (k - 0.5) * c.dt;
    }
    c.params.T_dur = t_dur;
    c.g0 = 0.125;
    c.x0 = 0.5;
    return c;
  }
  // Random g and x everywhere (no two chunks alike), sources, some Poisson
  // steps for countdowns.
  static population big_population(std::uint64_t seed) {
    population p(big_config());
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<Real> u(0, 1);
    std::vector<Real> v(static_cast<std::size_t>(p.elements()));
    for (auto& e : v) e = u(rng);
    p.write<Real>(state_field::g, 0, host_span<const Real>(v));
    for (auto& e : v) e = u(rng);
    p.write<Real>(state_field::x, 0, host_span<const Real>(v));
    std::vector<std::int32_t> src(static_cast<std::size_t>(big_units));
    for (auto& s : src) s = static_cast<std::int32_t>(rng() % 1000);
    p.set_presynaptic_sources(host_span<const std::int32_t>(src), 1000);
    for (int s = 0; s < 3; ++s) p.step(poisson{1500.0, seed});
    return p;
  }
  // Where the countdowns begin: they are the file's last state bytes.
  static std::uint64_t countdown_offset(const std::string& file) {
    return fs::file_size(file) - 8 - static_cast<std::uint64_t>(big_units * big_batch) * sizeof(std::uint16_t);
  }
  static std::uint64_t x_offset(const std::string& file) {
    return countdown_offset(file) - static_cast<std::uint64_t>(big_units * big_batch) * sizeof(Real);
  }
  // Overwrites bytes at offset, then (when rehash) the checksum to match.
  static void patch(const std::string& file, std::uint64_t offset, const void* data, std::size_t n, bool rehash) {
    auto b = bytes(file);
    ASSERT_LE(offset + n, b.size() - 8);
    std::memcpy(b.data() + offset, data, n);
    if (rehash) {
      const std::uint64_t sum = XXH64(b.data(), b.size() - 8, 0);
      std::memcpy(b.data() + b.size() - 8, &sum, 8);
    }
    write_bytes(file, b);
  }
  // restore_checkpoint(target, file) must fail with words in the message and
  // leave target's state exactly as it was; load_checkpoint must fail too.
  template <class Error>
  static void expect_refused(population& target, const std::string& file, const std::string& words) {
    const raw_state<Real> before = raw_of<Real>(target);
    try {
      restore_checkpoint(target, file);
      ADD_FAILURE() << file << " was accepted; expected: " << words;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    }
    EXPECT_TRUE(same_state(raw_of<Real>(target), before)) << "state must be untouched after " << words;
    EXPECT_THROW((void)load_checkpoint(file, test::backend_under_test()), Error);
  }
};

using real_types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CheckpointChunks, real_types);

TYPED_TEST(CheckpointChunks, SeveralChunksRoundTripBitForBit) {
  using Real = TypeParam;
  SCOPED_TRACE(std::string(sizeof(Real) == 4 ? "float32" : "float64") + ", " + std::to_string(big_units) + " x " +
               std::to_string(big_batch));
  ASSERT_GT(big_units * big_batch, 2 * checkpoint_chunk_elements);
  population a = this->big_population(1);
  const std::string file = this->path("big.ckp");
  save_checkpoint(a, file, 9);
  // Header, parameters (five uniform, T_dur per unit, g0 and x0), sources,
  // state in Real, checksum: the size follows from the sizes alone.
  const std::uint64_t e = big_units * big_batch, n = big_units;
  const std::uint64_t params = 5 * (1 + 8) + (1 + 8 + 8 * n) + 2 * (1 + 8 + 8 + 8 + 8);
  EXPECT_EQ(fs::file_size(file), 73 + params + 4 * n + e * (2 * sizeof(Real) + 2) + 8);
  const raw_state<Real> saved = raw_of<Real>(a);

  checkpoint_info info;
  population b = load_checkpoint(file, test::backend_under_test(), &info);
  EXPECT_EQ(info.poisson_seed, 9u);
  EXPECT_TRUE(same_state(raw_of<Real>(b), saved));
  EXPECT_EQ(b.presynaptic_sources(), a.presynaptic_sources());

  population c = this->big_population(2);
  ASSERT_FALSE(same_state(raw_of<Real>(c), saved));
  restore_checkpoint(c, file);
  EXPECT_TRUE(same_state(raw_of<Real>(c), saved));
  EXPECT_EQ(c.presynaptic_sources(), a.presynaptic_sources());

  // Loaded and saved again: the same bytes.
  save_checkpoint(b, this->path("again.ckp"), 9);
  EXPECT_TRUE(this->bytes(file) == this->bytes(this->path("again.ckp")));
  // And both continue alike.
  for (int s = 0; s < 2; ++s) {
    a.step(poisson{1500.0, 7});
    b.step(poisson{1500.0, 7});
    c.step(poisson{1500.0, 7});
  }
  EXPECT_TRUE(same_state(raw_of<Real>(b), raw_of<Real>(a)));
  EXPECT_TRUE(same_state(raw_of<Real>(c), raw_of<Real>(a)));
}

TYPED_TEST(CheckpointChunks, BadLastChunkIsRefusedAndChangesNothing) {
  using Real = TypeParam;
  SCOPED_TRACE(sizeof(Real) == 4 ? "float32" : "float64");
  population a = this->big_population(1);
  const std::string good = this->path("good.ckp");
  save_checkpoint(a, good);
  population target = this->big_population(2);
  for (int s = 0; s < 2; ++s) target.step(poisson{900.0, 3});
  const std::uint64_t e = big_units * big_batch;
  // The last chunk of each field starts at element 2 * chunk.
  const std::uint64_t last = 2 * checkpoint_chunk_elements + 5;
  ASSERT_LT(last, e);

  // One flipped byte: in the last countdown chunk, in the last x chunk.
  for (const std::uint64_t offset :
       {this->countdown_offset(good) + 2 * (e - 1), this->x_offset(good) + sizeof(Real) * last + 1}) {
    SCOPED_TRACE("flipped byte at " + std::to_string(offset));
    fs::copy_file(good, this->path("bad.ckp"), fs::copy_options::overwrite_existing);
    std::uint8_t byte = 0;
    {
      std::ifstream in(this->path("bad.ckp"), std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offset));
      in.read(reinterpret_cast<char*>(&byte), 1);
    }
    byte ^= 0x40;
    this->patch(this->path("bad.ckp"), offset, &byte, 1, false);
    this->template expect_refused<error>(target, this->path("bad.ckp"), "checksum");
  }

  // Intact checksums over bad values in the last chunks: NaN and 1.5 in x,
  // a countdown beyond its unit's pulse.
  for (const Real v : {std::numeric_limits<Real>::quiet_NaN(), Real(1.5)}) {
    SCOPED_TRACE("x = " + std::to_string(v));
    fs::copy_file(good, this->path("value.ckp"), fs::copy_options::overwrite_existing);
    this->patch(this->path("value.ckp"), this->x_offset(good) + sizeof(Real) * last, &v, sizeof v, true);
    this->template expect_refused<invalid_argument>(target, this->path("value.ckp"),
                                                    "state element " + std::to_string(last) + " is outside [0, 1] (x = ");
  }
  const std::int64_t unit = static_cast<std::int64_t>(last) % big_units;
  const auto too_long = static_cast<std::uint16_t>(a.pulse_steps(unit) + 1);
  fs::copy_file(good, this->path("countdown.ckp"), fs::copy_options::overwrite_existing);
  this->patch(this->path("countdown.ckp"), this->countdown_offset(good) + 2 * last, &too_long, 2, true);
  this->template expect_refused<invalid_argument>(
      target, this->path("countdown.ckp"),
      "countdown of element " + std::to_string(last) + " exceeds the pulse length of its unit");

  // The good file still restores.
  restore_checkpoint(target, good);
  EXPECT_TRUE(same_state(raw_of<Real>(target), raw_of<Real>(a)));
}

#if BIONMDA_TEST_CUDA
TEST_F(Checkpoint, LoadsAcrossBackends) {
  auto cfg = config(precision::float32);
  cfg.backend = backend::cpu;
  population cpu(cfg);
  for (int s = 0; s < 40; ++s) cpu.step(poisson{300.0, 4});
  save_checkpoint(cpu, path("cpu.ckp"), 4);
  population gpu = load_checkpoint(path("cpu.ckp"), backend::cuda);
  EXPECT_EQ(gpu.backend(), backend::cuda);
  EXPECT_EQ(gpu.g(), cpu.g());
  EXPECT_EQ(gpu.countdown(), cpu.countdown());
  for (int s = 0; s < 10; ++s) gpu.step(poisson{300.0, 4});
  save_checkpoint(gpu, path("gpu.ckp"), 4);
  population back = load_checkpoint(path("gpu.ckp"), backend::cpu);
  EXPECT_EQ(back.g(), gpu.g());
  EXPECT_EQ(back.step_count(), 50);
}
#endif

}  // namespace
