// available_host_memory over fake /proc and cgroup trees, and the CPU
// backend's refusal of a state larger than it (issue 10, items 1 and 10).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bionmda;

// A fresh directory standing for "/", removed with the test.
class FakeRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("bionmda_host_memory_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void put(const std::string& rel, const std::string& text) const {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void meminfo(std::uint64_t available_kb) const {
    put("proc/meminfo", "MemTotal:       24683656 kB\nMemFree:         1000000 kB\nMemAvailable:   " +
                            std::to_string(available_kb) + " kB\nBuffers:          200000 kB\n");
  }
  [[nodiscard]] host_memory_budget read() const { return available_host_memory(root_.string()); }

  fs::path root_;
};

TEST_F(FakeRoot, MemAvailableAlone) {
  meminfo(1000);
  const auto m = read();
  EXPECT_TRUE(m.known);
  EXPECT_EQ(m.bytes, 1024000u);
  EXPECT_NE(m.limit.find("MemAvailable"), std::string::npos) << m.limit;
}

TEST_F(FakeRoot, NothingReadableIsUnknown) {
  const auto m = read();
  EXPECT_FALSE(m.known);
  EXPECT_EQ(m.bytes, 0u);
  put("proc/meminfo", "garbage\nMemAvailable: lots kB\n");
  EXPECT_FALSE(read().known);
}

TEST_F(FakeRoot, CgroupV2LimitBelowMemAvailable) {
  meminfo(1000);  // 1024000 bytes
  put("proc/self/cgroup", "0::/job\n");
  put("sys/fs/cgroup/job/memory.max", "500000\n");
  put("sys/fs/cgroup/job/memory.current", "200000\n");
  put("sys/fs/cgroup/job/memory.stat", "anon 150000\nfile 50000\ninactive_anon 0\ninactive_file 50000\n");
  const auto m = read();
  ASSERT_TRUE(m.known);
  EXPECT_EQ(m.bytes, 350000u) << "memory.max - (memory.current - inactive_file)";
  EXPECT_NE(m.limit.find("cgroup v2"), std::string::npos) << m.limit;
  EXPECT_NE(m.limit.find("500000"), std::string::npos) << m.limit;
  EXPECT_NE(m.limit.find("job"), std::string::npos) << m.limit;
}

TEST_F(FakeRoot, CgroupV2WithoutLimitLeavesMemAvailable) {
  meminfo(1000);
  put("proc/self/cgroup", "0::/job\n");
  put("sys/fs/cgroup/job/memory.max", "max\n");
  put("sys/fs/cgroup/job/memory.current", "200000\n");
  const auto m = read();
  EXPECT_EQ(m.bytes, 1024000u);
  EXPECT_NE(m.limit.find("MemAvailable"), std::string::npos) << m.limit;
}

TEST_F(FakeRoot, CgroupV2AncestorLimitCounts) {
  meminfo(1000);
  put("proc/self/cgroup", "0::/job/task\n");
  put("sys/fs/cgroup/job/task/memory.max", "max\n");
  put("sys/fs/cgroup/job/task/memory.current", "10000\n");
  put("sys/fs/cgroup/job/memory.max", "300000\n");
  put("sys/fs/cgroup/job/memory.current", "100000\n");
  const auto m = read();
  EXPECT_EQ(m.bytes, 200000u);
  EXPECT_NE(m.limit.find("job"), std::string::npos) << m.limit;
}

TEST_F(FakeRoot, CgroupV2UsageAboveLimitLeavesNothing) {
  meminfo(1000);
  put("proc/self/cgroup", "0::/\n");
  put("sys/fs/cgroup/memory.max", "100000\n");
  put("sys/fs/cgroup/memory.current", "150000\n");
  const auto m = read();
  ASSERT_TRUE(m.known);
  EXPECT_EQ(m.bytes, 0u);
}

TEST_F(FakeRoot, CgroupPathMissingUnderTheMountReadsTheMountRoot) {
  // A container without a cgroup namespace: /proc/self/cgroup names the
  // host's path, the mount holds the container's own cgroup at its root.
  meminfo(1000);
  put("proc/self/cgroup", "0::/docker/abc123\n");
  put("sys/fs/cgroup/memory.max", "400000\n");
  put("sys/fs/cgroup/memory.current", "100000\n");
  EXPECT_EQ(read().bytes, 300000u);
}

