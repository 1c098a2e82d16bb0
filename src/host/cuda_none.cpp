// The CUDA entry points for builds without the CUDA backend: no devices, and
// a clear error for anything that needs one.
#include "bionmda/backend.hpp"
#include "bionmda/detail/error_macros.hpp"
#include "cuda_entry.hpp"
#include "engine.hpp"

namespace bionmda {
bool cuda_compiled() noexcept { return false; }
std::vector<device_info> cuda_devices() { return {}; }
std::string cuda_unavailable_reason() {
  return "this build of bionmda has no CUDA backend (BIONMDA_ENABLE_CUDA=OFF)";
}
}  // namespace bionmda

namespace bionmda::detail {
namespace {
[[noreturn]] void no_cuda(const char* what) {
  BIONMDA_FAIL_AS(backend_unavailable, what << " needs the CUDA backend, which this build of bionmda does not have");
}
}  // namespace

template <class Real>
std::unique_ptr<typed_engine<Real>> make_cuda_engine(const prepared_model&, const engine_setup<Real>&) {
  no_cuda("a CUDA population");
}
template std::unique_ptr<typed_engine<float>> make_cuda_engine(const prepared_model&, const engine_setup<float>&);
template std::unique_ptr<typed_engine<double>> make_cuda_engine(const prepared_model&, const engine_setup<double>&);

void* cuda_allocate(std::size_t, int, const char*) { no_cuda("device memory"); }
void cuda_free(void*, int) noexcept {}
void* cuda_host_allocate(std::size_t, const char*) { no_cuda("page-locked host memory"); }
void cuda_host_free(void*) noexcept {}
void cuda_copy(void*, memory_space, const void*, memory_space, std::size_t, cudaStream_t) {
  no_cuda("a copy to or from device memory");
}
}  // namespace bionmda::detail
