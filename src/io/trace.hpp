#pragma once
// Recorded g and x traces and their files: CSV (step,batch,unit,g,x), .npy
// [S_rec, B, U, 2] in the run's precision, and an SVG plot.
#include <cstdint>
#include <string>
#include <vector>

namespace bionmda::io {

struct trace {
  std::int64_t batch = 1;
  std::vector<std::int64_t> units;  ///< recorded unit indices
  std::vector<std::int64_t> steps;  ///< recorded step indices
  std::vector<double> values;       ///< [steps][batch][units][2]: g, x
  bool float32 = true;              ///< the run's precision (decides digits and dtype)
  double dt = 0.1;                  ///< ms, for the plot's time axis

  /// The recorded elements e = b * n_units + u of a population of n_units
  /// per batch entry, in the order record() takes their values ([batch][units]).
  [[nodiscard]] std::vector<std::int64_t> elements(std::int64_t n_units) const;
  /// Appends step s from g, x of the elements() only (batch * units.size() each).
  void record(std::int64_t s, const std::vector<double>& g, const std::vector<double>& x);
};

/// CSV text: header step,batch,unit,g,x; %.9g (float32) or %.17g (float64).
std::string trace_csv(const trace& t);
/// .npy bytes: float32 or float64, shape [S_rec, B, U, 2].
std::string trace_npy(const trace& t);
/// SVG document: g and x against time [ms], one line per recorded series.
std::string trace_svg(const trace& t);

/// Writes the trace to path (format by extension: .csv or .npy), atomically.
void write_trace(const std::string& path, const trace& t);
/// Writes the SVG plot to path, atomically.
void write_trace_plot(const std::string& path, const trace& t);

}  // namespace bionmda::io
