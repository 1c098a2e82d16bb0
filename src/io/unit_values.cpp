#include "unit_values.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "bionmda/error.hpp"
#include "npy.hpp"

namespace bionmda::io {

std::optional<double> parse_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

std::vector<double> read_unit_values(const std::string& path, std::int64_t units,
                                     const std::string& option) {
  const std::string where = option + " " + path;
  std::vector<double> v;
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    const npy_array a = read_npy(path);
    if (a.shape.size() != 1) throw error("bionmda: " + where + ": per-unit values must be a 1-d array");
    if (a.descr == "<f8") {
      v.resize(a.data.size() / 8);
      std::memcpy(v.data(), a.data.data(), a.data.size());
    } else if (a.descr == "<f4") {
      std::vector<float> f(a.data.size() / 4);
      std::memcpy(f.data(), a.data.data(), a.data.size());
      v.assign(f.begin(), f.end());
    } else {
      throw error("bionmda: " + where + ": per-unit values must be float32 or float64, got '" + a.descr + "'");
    }
  } else {
    std::ifstream in(path);
    if (!in) {
      throw error("bionmda: " + option + ": '" + path + "' is neither a number nor a readable file");
    }
    std::string line;
    std::int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty()) continue;
      const auto x = parse_number(line);
      if (!x) {
        throw error("bionmda: " + path + ":" + std::to_string(line_no) + ": " + option +
                    " value '" + line + "' is not a number");
      }
      v.push_back(*x);
    }
  }
  if (static_cast<std::int64_t>(v.size()) != units) {
    throw error("bionmda: " + where + ": has " + std::to_string(v.size()) + " values; --size is " +
                std::to_string(units));
  }
  return v;
}

}  // namespace bionmda::io
