// Fuzz target: the .npy reader and the spike conversion on top of it.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bionmda/error.hpp"
#include "npy.hpp"
#include "spike_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  try {
    const auto a = bionmda::io::parse_npy(bytes, "fuzz.npy");
    if (static_cast<std::size_t>(a.elements()) * (a.descr == "<f8" || a.descr == "<i8" || a.descr == "<u8" ? 8
                                                  : a.descr[2] == '4'                   ? 4
                                                                                         : 1) != a.data.size()) {
      __builtin_trap();  // the reader promised data of exactly shape x itemsize
    }
    (void)bionmda::io::spikes_from_npy(a, "fuzz.npy", 64, 2, 8);
  } catch (const bionmda::error&) {
  }
  return 0;
}
