// The file-writing utilities of src/util: write_atomically (checkpoints),
// temporary_file and output_set (the tool's outputs). What they promise:
// whole files or none, never through a link, temporaries that signals remove.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "bionmda/error.hpp"
#include "util/atomic_file.hpp"
#include "util/output_set.hpp"
#include "util/temporary_file.hpp"

namespace {

namespace fs = std::filesystem;
using bionmda::detail::output_set;
using bionmda::detail::temporary_file;
using bionmda::detail::write_atomically;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class OutputFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bionmda_outputs_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
  }
  [[nodiscard]] std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }

  fs::path dir_;
};

// Runs f in a child process (for signals, resource limits and umask, which
// are per process); returns the child's raw wait status.
template <class F>
int in_child(F f) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 1;
    try {
      code = f();
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST_F(OutputFiles, WriteAtomicallyReplacesWholeOrNotAtAll) {
  write("a.ckp", "old\n");
  write_atomically(path("a.ckp"), [](std::ostream& o) { o << "new content\n"; });
  EXPECT_EQ(slurp(path("a.ckp")), "new content\n");
  EXPECT_EQ(files(), std::vector<std::string>{"a.ckp"}) << "no temporary left";
  // A writer that fails half-way: the old file stays, the temporary goes.
  EXPECT_THROW(write_atomically(path("a.ckp"),
                                [](std::ostream& o) {
                                  o << std::string(3 << 20, 'x');  // past the stream's buffer
                                  throw std::runtime_error("writer failed");
                                }),
               std::runtime_error);
  EXPECT_EQ(slurp(path("a.ckp")), "new content\n");
  EXPECT_EQ(files(), std::vector<std::string>{"a.ckp"});
  // A missing directory names it.
  try {
    write_atomically(path("no/such/a.ckp"), [](std::ostream& o) { o << "x"; });
    ADD_FAILURE() << "no error";
  } catch (const bionmda::error& e) {
    EXPECT_NE(std::string(e.what()).find("no/such' does not exist"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files(), std::vector<std::string>{"a.ckp"});
}

// The earlier temporary name was <path>.tmp.<pid>: predictable, and opened
// through whatever link was planted there.
TEST_F(OutputFiles, APlantedLinkAtTheOldTemporaryNameIsNotFollowed) {
  write("victim", "precious\n");
  fs::create_symlink(path("victim"), path("a.ckp.tmp." + std::to_string(::getpid())));
  write_atomically(path("a.ckp"), [](std::ostream& o) { o << "checkpoint\n"; });
  EXPECT_EQ(slurp(path("victim")), "precious\n");
  EXPECT_EQ(slurp(path("a.ckp")), "checkpoint\n");
  EXPECT_FALSE(fs::is_symlink(path("a.ckp")));
}

TEST_F(OutputFiles, TemporaryNamesAreUnpredictableAndBesideTheTarget) {
  std::set<std::string> names;
  for (int k = 0; k < 50; ++k) {
    temporary_file t(path("t.csv"));
    const std::string name = fs::path(t.path()).filename().string();
    const std::string stem = ".t.csv" + std::string(bionmda::detail::temporary_marker) + std::to_string(::getpid()) + ".";
    EXPECT_EQ(name.rfind(stem, 0), 0u) << name;
    EXPECT_EQ(name.size(), stem.size() + 12) << name;
    EXPECT_EQ(fs::path(t.path()).parent_path(), dir_);
    EXPECT_TRUE(fs::is_regular_file(t.path()));
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 50u);
  EXPECT_TRUE(files().empty()) << "each removed by its destructor";
  // A bare name lives in the working directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  {
    temporary_file t("bare.csv");
    EXPECT_EQ(t.path().find('/'), std::string::npos) << t.path();
    EXPECT_TRUE(fs::exists(dir_ / t.path()));
  }
  fs::current_path(cwd);
}

// Like any new file: 0666 less the umask (not mkstemp's 0600).
TEST_F(OutputFiles, NewFilesGetTheUmasksMode) {
  for (const mode_t mask : {mode_t{022}, mode_t{077}, mode_t{002}}) {
    SCOPED_TRACE(mask);
    const std::string p = path("m" + std::to_string(mask) + ".ckp");
    const int status = in_child([&] {
      ::umask(mask);
      write_atomically(p, [](std::ostream& o) { o << "x"; });
      return 0;
    });
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
  }
}

// A write that fails (here: the file size limit, as a full disk would) is an
// error naming the file and the reason; nothing is left.
TEST_F(OutputFiles, AFailedWriteIsReportedAndLeavesNothing) {
  write("a.ckp", "old\n");
  const std::string p = path("a.ckp");
  const int status = in_child([&] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit small{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &small);
    try {
      write_atomically(p, [](std::ostream& o) { o << std::string(1 << 20, 'x'); });
    } catch (const bionmda::error& e) {
      const std::string m = e.what();
      return m.find("a.ckp") != std::string::npos && m.find(std::strerror(EFBIG)) != std::string::npos ? 0 : 4;
    }
    return 5;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "4: message without the file or the reason; 5: no error";
  EXPECT_EQ(slurp(p), "old\n");
  EXPECT_EQ(files(), std::vector<std::string>{"a.ckp"});
}

TEST_F(OutputFiles, OutputSetCommitsAllOrRemovesAll) {
  {
    output_set outs;
    outs.add("--out", path("t.csv"), {".csv"}).stream() << "trace\n";
    outs.add("--save", path("c.ckp"), {".ckp"}).stream() << "checkpoint\n";
    EXPECT_EQ(files().size(), 2u) << "two temporaries";
    for (const auto& n : files()) EXPECT_EQ(n.rfind('.', 0), 0u) << "hidden: " << n;
  }
  EXPECT_TRUE(files().empty()) << "not committed: both removed";
  write("t.csv", "old\n");
  {
    output_set outs;
    outs.add("--out", path("t.csv"), {".csv"}).stream() << "trace\n";
    outs.add("--save", path("c.ckp"), {".ckp"}).stream() << "checkpoint\n";
    EXPECT_EQ(slurp(path("t.csv")), "old\n") << "nothing visible before commit";
    outs.commit();
  }
  EXPECT_EQ(files(), (std::vector<std::string>{"c.ckp", "t.csv"}));
  EXPECT_EQ(slurp(path("t.csv")), "trace\n");
  EXPECT_EQ(slurp(path("c.ckp")), "checkpoint\n");
}

TEST_F(OutputFiles, OutputSetRefusesBadPathsNamingTheOption) {
  fs::create_directories(path("sub"));
  fs::create_symlink("t.csv", path("link.csv"));
  fs::create_symlink("sub", path("dirlink.csv"));
  struct bad {
    std::string first, second, message;
  };
  const bad cases[] = {
      {"", "", "empty path"},
      {"sub", "", "is a directory"},
      {"dirlink.csv", "", "is a link to a directory"},
      {"t.txt", "", "must end in .csv or .npy"},
      {"nodir/t.csv", "", "directory '" + path("nodir") + "' does not exist"},
      {"t.csv", "t.csv", "same file"},
      {"t.csv", "./t.csv", "same file"},
      {"t.csv", "sub/../t.csv", "same file"},
      {"t.csv", "link.csv", "same file"},
      {"link.csv", "t.csv", "same file"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.first + " " + c.second);
    output_set outs;
    const auto full = [&](const std::string& n) { return n.empty() ? n : path(n); };
    try {
      outs.add("--a", full(c.first), {".csv", ".npy"});
      if (!c.second.empty()) outs.add("--b", full(c.second), {".csv", ".npy"});
      ADD_FAILURE() << "no error";
    } catch (const bionmda::error& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.second.empty() ? "--a" : "--b"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(files(), (std::vector<std::string>{"dirlink.csv", "link.csv", "sub"})) << "nothing created";
  // /dev/null and the like are not replaced.
  output_set outs;
  EXPECT_THROW(outs.add("--a", "/dev/null", {}), bionmda::error);
}

// A temporary whose process is gone is named (once per output) and left.
TEST_F(OutputFiles, StaleTemporariesAreReportedNotDeleted) {
  // A pid that is certainly gone: a child that exited and was reaped.
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string marker = bionmda::detail::temporary_marker;
  const std::string stale = ".t.csv" + marker + std::to_string(dead) + ".abcdefghijkl";
  const std::string nested = "..c.ckp" + marker + std::to_string(dead) + ".abcdefghijkl" + marker +
                             std::to_string(dead) + ".mnopqrstuvwx";
  const std::string live = ".t.csv" + marker + "1.abcdefghijkl";   // pid 1 runs
  const std::string other = ".u.csv" + marker + std::to_string(dead) + ".abcdefghijkl";  // another target
  for (const auto& n : {stale, nested, live, other}) write(n, "x");
  output_set outs;
  outs.add("--out", path("t.csv"), {".csv"});
  outs.add("--save", path("c.ckp"), {".ckp"});
  ASSERT_EQ(outs.warnings().size(), 2u) << ::testing::PrintToString(outs.warnings());
  EXPECT_NE(outs.warnings()[0].find(stale), std::string::npos) << outs.warnings()[0];
  EXPECT_NE(outs.warnings()[0].find("--out"), std::string::npos) << outs.warnings()[0];
  EXPECT_NE(outs.warnings()[1].find(nested), std::string::npos) << outs.warnings()[1];
  for (const auto& n : {stale, nested, live, other}) EXPECT_TRUE(fs::exists(path(n))) << n;
}

// With the tool's handlers: a signal before commit removes every temporary;
// one during commit waits until every output is in place; both end the
// process by that signal.
TEST_F(OutputFiles, SignalsRemoveTemporariesOrWaitForTheCommit) {
  for (const int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig);
    write("t.csv", "old trace\n");
    write("c.ckp", "old checkpoint\n");
    int status = in_child([&] {
      bionmda::detail::remove_temporaries_on_signals();
      output_set outs;
      outs.add("--out", path("t.csv"), {".csv"}).stream() << "trace\n";
      outs.add("--save", path("c.ckp"), {".ckp"}).stream() << "checkpoint\n";
      ::kill(::getpid(), sig);
      return 6;  // not reached
    });
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << status;
    EXPECT_EQ(files(), (std::vector<std::string>{"c.ckp", "t.csv"}));
    EXPECT_EQ(slurp(path("t.csv")), "old trace\n");
    EXPECT_EQ(slurp(path("c.ckp")), "old checkpoint\n");

    status = in_child([&] {
      bionmda::detail::remove_temporaries_on_signals();
      output_set outs;
      outs.add("--out", path("t.csv"), {".csv"}).stream() << "trace\n";
      outs.add("--save", path("c.ckp"), {".ckp"}).stream() << "checkpoint\n";
      const bionmda::detail::signal_hold hold;  // as if it came during the renames
      ::kill(::getpid(), sig);
      outs.commit();
      return 0;  // the hold's end raises the signal
    });
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << status;
    EXPECT_EQ(files(), (std::vector<std::string>{"c.ckp", "t.csv"}));
    EXPECT_EQ(slurp(path("t.csv")), "trace\n");
    EXPECT_EQ(slurp(path("c.ckp")), "checkpoint\n");
  }
}

// write_atomically inside an output set (the tool's --save): the checkpoint
// replaces the set's temporary, and the set renames it at commit.
TEST_F(OutputFiles, WriteAtomicallyOntoATemporaryOfTheSet) {
  output_set outs;
  temporary_file& f = outs.add("--save", path("c.ckp"), {".ckp"});
  write_atomically(f.path(), [](std::ostream& o) { o << "checkpoint\n"; });
  EXPECT_FALSE(fs::exists(path("c.ckp")));
  outs.commit();
  EXPECT_EQ(slurp(path("c.ckp")), "checkpoint\n");
  EXPECT_EQ(files(), std::vector<std::string>{"c.ckp"});
}

}  // namespace
