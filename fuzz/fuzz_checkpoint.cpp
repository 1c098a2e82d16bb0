// Fuzz target: the checkpoint loader. The input's last 8 bytes are replaced
// by the correct xxHash64 of the rest, so mutations reach the payload parser
// instead of stopping at the checksum.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "bionmda/checkpoint.hpp"
#include "bionmda/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1u << 20)) return 0;
  std::vector<char> b(data, data + size);
  if (b.size() >= 8) {
    const std::uint64_t sum = XXH64(b.data(), b.size() - 8, 0);
    std::memcpy(b.data() + b.size() - 8, &sum, 8);
  }
  static const std::string path = "/tmp/bionmda_fuzz_checkpoint_" + std::to_string(::getpid()) + ".ckp";
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size()));
  try {
    bionmda::population p = bionmda::load_checkpoint(path, bionmda::backend::cpu);
    // A loaded population must be usable.
    if (p.elements() <= 4096) p.step();
  } catch (const bionmda::error&) {
  }
  return 0;
}
