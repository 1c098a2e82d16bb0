#pragma once
// Copy bandwidth, the roofline a streaming step is measured against: bytes
// read plus bytes written per second, measured in the same run on the same
// memory as the step.
#include <cstddef>
#include <string>
#include <vector>

namespace bionmda::bench {

/// Host copy bandwidth with all OpenMP threads, each copying its slice
/// (median of repeats) [bytes/s, read + write].
double host_copy_bandwidth(std::size_t bytes);

/// Device-to-device cudaMemcpy bandwidth on the current device [bytes/s,
/// read + write]; 0 when CUDA is not compiled in.
double device_copy_bandwidth(std::size_t bytes);

/// Name of the CPU (from /proc/cpuinfo) or "unknown".
std::string cpu_name();

/// Median of a vector (copied).
double median(std::vector<double> v);

}  // namespace bionmda::bench
