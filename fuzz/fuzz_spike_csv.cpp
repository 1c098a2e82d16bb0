// Fuzz target: the CSV spike reader. Any input must parse or raise
// bionmda::error; nothing else (no crash, no other exception).
#include <cstddef>
#include <cstdint>
#include <string>

#include "bionmda/error.hpp"
#include "spike_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto t = bionmda::io::parse_spike_csv(text, "fuzz.csv", 100, 3, 50);
    for (const auto& step : t.by_step) {
      for (auto e : step) {
        if (e < 0 || e >= 150) __builtin_trap();  // an accepted spike must be in range
      }
    }
  } catch (const bionmda::error&) {
  }
  return 0;
}
