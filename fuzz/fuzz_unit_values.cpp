// Fuzz target: parameter files (src/io/unit_values.cpp), as text and as .npy.
// Any input must give exactly the asked number of finite values in range, or
// raise bionmda::error with a short, printable message; nothing else.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bionmda/error.hpp"
#include "npy.hpp"
#include "unit_values.hpp"

namespace {

using namespace bionmda;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void require_short_printable(const error& e) {
  const std::string what = e.what();
  require(what.size() <= 400);
  for (const char c : what) require(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f);
}

void require_values(const std::vector<double>& v, std::size_t units, const io::value_range& range) {
  require(v.size() == units);
  for (const double x : v) require(std::isfinite(x) && range.contains(x));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1u << 20)) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const io::value_range rate{0};        // a kinetic parameter
  const io::value_range fraction{0, 1};  // --g0, --x0
  for (const std::int64_t units : {0, 3}) {
    try {
      require_values(io::parse_unit_values(text, "fuzz.txt", units, "--alpha1", rate), units, rate);
    } catch (const error& e) {
      require_short_printable(e);
    }
  }
  try {
    const io::npy_array a = io::parse_npy(std::vector<std::uint8_t>(data, data + size), "fuzz.npy");
    require_values(io::unit_values_from_npy(a, "fuzz.npy", 3, "--g0", fraction), 3, fraction);
  } catch (const error& e) {
    require_short_printable(e);
  }
  return 0;
}
