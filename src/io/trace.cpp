#include "trace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>

#include "bionmda/error.hpp"
#include "npy.hpp"

namespace bionmda::io {

std::vector<std::int64_t> trace_layout::elements(std::int64_t n_units) const {
  std::vector<std::int64_t> e;
  e.reserve(series());
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t u : units) e.push_back(b * n_units + u);
  }
  return e;
}

std::size_t trace_layout::series() const { return static_cast<std::size_t>(batch) * units.size(); }

namespace {

std::string extension(const std::string& path) {
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash) ? "" : path.substr(dot);
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

std::optional<trace_format> trace_format_of(const std::string& path) {
  const std::string ext = extension(path);
  if (ext == ".csv") return trace_format::csv;
  if (ext == ".npy") return trace_format::npy;
  return std::nullopt;
}

namespace {

void check_counts(const trace_layout& l, const std::vector<double>& g, const std::vector<double>& x) {
  const std::size_t n = l.series();
  if (g.size() != n || x.size() != n) {
    throw error("bionmda: trace: " + std::to_string(g.size()) + " g and " + std::to_string(x.size()) +
                " x values for " + std::to_string(n) + " recorded elements");
  }
}

}  // namespace

trace_writer::trace_writer(std::ostream& out, trace_format format, trace_layout layout)
    : out_(out), format_(format), layout_(std::move(layout)) {
  if (format_ == trace_format::csv) {
    out_ << "step,batch,unit,g,x\n";
  } else {
    const std::vector<std::int64_t> shape = {layout_.records, layout_.batch,
                                             static_cast<std::int64_t>(layout_.units.size()), 2};
    out_ << npy_header(layout_.float32 ? "<f4" : "<f8", shape);
  }
  // The header reaches the file at once: a run that has started shows it.
  out_.flush();
}

void trace_writer::record(std::int64_t s, const std::vector<double>& g, const std::vector<double>& x) {
  check_counts(layout_, g, x);
  if (recorded_ >= layout_.records) {
    throw error("bionmda: trace: more than the " + std::to_string(layout_.records) + " recorded steps announced");
  }
  ++recorded_;
  const std::size_t n = g.size();
  if (format_ == trace_format::csv) {
    const char* fmt = layout_.float32 ? "%lld,%lld,%lld,%.9g,%.9g\n" : "%lld,%lld,%lld,%.17g,%.17g\n";
    char line[160];
    text_.clear();
    std::size_t k = 0;
    for (std::int64_t b = 0; b < layout_.batch; ++b) {
      for (std::int64_t u : layout_.units) {
        const int len = std::snprintf(line, sizeof line, fmt, static_cast<long long>(s), static_cast<long long>(b),
                                      static_cast<long long>(u), g[k], x[k]);
        text_.append(line, static_cast<std::size_t>(len));
        ++k;
      }
    }
    out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
  } else if (layout_.float32) {
    f32_.resize(2 * n);
    for (std::size_t k = 0; k < n; ++k) {
      f32_[2 * k] = static_cast<float>(g[k]);
      f32_[2 * k + 1] = static_cast<float>(x[k]);
    }
    out_.write(reinterpret_cast<const char*>(f32_.data()), static_cast<std::streamsize>(f32_.size() * sizeof(float)));
  } else {
    f64_.resize(2 * n);
    for (std::size_t k = 0; k < n; ++k) {
      f64_[2 * k] = g[k];
      f64_[2 * k + 1] = x[k];
    }
    out_.write(reinterpret_cast<const char*>(f64_.data()), static_cast<std::streamsize>(f64_.size() * sizeof(double)));
  }
}

void trace_writer::finish() {
  if (recorded_ != layout_.records) {
    throw error("bionmda: trace: " + std::to_string(recorded_) + " steps recorded, " +
                std::to_string(layout_.records) + " announced in the header");
  }
  out_.flush();
}

trace_plot::trace_plot(trace_layout layout, std::size_t max_points)
    : layout_(std::move(layout)),
      shown_(std::min<std::size_t>(layout_.series(), 12)),
      kept_(2 * shown_),
      open_(2 * shown_) {
  // Up to max_points records: every point. Beyond: the first and the last
  // point, and two per bucket.
  const auto buckets = static_cast<std::int64_t>(std::max<std::size_t>(max_points, 4) / 2 - 1);
  bucket_ = layout_.records <= static_cast<std::int64_t>(max_points) ? 1 : (layout_.records + buckets - 1) / buckets;
}

void trace_plot::record(std::int64_t s, const std::vector<double>& g, const std::vector<double>& x) {
  check_counts(layout_, g, x);
  if (first_step_ < 0) first_step_ = s;
  last_step_ = s;
  for (std::size_t q = 0; q < shown_; ++q) {
    for (int var = 0; var < 2; ++var) {
      const point p{s, var == 0 ? g[q] : x[q]};
      const std::size_t k = q * 2 + static_cast<std::size_t>(var);
      if (bucket_ == 1) {
        kept_[k].push_back(p);
        continue;
      }
      extremes& e = open_[k];
      if (first_step_ == s) e.first = p;
      e.last = p;
      // The first minimum and the last maximum: a flat bucket keeps its ends.
      if (in_bucket_ == 0) {
        e.lo = e.hi = p;
      } else {
        if (p.value < e.lo.value) e.lo = p;
        if (p.value >= e.hi.value) e.hi = p;
      }
    }
  }
  if (bucket_ == 1) return;
  if (++in_bucket_ < bucket_) return;
  for (std::size_t k = 0; k < kept_.size(); ++k) {
    const extremes& e = open_[k];
    const point& a = e.lo.step <= e.hi.step ? e.lo : e.hi;
    const point& b = e.lo.step <= e.hi.step ? e.hi : e.lo;
    kept_[k].push_back(a);
    if (b.step != a.step) kept_[k].push_back(b);
  }
  in_bucket_ = 0;
}

std::vector<trace_plot::point> trace_plot::points(std::size_t q, int var) const {
  const std::size_t k = q * 2 + static_cast<std::size_t>(var);
  if (bucket_ == 1) return kept_[k];
  const extremes& e = open_[k];
  std::vector<point> p;
  p.reserve(kept_[k].size() + 4);
  const auto add = [&p](const point& a) {
    if (p.empty() || a.step > p.back().step) p.push_back(a);
  };
  if (first_step_ >= 0) add(e.first);
  for (const point& a : kept_[k]) add(a);
  if (in_bucket_ > 0) {  // the last, partial bucket
    add(e.lo.step <= e.hi.step ? e.lo : e.hi);
    add(e.lo.step <= e.hi.step ? e.hi : e.lo);
  }
  if (first_step_ >= 0) add(e.last);
  return p;
}

std::string trace_plot::svg() const {
  const trace_layout& t = layout_;
  const int width = 960, panel_h = 260, left = 80, right = 200, top = 40, gap = 70;
  const int plot_w = width - left - right;
  const int height = top + 2 * panel_h + gap + 60;
  const std::size_t series = t.series();
  const std::size_t shown = shown_;
  static const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"};
  const bool empty = first_step_ < 0;
  const double t0 = empty ? 0.0 : static_cast<double>(first_step_) * t.dt;
  double t1 = empty ? 1.0 : static_cast<double>(last_step_ + 1) * t.dt;
  std::vector<std::vector<point>> pts(2 * shown);
  for (std::size_t q = 0; q < shown; ++q) {
    for (int var = 0; var < 2; ++var) pts[q * 2 + static_cast<std::size_t>(var)] = points(q, var);
  }
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
    for (std::size_t q = 0; q < shown; ++q) {
      for (const point& p : pts[q * 2 + static_cast<std::size_t>(panel)]) {
        lo = std::min(lo, p.value);
        hi = std::max(hi, p.value);
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
      std::string line;
      for (const point& p : pts[q * 2 + static_cast<std::size_t>(panel)]) {
        const double tm = static_cast<double>(p.step + 1) * t.dt;
        line += fmt("%.2f", X(tm)) + "," + fmt("%.2f", Y(p.value)) + " ";
      }
      s += "<polyline fill=\"none\" stroke-width=\"1.2\" stroke=\"" + std::string(colors[q % 12]) +
           "\" points=\"" + line + "\"/>\n";
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

}  // namespace bionmda::io
