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
    if (t.spike_step.size() != t.spike_element.size()) __builtin_trap();
    for (std::size_t k = 0; k < t.spike_element.size(); ++k) {
      const auto e = t.spike_element[k], s = t.spike_step[k];
      if (e < 0 || e >= 150) __builtin_trap();  // an accepted spike must be in range
      if (s < 0 || s >= 100 || (k > 0 && s < t.spike_step[k - 1])) __builtin_trap();  // and sorted by step
    }
  } catch (const bionmda::error&) {
  }
  return 0;
}
