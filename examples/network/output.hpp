// What examples/network writes: the spike raster (SVG) and every spike (CSV).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace network_example {

struct spike {
  std::int64_t step;
  std::int64_t neuron;
  bool operator<(const spike& o) const { return step != o.step ? step < o.step : neuron < o.neuron; }
  bool operator==(const spike& o) const { return step == o.step && neuron == o.neuron; }
};

// A command-line value or output the network cannot run with (exit code 2).
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Refuses an output path that cannot be written before the run starts: its
// temporary (PATH.tmp, renamed onto PATH at the end) is created and removed.
void check_writable(const std::string& path, const char* option);

// Refuses a directory that cannot be created or written before the run
// starts: it is created (with its parents) and a file in it created and removed.
void check_directory(const std::string& path, const char* option);

// `step,neuron` lines in the order given, via PATH.tmp renamed into place.
void write_spikes(const std::string& path, const std::vector<spike>& spikes);

void write_raster(const std::string& path, const std::vector<spike>& spikes, std::int64_t n_exc, std::int64_t n,
                  double dt, double t_end, double rate_e, double rate_i, const std::string& where);

}  // namespace network_example
