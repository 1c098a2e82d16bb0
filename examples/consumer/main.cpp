// Uses the installed library through find_package(bionmda): runs a small
// population on the CPU and checks it against the float64 reference.
#include <bionmda/bionmda.hpp>
#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  bionmda::population_config cfg;
  cfg.units = 1000;
  cfg.backend = bionmda::backend::cpu;
  cfg.precision = bionmda::precision::float64;
  bionmda::population pop(cfg);
  bionmda::reference_population ref(cfg.units, 1, cfg.dt, cfg.params, pop.g(), pop.x());
  std::vector<std::uint8_t> mask(1000, 0);
  for (int s = 0; s < 200; ++s) {
    for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = (s + i) % 50 == 0;
    pop.step(bionmda::dense_mask(bionmda::host_span<const std::uint8_t>(mask)));
    ref.step(mask.data());
  }
  const auto g = pop.g();
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::fabs(g[i] - ref.g()[i]));
  std::printf("bionmda %s consumer: cuda compiled %s, max |g - reference| %.3g\n",
              BIONMDA_VERSION_STRING, bionmda::cuda_compiled() ? "yes" : "no", worst);
  return worst <= 1e-12 ? 0 : 1;
}
