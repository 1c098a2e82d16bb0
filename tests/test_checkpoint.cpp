// Checkpoints: N steps + save + load + M steps equals N + M steps bit for bit;
// across backends; truncated, corrupted, wrong-version, mismatched files are
// clear errors that leave the population untouched.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

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
