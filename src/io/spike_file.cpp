#include "spike_file.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <new>
#include <sstream>

#include "bionmda/error.hpp"
#include "input_file.hpp"
#include "message_text.hpp"
#include "npy.hpp"

namespace bionmda::io {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw error("bionmda: " + where + ": " + what);
}

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
  return s.substr(a, b - a);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) out.push_back(trim(field));
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

std::int64_t parse_index(const std::string& text, const std::string& where, const char* column) {
  std::int64_t v = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  const auto r = std::from_chars(begin, end, v);
  if (text.empty() || r.ec != std::errc() || r.ptr != end) {
    fail(where, std::string("column '") + column + "' must be an integer, got " + quoted(text));
  }
  return v;
}

std::string ends_with_lower(const std::string& path) {
  const auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Sorts (step, element) rows by step and stores them in t (the rows' memory
// is freed).
void set_spikes(spike_train& t, std::vector<std::pair<std::int64_t, std::int64_t>>& rows) {
  if (!std::is_sorted(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; })) {
    std::sort(rows.begin(), rows.end());
  }
  t.spike_step.reserve(rows.size());
  t.spike_element.reserve(rows.size());
  for (const auto& r : rows) {
    t.spike_step.push_back(r.first);
    t.spike_element.push_back(r.second);
  }
  std::vector<std::pair<std::int64_t, std::int64_t>>().swap(rows);
}

}  // namespace

std::int64_t spike_train::count() const { return static_cast<std::int64_t>(spike_element.size()); }

host_span<const std::int64_t> spike_train::at(std::int64_t s) const {
  const auto range = std::equal_range(spike_step.begin(), spike_step.end(), s);
  const auto first = static_cast<std::size_t>(range.first - spike_step.begin());
  return {spike_element.data() + first, static_cast<std::int64_t>(range.second - range.first)};
}

spike_train parse_spike_csv(const std::string& text, const std::string& name, std::int64_t steps,
                            std::int64_t batch, std::int64_t units) {
  spike_train t;
  t.steps = steps;
  std::vector<std::pair<std::int64_t, std::int64_t>> rows;  // (step, element)
  std::istringstream in(text);
  std::string line;
  std::int64_t line_no = 0;
  bool with_batch = false;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = name + ":" + std::to_string(line_no);
    if (trim(line).empty()) continue;
    const auto f = split(line);
    if (!have_header) {
      if (f == std::vector<std::string>{"step", "unit"}) {
        with_batch = false;
      } else if (f == std::vector<std::string>{"step", "batch", "unit"}) {
        with_batch = true;
      } else {
        fail(where, "header must be 'step,unit' or 'step,batch,unit', got " + quoted(trim(line)));
      }
      have_header = true;
      continue;
    }
    const std::size_t want = with_batch ? 3 : 2;
    if (f.size() != want) {
      fail(where, "expected " + std::to_string(want) + " fields, got " + std::to_string(f.size()));
    }
    const std::int64_t step = parse_index(f[0], where, "step");
    const std::int64_t b = with_batch ? parse_index(f[1], where, "batch") : 0;
    const std::int64_t unit = parse_index(f[want - 1], where, "unit");
    if (step < 0 || step >= steps) {
      fail(where, "step " + std::to_string(step) + " is beyond --steps " + std::to_string(steps) +
                      " (valid 0.." + std::to_string(steps - 1) + ")");
    }
    if (b < 0 || b >= batch) {
      fail(where, "batch " + std::to_string(b) + " out of range [0, " + std::to_string(batch) + ")");
    }
    if (unit < 0 || unit >= units) {
      fail(where, "unit " + std::to_string(unit) + " out of range [0, " + std::to_string(units) + ")");
    }
    rows.emplace_back(step, b * units + unit);
  }
  if (!have_header) fail(name, "empty file: expected a header 'step,unit' or 'step,batch,unit'");
  set_spikes(t, rows);
  return t;
}

spike_train read_spike_file(const std::string& path, std::int64_t steps, std::int64_t batch,
                            std::int64_t units) {
  const std::string ext = ends_with_lower(path);
  if (ext == ".csv") return parse_spike_csv(read_input_text(path, "spike file"), path, steps, batch, units);
  if (ext != ".npy") fail(path, "spike files must end in .csv or .npy");
  return spikes_from_npy(read_npy(path, "spike file"), path, steps, batch, units);
}

spike_train spikes_from_npy(const npy_array& a, const std::string& path, std::int64_t steps, std::int64_t batch,
                            std::int64_t units) {
  if (a.descr != "|b1" && a.descr != "|u1") {
    fail(path, "spike array dtype must be bool or uint8, got " + quoted(a.descr));
  }
  std::int64_t S = 0, B = 1, N = 0;
  if (a.shape.size() == 2) {
    S = a.shape[0];
    N = a.shape[1];
  } else if (a.shape.size() == 3) {
    S = a.shape[0];
    B = a.shape[1];
    N = a.shape[2];
  } else {
    fail(path, "spike array must have shape [S, N] or [S, B, N], got " + std::to_string(a.shape.size()) + " dimensions");
  }
  if (N != units) fail(path, "spike array has N = " + std::to_string(N) + " units; --size is " + std::to_string(units));
  if (B != batch) fail(path, "spike array has B = " + std::to_string(B) + "; --batch is " + std::to_string(batch));
  if (S > steps) fail(path, "spike array has " + std::to_string(S) + " steps, beyond --steps " + std::to_string(steps));
  spike_train t;
  t.steps = steps;
  const std::int64_t per_step = B * N;
  for (std::int64_t s = 0; s < S; ++s) {
    for (std::int64_t e = 0; e < per_step; ++e) {
      const std::uint8_t v = a.data[static_cast<std::size_t>(s * per_step + e)];
      if (v > 1) {
        fail(path, "element [" + std::to_string(s) + ", " + std::to_string(e / N) + ", " + std::to_string(e % N) +
                       "] is " + std::to_string(v) + "; spike arrays hold 0 or 1");
      }
      if (v) {
        t.spike_step.push_back(s);
        t.spike_element.push_back(e);
      }
    }
  }
  return t;
}

}  // namespace bionmda::io
