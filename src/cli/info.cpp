// `bionmda info`: build configuration, backends, devices.
#include <cstdio>

#include "bionmda/bionmda.hpp"
#include "commands.hpp"

#ifndef BIONMDA_CUDA_ARCHITECTURES
#define BIONMDA_CUDA_ARCHITECTURES "none"
#endif

namespace bionmda::cli {

void add_info(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("info", "Build configuration, backends compiled in, devices found");
  cmd->callback([] {
    std::printf("bionmda %s\n", BIONMDA_VERSION_STRING);
    std::printf("compiler: %s\n", __VERSION__);
    std::printf("backends compiled in: cpu%s\n", cuda_compiled() ? ", cuda" : "");
    std::printf("cpu backend: %s vector code\n", cpu_instruction_set());
    std::printf("cuda architectures: %s\n", cuda_compiled() ? BIONMDA_CUDA_ARCHITECTURES : "none");
    const auto devs = cuda_devices();
    if (devs.empty()) {
      std::printf("cuda devices: none (%s)\n", cuda_unavailable_reason().c_str());
    } else {
      for (const auto& d : devs) {
        std::printf("cuda device %d: %s, %.1f GiB, compute capability %d.%d, %d SMs\n", d.ordinal,
                    d.name.c_str(), static_cast<double>(d.total_memory) / (1u << 30), d.compute_major,
                    d.compute_minor, d.multiprocessors);
      }
    }
    std::printf("backend 'auto' resolves to: %s\n", to_string(resolve_backend(backend::automatic)));
  });
}

}  // namespace bionmda::cli
