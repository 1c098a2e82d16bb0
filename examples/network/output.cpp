// The spike raster (SVG) and the spike list (CSV) of examples/network.
#include "output.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace network_example {

void check_writable(const std::string& path, const char* option) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw usage_error{std::string(option) + ": cannot write " + tmp};
  }
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
}

void check_directory(const std::string& path, const char* option) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec || !std::filesystem::is_directory(path, ec)) {
    throw usage_error{std::string(option) + " " + path + ": cannot create the directory" +
                      (ec ? ": " + ec.message() : std::string())};
  }
  check_writable(path + "/.bionmda-write-test", option);
}

void write_spikes(const std::string& path, const std::vector<spike>& spikes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << "step,neuron\n";
    for (const auto& s : spikes) f << s.step << ',' << s.neuron << '\n';
    f.close();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw usage_error{"cannot write " + tmp};
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw usage_error{"cannot rename " + tmp + " to " + path + ": " + ec.message()};
}

void write_raster(const std::string& path, const std::vector<spike>& spikes, std::int64_t n_exc, std::int64_t n,
                  double dt, double t_end, double rate_e, double rate_i, const std::string& where) {
  const int W = 900, H = 520, left = 70, top = 40, pw = 800, ph = 420;
  std::ofstream f(path);
  f << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  f << "<text x=\"" << left << "\" y=\"22\" font-size=\"14\">E/I LIF network with BioNMDA excitation (" << where
    << "): E " << rate_e << " Hz, I " << rate_i << " Hz</text>\n";
  f << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  // One path per population, a short horizontal tick per spike (compact).
  for (int pop = 0; pop < 2; ++pop) {
    f << "<path stroke=\"" << (pop == 0 ? "#1f77b4" : "#d62728") << "\" stroke-width=\"0.8\" d=\"";
    char buf[48];
    for (const auto& s : spikes) {
      if ((s.neuron < n_exc) != (pop == 0)) continue;
      const auto t_ms = static_cast<float>(static_cast<double>(s.step) * dt);
      const double x = left + t_ms / t_end * pw;
      const double y = top + ph - (static_cast<double>(s.neuron) + 0.5) / static_cast<double>(n) * ph;
      std::snprintf(buf, sizeof buf, "M%.1f %.1fh1.2", x, y);
      f << buf;
    }
    f << "\"/>\n";
  }
  for (int k = 0; k <= 5; ++k) {
    const double t = t_end * k / 5;
    const double x = left + pw * k / 5.0;
    f << "<text x=\"" << x << "\" y=\"" << top + ph + 18 << "\" text-anchor=\"middle\">" << t << "</text>\n";
  }
  f << "<text x=\"" << left + pw / 2 << "\" y=\"" << top + ph + 36 << "\" text-anchor=\"middle\">time [ms]</text>\n";
  f << "<text transform=\"translate(20," << top + ph / 2
    << ") rotate(-90)\" text-anchor=\"middle\">neuron (blue: excitatory, red: inhibitory)</text>\n";
  for (const std::int64_t k : {std::int64_t{0}, n_exc, n}) {
    f << "<text x=\"" << left - 6 << "\" y=\""
      << top + ph - static_cast<double>(k) / static_cast<double>(n) * ph + 4 << "\" text-anchor=\"end\">" << k
      << "</text>\n";
  }
  f << "</svg>\n";
}

}  // namespace network_example
