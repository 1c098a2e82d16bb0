#include "trace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>

#include "util/atomic_file.hpp"
#include "bionmda/error.hpp"
#include "npy.hpp"

namespace bionmda::io {

std::vector<std::int64_t> trace::elements(std::int64_t n_units) const {
  std::vector<std::int64_t> e;
  e.reserve(static_cast<std::size_t>(batch) * units.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t u : units) e.push_back(b * n_units + u);
  }
  return e;
}

void trace::record(std::int64_t s, const std::vector<double>& g, const std::vector<double>& x) {
  const std::size_t n = static_cast<std::size_t>(batch) * units.size();
  if (g.size() != n || x.size() != n) {
    throw error("bionmda: trace::record: " + std::to_string(g.size()) + " g and " + std::to_string(x.size()) +
                " x values for " + std::to_string(n) + " recorded elements");
  }
  steps.push_back(s);
  for (std::size_t k = 0; k < n; ++k) {
    values.push_back(g[k]);
    values.push_back(x[k]);
  }
}

std::string trace_csv(const trace& t) {
  std::string out = "step,batch,unit,g,x\n";
  const char* fmt = t.float32 ? "%lld,%lld,%lld,%.9g,%.9g\n" : "%lld,%lld,%lld,%.17g,%.17g\n";
  char line[160];
  std::size_t k = 0;
  for (std::int64_t s : t.steps) {
    for (std::int64_t b = 0; b < t.batch; ++b) {
      for (std::int64_t u : t.units) {
        const int n = std::snprintf(line, sizeof line, fmt, static_cast<long long>(s),
                                    static_cast<long long>(b), static_cast<long long>(u),
                                    t.values[k], t.values[k + 1]);
        out.append(line, static_cast<std::size_t>(n));
        k += 2;
      }
    }
  }
  return out;
}

std::string trace_npy(const trace& t) {
  const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(t.steps.size()), t.batch,
                                           static_cast<std::int64_t>(t.units.size()), 2};
  if (t.float32) {
    std::vector<float> f(t.values.begin(), t.values.end());
    return npy_bytes("<f4", shape, f.data(), f.size() * sizeof(float));
  }
  return npy_bytes("<f8", shape, t.values.data(), t.values.size() * sizeof(double));
}

