// Device discovery through the CUDA runtime. Without a driver,
// cudaGetDeviceCount returns an error (not 0): that means "no device".
#include <cuda_runtime_api.h>

#include <string>

#include "bionmda/backend.hpp"

namespace bionmda {
namespace {
struct discovery {
  std::vector<device_info> devices;
  std::string reason;
};

discovery discover() {
  discovery d;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky-free error so later calls start clean
    d.reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(err) + " (" +
               cudaGetErrorString(err) + ")";
    return d;
  }
  if (count == 0) {
    d.reason = "the CUDA driver reports no devices";
    return d;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      (void)cudaGetLastError();
      continue;
    }
    device_info info;
    info.ordinal = i;
    info.name = p.name;
    info.total_memory = p.totalGlobalMem;
    info.compute_major = p.major;
    info.compute_minor = p.minor;
    info.multiprocessors = p.multiProcessorCount;
    d.devices.push_back(info);
  }
  if (d.devices.empty()) d.reason = "no CUDA device could be queried";
  return d;
}

const discovery& cached() {
  static const discovery d = discover();
  return d;
}
}  // namespace

bool cuda_compiled() noexcept { return true; }
std::vector<device_info> cuda_devices() { return cached().devices; }
std::string cuda_unavailable_reason() { return cached().reason; }

}  // namespace bionmda
