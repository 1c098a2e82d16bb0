// Device discovery for builds without the CUDA backend.
#include "bionmda/backend.hpp"
#include "bionmda/detail/error_macros.hpp"
#include "engine.hpp"
#include "post_engine.hpp"

namespace bionmda {
bool cuda_compiled() noexcept { return false; }
std::vector<device_info> cuda_devices() { return {}; }
std::string cuda_unavailable_reason() {
  return "this build of bionmda has no CUDA backend (BIONMDA_ENABLE_CUDA=OFF)";
}
}  // namespace bionmda

namespace bionmda::detail {
std::unique_ptr<engine> make_cuda_engine(const prepared_model&, engine_shape, precision, int,
                                         bool) {
  BIONMDA_FAIL_AS(backend_unavailable, "this build of bionmda has no CUDA backend");
}
std::unique_ptr<post_engine> make_cuda_post_engine(const csr_connectivity&, const mg_block&, precision,
                                                   std::int64_t, std::int64_t, int) {
  BIONMDA_FAIL_AS(backend_unavailable, "this build of bionmda has no CUDA backend");
}
}  // namespace bionmda::detail