namespace {

std::string extension(const std::string& path) {
  const auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// "Nice" tick step for a range: 1, 2 or 5 times a power of ten.
double tick_step(double range, int target) {
  const double raw = range / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

}  // namespace

std::string trace_svg(const trace& t) {
  const int width = 960, panel_h = 260, left = 80, right = 200, top = 40, gap = 70;
  const int plot_w = width - left - right;
  const int height = top + 2 * panel_h + gap + 60;
  const std::size_t series = static_cast<std::size_t>(t.batch) * t.units.size();
  const std::size_t shown = std::min<std::size_t>(series, 12);
  static const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"};
  const double t0 = t.steps.empty() ? 0.0 : static_cast<double>(t.steps.front()) * t.dt;
  double t1 = t.steps.empty() ? 1.0 : static_cast<double>(t.steps.back() + 1) * t.dt;
  if (t1 <= t0) t1 = t0 + t.dt;

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
       std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + std::to_string(left) + "\" y=\"22\" font-size=\"15\">BioNMDA traces (" +
       std::to_string(series) + " recorded series" + (shown < series ? ", first 12 shown" : "") +
       ")</text>\n";

  for (int panel = 0; panel < 2; ++panel) {
    const int y0 = top + panel * (panel_h + gap);
    // Value range of this variable over the shown series, padded.
    double lo = 1, hi = 0;
    for (std::size_t k = 0; k < t.steps.size(); ++k) {
      for (std::size_t q = 0; q < shown; ++q) {
        const double v = t.values[(k * series + q) * 2 + static_cast<std::size_t>(panel)];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
    if (hi < lo) {
      lo = 0;
      hi = 1;
    }
    if (hi - lo < 1e-12) hi = lo + std::max(1e-3, std::fabs(lo) * 0.1);
    const double pad = 0.05 * (hi - lo);
    lo = std::max(0.0, lo - pad);
    hi = hi + pad;
    auto X = [&](double tm) { return left + (tm - t0) / (t1 - t0) * plot_w; };
    auto Y = [&](double v) { return y0 + panel_h - (v - lo) / (hi - lo) * panel_h; };

    s += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(y0) + "\" width=\"" +
         std::to_string(plot_w) + "\" height=\"" + std::to_string(panel_h) +
         "\" fill=\"none\" stroke=\"black\"/>\n";
    const double xs = tick_step(t1 - t0, 8);
    for (double tm = std::ceil(t0 / xs) * xs; tm <= t1 + 1e-9; tm += xs) {
      s += "<line x1=\"" + fmt("%.2f", X(tm)) + "\" x2=\"" + fmt("%.2f", X(tm)) + "\" y1=\"" +
           std::to_string(y0 + panel_h) + "\" y2=\"" + std::to_string(y0 + panel_h + 5) +
           "\" stroke=\"black\"/>\n<text x=\"" + fmt("%.2f", X(tm)) + "\" y=\"" +
           std::to_string(y0 + panel_h + 18) + "\" text-anchor=\"middle\">" + fmt("%g", tm) + "</text>\n";
    }
    const double ys = tick_step(hi - lo, 5);
    for (double v = std::ceil(lo / ys) * ys; v <= hi + 1e-12; v += ys) {
      s += "<line x1=\"" + std::to_string(left - 5) + "\" x2=\"" + std::to_string(left) + "\" y1=\"" +
           fmt("%.2f", Y(v)) + "\" y2=\"" + fmt("%.2f", Y(v)) + "\" stroke=\"black\"/>\n<text x=\"" +
           std::to_string(left - 8) + "\" y=\"" + fmt("%.2f", Y(v) + 4) + "\" text-anchor=\"end\">" +
           fmt("%g", v) + "</text>\n";
    }
    s += "<text x=\"" + std::to_string(left + plot_w / 2) + "\" y=\"" + std::to_string(y0 + panel_h + 36) +
         "\" text-anchor=\"middle\">time [ms]</text>\n";
    s += "<text transform=\"translate(20," + std::to_string(y0 + panel_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" +
         (panel == 0 ? std::string("g (open fraction, 1)") : std::string("x (auxiliary state, 1)")) +
         "</text>\n";
    for (std::size_t q = 0; q < shown; ++q) {
      std::string pts;
      for (std::size_t k = 0; k < t.steps.size(); ++k) {
        const double tm = static_cast<double>(t.steps[k] + 1) * t.dt;
        const double v = t.values[(k * series + q) * 2 + static_cast<std::size_t>(panel)];
        pts += fmt("%.2f", X(tm)) + "," + fmt("%.2f", Y(v)) + " ";
      }
      s += "<polyline fill=\"none\" stroke-width=\"1.2\" stroke=\"" + std::string(colors[q % 12]) +
           "\" points=\"" + pts + "\"/>\n";
    }
  }
  // Legend.
  for (std::size_t q = 0; q < shown; ++q) {
    const std::int64_t b = static_cast<std::int64_t>(q / t.units.size());
    const std::int64_t u = t.units[q % t.units.size()];
    const int y = top + 14 + static_cast<int>(q) * 18;
    s += "<line x1=\"" + std::to_string(width - right + 20) + "\" x2=\"" + std::to_string(width - right + 44) +
         "\" y1=\"" + std::to_string(y) + "\" y2=\"" + std::to_string(y) + "\" stroke=\"" + colors[q % 12] +
         "\" stroke-width=\"2\"/>\n<text x=\"" + std::to_string(width - right + 50) + "\" y=\"" +
         std::to_string(y + 4) + "\">batch " + std::to_string(b) + ", unit " + std::to_string(u) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

void write_trace(const std::string& path, const trace& t) {
  const std::string ext = extension(path);
  if (ext != ".csv" && ext != ".npy") throw error("bionmda: " + path + ": --out must end in .csv or .npy");
  const std::string body = ext == ".csv" ? trace_csv(t) : trace_npy(t);
  detail::write_atomically(path, [&](std::ostream& o) { o.write(body.data(), static_cast<std::streamsize>(body.size())); });
}

void write_trace_plot(const std::string& path, const trace& t) {
  if (extension(path) != ".svg") throw error("bionmda: " + path + ": --plot must end in .svg");
  const std::string body = trace_svg(t);
  detail::write_atomically(path, [&](std::ostream& o) { o.write(body.data(), static_cast<std::streamsize>(body.size())); });
}

}  // namespace bionmda::io
