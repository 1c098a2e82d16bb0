// Replays a corpus through a fuzz target's entry point with a plain main, so
// the regression cases run in every build (g++ too): fuzz_replay DIR...
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::size_t files = 0;
  auto replay = [&](const std::filesystem::path& p) {
    std::fprintf(stderr, "%s\n", p.c_str());
    std::ifstream in(p, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    ++files;
  };
  for (int a = 1; a < argc; ++a) {
    if (std::filesystem::is_regular_file(argv[a])) {
      replay(argv[a]);
      continue;
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(argv[a])) {
      if (e.is_regular_file()) replay(e.path());
    }
  }
  std::printf("replayed %zu inputs\n", files);
  return files > 0 ? 0 : 1;  // an empty corpus is a broken test
}
