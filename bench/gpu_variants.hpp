#pragma once
// GPU variants timed side by side (gpu_variants.cu): fused vs multi-pass
// Thrust, CUDA graph replay vs plain launches, precision, input form, rate.
#include <nlohmann/json.hpp>

namespace bionmda::bench {

/// Prints the tables and returns every figure. Throws bionmda::error when a
/// variant disagrees with the fused step, or when no device is usable.
nlohmann::json run_gpu_variants(int repeats);

}  // namespace bionmda::bench
