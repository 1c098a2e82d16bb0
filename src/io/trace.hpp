#pragma once
// Recorded g and x traces and their files: CSV (step,batch,unit,g,x), .npy
// [S_rec, B, U, 2] in the run's precision, both streamed to the file as the
// steps are recorded, and an SVG plot from a bounded summary.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace bionmda::io {

/// What a run records, known before its first step.
struct trace_layout {
  std::int64_t batch = 1;
  std::vector<std::int64_t> units;  ///< recorded unit indices
  std::int64_t records = 0;         ///< recorded steps the run will give (the .npy's S_rec)
  bool float32 = true;              ///< the run's precision (decides digits and dtype)
  double dt = 0.1;                  ///< ms, for the plot's time axis

  /// The recorded elements e = b * n_units + u of a population of n_units
  /// per batch entry, in the order record() takes their values ([batch][units]).
  [[nodiscard]] std::vector<std::int64_t> elements(std::int64_t n_units) const;
  /// Values per recorded step: batch * units.size().
  [[nodiscard]] std::size_t series() const;
};

enum class trace_format { csv, npy };

/// The format of a trace file by its extension (.csv or .npy, any case).
[[nodiscard]] std::optional<trace_format> trace_format_of(const std::string& path);

/**
 * @brief Writes a trace to a stream as it is recorded: the header at once
 *        (the .npy shape from layout.records), then each step's rows, so that
 *        no trace is held in memory.
 */
class trace_writer {
 public:
  trace_writer(std::ostream& out, trace_format format, trace_layout layout);
  /// Appends step s from g, x of the elements() (series() values each).
  /// @throw bionmda::error on a wrong count or beyond layout.records
  void record(std::int64_t s, const std::vector<double>& g, const std::vector<double>& x);
  /// @throw bionmda::error unless exactly layout.records steps were recorded.
  void finish();

 private:
  std::ostream& out_;
  trace_format format_;
  trace_layout layout_;
  std::int64_t recorded_ = 0;
  std::string text_;         // CSV rows of one step
  std::vector<float> f32_;   // .npy float32 values of one step
  std::vector<double> f64_;  // .npy float64 values of one step
};

/**
 * @brief The data of the SVG plot, bounded: the first 12 series, and for each
 *        of g and x at most max_points points. Up to max_points recorded
 *        steps, every point; beyond, the first and the last point and, per
 *        bucket of ceil(records / (max_points / 2 - 1)) consecutive steps,
 *        the minimum and the maximum in time order, so that peaks, troughs
 *        and the value range (hence the axes) are those of the full trace.
 */
class trace_plot {
 public:
  static constexpr std::size_t default_max_points = 2048;
  explicit trace_plot(trace_layout layout, std::size_t max_points = default_max_points);
  void record(std::int64_t s, const std::vector<double>& g, const std::vector<double>& x);
  /// SVG document: g and x against time [ms], one line per shown series.
  [[nodiscard]] std::string svg() const;

 private:
  struct point {
    std::int64_t step;
    double value;
  };
  struct extremes {  // of the current bucket; and the series' first and last point
    point lo{0, 0}, hi{0, 0}, first{0, 0}, last{0, 0};
  };
  [[nodiscard]] std::vector<point> points(std::size_t q, int var) const;

  trace_layout layout_;
  std::size_t shown_;
  std::int64_t bucket_;                      // recorded steps per bucket (1: every point)
  std::int64_t in_bucket_ = 0;               // steps in the current bucket so far
  std::int64_t first_step_ = -1, last_step_ = -1;
  std::vector<std::vector<point>> kept_;     // [q * 2 + var]
  std::vector<extremes> open_;               // [q * 2 + var]
};

}  // namespace bionmda::io
