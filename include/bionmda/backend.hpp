#pragma once
/**
 * @file backend.hpp
 * @brief Backend and precision selection, and CUDA device discovery.
 */
#include <cstddef>
#include <string>
#include <vector>

namespace bionmda {

/** @brief Where a population's state lives and its steps run. */
enum class backend {
  /// CUDA when a usable device exists, else CPU, with a one-line notice on
  /// stderr the first time. To fall back silently, pass the backend that
  /// resolve_backend(backend::automatic) returns instead (as `bionmda
  /// simulate --quiet` does): an explicit backend prints nothing.
  automatic,
  cpu,        ///< host memory, OpenMP threads and SIMD
  cuda,       ///< device memory, one fused kernel per step; an error when no device is usable
};

/** @brief Floating-point type of the state g, x and of the parameters. */
enum class precision { float32, float64 };

/** @brief "auto", "cpu" or "cuda". */
[[nodiscard]] const char* to_string(backend b) noexcept;
/** @brief "float32" or "float64". */
[[nodiscard]] const char* to_string(precision p) noexcept;
/** @brief Parses "auto", "cpu", "cuda"; throws bionmda::invalid_argument otherwise. */
[[nodiscard]] backend parse_backend(const std::string& name);
/** @brief Parses "float32", "float64"; throws bionmda::invalid_argument otherwise. */
[[nodiscard]] precision parse_precision(const std::string& name);

/** @brief Properties of one CUDA device. */
struct device_info {
  int ordinal = 0;                   ///< CUDA device index
  std::string name;                  ///< e.g. "NVIDIA H100 80GB HBM3"
  std::size_t total_memory = 0;      ///< bytes
  int compute_major = 0;             ///< compute capability, major
  int compute_minor = 0;             ///< compute capability, minor
  int multiprocessors = 0;           ///< SM count
};

/**
 * @brief Vector instruction set the CPU backend runs with on this machine:
 *        "avx512", "avx2" or "generic". The environment variable
 *        BIONMDA_CPU_ISA can lower (never raise) the choice.
 */
[[nodiscard]] const char* cpu_instruction_set() noexcept;

/** @brief True when this build contains the CUDA backend. */
[[nodiscard]] bool cuda_compiled() noexcept;

/**
 * @brief Usable CUDA devices; empty when CUDA is not compiled in, no driver is
 *        installed, or no device is present (never throws for those cases).
 */
[[nodiscard]] std::vector<device_info> cuda_devices();

/** @brief Why cuda_devices() is empty (e.g. the driver's error), or "" when it is not. */
[[nodiscard]] std::string cuda_unavailable_reason();

/**
 * @brief The backend `automatic` resolves to on this machine.
 *
 * Returns backend::cuda when a usable device exists, else backend::cpu.
 */
[[nodiscard]] backend resolve_backend(backend requested);

}  // namespace bionmda
