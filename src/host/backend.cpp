// Names of backends and precisions, and the choice behind backend::automatic.
#include "bionmda/backend.hpp"

#include "bionmda/detail/error_macros.hpp"

namespace bionmda {

const char* to_string(backend b) noexcept {
  switch (b) {
    case backend::automatic: return "auto";
    case backend::cpu: return "cpu";
    case backend::cuda: return "cuda";
  }
  return "?";
}

const char* to_string(precision p) noexcept {
  return p == precision::float32 ? "float32" : "float64";
}

backend parse_backend(const std::string& name) {
  if (name == "auto") return backend::automatic;
  if (name == "cpu") return backend::cpu;
  if (name == "cuda") return backend::cuda;
  BIONMDA_FAIL_AS(invalid_argument, "backend must be auto, cpu or cuda, got '" << name << "'");
}

precision parse_precision(const std::string& name) {
  if (name == "float32") return precision::float32;
  if (name == "float64") return precision::float64;
  BIONMDA_FAIL_AS(invalid_argument,
                  "precision must be float32 or float64, got '" << name << "'");
}

backend resolve_backend(backend requested) {
  if (requested == backend::cpu) return backend::cpu;
  const bool usable = !cuda_devices().empty();
  if (requested == backend::cuda) {
    BIONMDA_EXPECTS_AS(backend_unavailable, usable,
                       "the cuda backend was requested but no CUDA device is usable: "
                           << cuda_unavailable_reason());
    return backend::cuda;
  }
  return usable ? backend::cuda : backend::cpu;
}

}  // namespace bionmda