TEST_F(FakeRoot, CgroupV2UnifiedMountOfAHybridSystem) {
  meminfo(1000);
  put("proc/self/cgroup", "1:cpu:/\n0::/svc\n");
  put("sys/fs/cgroup/unified/svc/memory.max", "600000\n");
  put("sys/fs/cgroup/unified/svc/memory.current", "100000\n");
  EXPECT_EQ(read().bytes, 500000u);
}

TEST_F(FakeRoot, CgroupV1Limit) {
  meminfo(1000);
  put("proc/self/cgroup", "9:name=systemd:/\n4:memory,foo:/grp/x\n0::/\n");
  put("sys/fs/cgroup/memory/grp/x/memory.limit_in_bytes", "700000\n");
  put("sys/fs/cgroup/memory/grp/x/memory.usage_in_bytes", "300000\n");
  put("sys/fs/cgroup/memory/grp/x/memory.stat", "cache 0\ntotal_inactive_file 100000\n");
  const auto m = read();
  EXPECT_EQ(m.bytes, 500000u);
  EXPECT_NE(m.limit.find("cgroup v1"), std::string::npos) << m.limit;
  EXPECT_NE(m.limit.find("memory.limit_in_bytes"), std::string::npos) << m.limit;
}

TEST_F(FakeRoot, CgroupV1UnlimitedLeavesMemAvailable) {
  meminfo(1000);
  put("proc/self/cgroup", "4:memory:/x\n");
  put("sys/fs/cgroup/memory/x/memory.limit_in_bytes", "9223372036854771712\n");
  put("sys/fs/cgroup/memory/x/memory.usage_in_bytes", "2018299904\n");
  EXPECT_EQ(read().bytes, 1024000u);
}

TEST_F(FakeRoot, CgroupWithoutMemInfo) {
  put("proc/self/cgroup", "0::/\n");
  put("sys/fs/cgroup/memory.max", "100000\n");
  put("sys/fs/cgroup/memory.current", "40000\n");
  const auto m = read();
  ASSERT_TRUE(m.known);
  EXPECT_EQ(m.bytes, 60000u);
}

// --- This machine ------------------------------------------------------------

TEST(HostMemory, ThisMachineIsKnownOnLinux) {
#if defined(__linux__)
  const auto m = available_host_memory();
  EXPECT_TRUE(m.known);
  EXPECT_GT(m.bytes, 0u);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) {
    EXPECT_LE(m.bytes, static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)) << m.limit;
  }
#else
  GTEST_SKIP() << "reads /proc and cgroup files: Linux only";
#endif
}

// A population far larger than this process can get is refused before any
// allocation, naming what it needs, what there is and the limit.
TEST(HostMemory, PopulationFarLargerThanMemoryIsRefused) {
  const auto m = available_host_memory();
  if (!m.known) GTEST_SKIP() << "available memory unknown here";
  population_config cfg;
  cfg.units = std::int64_t{1} << 40;  // float32: 10 bytes per element, 11 TB
  cfg.backend = backend::cpu;
  try {
    population p(cfg);
    FAIL() << "a state of 11 TB was accepted";
  } catch (const out_of_memory& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("10995116277760 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("available"), std::string::npos) << msg;
    EXPECT_NE(msg.find(m.limit.substr(0, 12)), std::string::npos) << msg;
    EXPECT_EQ(e.requested(), std::size_t{10995116277760});
    EXPECT_GT(e.available(), 0u);
  }
}

// The byte count of a state beyond any integer type is still exact (the
// issue: "--size 9223372036854775807 reports needs 0 bytes").
TEST(HostMemory, ByteCountBeyondSixtyFourBitsIsExact) {
  if (!available_host_memory().known) GTEST_SKIP() << "available memory unknown here";
  population_config cfg;
  cfg.units = INT64_MAX;
  cfg.backend = backend::cpu;
  cfg.precision = precision::float64;  // 18 bytes per element
  try {
    population p(cfg);
    FAIL() << "accepted";
  } catch (const out_of_memory& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("166020696663385964526 bytes"), std::string::npos) << msg;  // (2^63 - 1) * 18
    EXPECT_EQ(e.requested(), SIZE_MAX) << "more than size_t holds: saturated";
  }
}

}  // namespace
