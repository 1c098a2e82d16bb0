// Checkpoint files: header, payload, xxHash64 checksum. See checkpoint.hpp.
#include "bionmda/checkpoint.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util/atomic_file.hpp"
#include "bionmda/detail/error_macros.hpp"

namespace bionmda {
namespace detail {

namespace {

constexpr char magic[8] = {'B', 'N', 'M', 'D', 'A', 'C', 'K', 'P'};
constexpr std::uint32_t format_version = 1;
constexpr std::uint32_t endian_marker = 0x01020304u;

// Fixed-size header, written field by field (no padding in the file).
struct header {
  std::uint32_t version = format_version;
  std::uint32_t endian = endian_marker;
  std::uint8_t precision = 0;  // 0 float32, 1 float64
  std::int64_t units = 0, batch = 0, step_count = 0, n_pre = 0;
  double dt = 0;
  std::uint64_t poisson_seed = 0;
  std::uint64_t payload_bytes = 0;
};
constexpr std::size_t header_bytes = 8 + 4 + 4 + 1 + 4 * 8 + 8 + 8 + 8;

class writer {
 public:
  template <class T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    buf_.insert(buf_.end(), p, p + sizeof(T));
  }
  void put_bytes(const void* p, std::size_t n) {
    const auto* c = static_cast<const char*>(p);
    buf_.insert(buf_.end(), c, c + n);
  }
  void put_doubles(const std::vector<double>& v) {
    put<std::int64_t>(static_cast<std::int64_t>(v.size()));
    put_bytes(v.data(), v.size() * sizeof(double));
  }
  std::vector<char>& bytes() { return buf_; }

 private:
  std::vector<char> buf_;
};

class reader {
 public:
  reader(const char* data, std::size_t size, std::string name) : p_(data), end_(data + size), name_(std::move(name)) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  void get_bytes(void* out, std::size_t n, const char* what) {
    need(n, what);
    if (n > 0) std::memcpy(out, p_, n);
    p_ += n;
  }
  std::vector<double> get_doubles(const char* what, std::int64_t max_count) {
    const auto n = get<std::int64_t>(what);
    // Bound by what the file holds before allocating anything.
    if (n < 0 || n > max_count || static_cast<std::uint64_t>(n) > remaining() / sizeof(double)) {
      throw error("bionmda: checkpoint " + name_ + ": " + what + " has an invalid length " + std::to_string(n));
    }
    std::vector<double> v(static_cast<std::size_t>(n));
    get_bytes(v.data(), v.size() * sizeof(double), what);
    return v;
  }
  [[nodiscard]] bool done() const { return p_ == end_; }
  [[nodiscard]] std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

 private:
  void need(std::size_t n, const char* what) {
    if (static_cast<std::size_t>(end_ - p_) < n) {
      throw error("bionmda: checkpoint " + name_ + ": truncated while reading " + what);
    }
  }
  const char* p_;
  const char* end_;
  std::string name_;
};

void put_value(writer& w, const unit_value& v) {
  w.put<std::uint8_t>(v.is_per_unit() ? 1 : 0);
  if (v.is_per_unit()) {
    w.put_doubles(v.per_unit());
  } else {
    w.put<double>(v.uniform());
  }
}

unit_value get_value(reader& r, const char* name, std::int64_t units, const std::string& path) {
  const auto per_unit = r.get<std::uint8_t>(name);
  if (per_unit > 1) throw error("bionmda: checkpoint " + path + ": bad flag for parameter " + name);
  if (per_unit) return unit_value(r.get_doubles(name, units));
  return unit_value(r.get<double>(name));
}

void put_initial(writer& w, const initial_value& v) {
  w.put<std::uint8_t>(static_cast<std::uint8_t>(v.get_kind()));
  w.put<double>(v.low());
  w.put<double>(v.high());
  w.put<std::uint64_t>(v.seed());
  w.put_doubles(v.values());
}

initial_value get_initial(reader& r, const char* name, std::int64_t max_count, const std::string& path) {
  const auto kind = r.get<std::uint8_t>(name);
  const double lo = r.get<double>(name);
  const double hi = r.get<double>(name);
  const auto seed = r.get<std::uint64_t>(name);
  auto values = r.get_doubles(name, max_count);
  switch (static_cast<initial_value::kind>(kind)) {
    case initial_value::kind::constant: return initial_value::constant(lo);
    case initial_value::kind::uniform_random: return initial_value::uniform(lo, hi, seed);
    case initial_value::kind::per_unit: return initial_value::per_unit(std::move(values));
  }
  throw error("bionmda: checkpoint " + path + ": bad kind for initial " + name);
}

// Everything a checkpoint holds, decoded and checked.
struct decoded {
  header h;
  population_config cfg;
  std::vector<double> g, x;
  std::vector<std::uint16_t> countdown;
  std::vector<std::int32_t> sources;
};

std::vector<char> read_file(const std::string& path) {
  // A filebuf reports a directory, or a read error, as its own exception
  // ("basic_filebuf::underflow ..."): both are named here.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw error("bionmda: checkpoint '" + path + "' is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error("bionmda: cannot open checkpoint '" + path + "' for reading");
  try {
    return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure& e) {
    throw error("bionmda: cannot read checkpoint '" + path + "': " + e.code().message());
  }
}

header decode_header(const std::vector<char>& bytes, const std::string& path) {
  if (bytes.size() < header_bytes + 8) {
    throw error("bionmda: checkpoint " + path + ": truncated (" + std::to_string(bytes.size()) +
                " bytes, shorter than header and checksum)");
  }
  if (std::memcmp(bytes.data(), magic, 8) != 0) throw error("bionmda: " + path + " is not a bionmda checkpoint (bad magic)");
  reader r(bytes.data() + 8, header_bytes - 8, path);
  header h;
  h.version = r.get<std::uint32_t>("format version");
  h.endian = r.get<std::uint32_t>("endianness");
  if (h.endian != endian_marker) {
    throw error("bionmda: checkpoint " + path + " was written on a machine of the other endianness");
  }
  if (h.version != format_version) {
    throw error("bionmda: checkpoint " + path + " has format version " + std::to_string(h.version) +
                "; this build reads version " + std::to_string(format_version));
  }
  h.precision = r.get<std::uint8_t>("precision");
  h.units = r.get<std::int64_t>("units");
  h.batch = r.get<std::int64_t>("batch");
  h.step_count = r.get<std::int64_t>("step count");
  h.n_pre = r.get<std::int64_t>("n_pre");
  h.dt = r.get<double>("dt");
  h.poisson_seed = r.get<std::uint64_t>("poisson seed");
  h.payload_bytes = r.get<std::uint64_t>("payload size");
  if (h.precision > 1) throw error("bionmda: checkpoint " + path + ": unknown element type " + std::to_string(h.precision));
  if (h.units < 0 || h.batch < 1 || h.step_count < 0 || h.n_pre < 0 || (h.units > 0 && h.batch > INT64_MAX / h.units)) {
    throw error("bionmda: checkpoint " + path + ": invalid sizes in the header");
  }
  if (h.payload_bytes != bytes.size() - header_bytes - 8) {
    throw error("bionmda: checkpoint " + path + ": " +
                (h.payload_bytes > bytes.size() - header_bytes - 8 ? "truncated" : "trailing bytes") + " (header says " +
                std::to_string(h.payload_bytes) + " payload bytes, file has " +
                std::to_string(bytes.size() - header_bytes - 8) + ")");
  }
  std::uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  const std::uint64_t actual = XXH64(bytes.data(), bytes.size() - 8, 0);
  if (stored != actual) throw error("bionmda: checkpoint " + path + " is corrupted (checksum mismatch)");
  return h;
}

decoded decode(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  decoded d;
  d.h = decode_header(bytes, path);
  reader r(bytes.data() + header_bytes, bytes.size() - header_bytes - 8, path);
  const std::int64_t n = d.h.units, e = d.h.units * d.h.batch;
  population_config& c = d.cfg;
  c.units = n;
  c.batch = d.h.batch;
  c.dt = d.h.dt;
  c.precision = d.h.precision == 0 ? precision::float32 : precision::float64;
  // The kinetic parameters, in the order of kinetic_parameters (the file format).
  for (const parameter_info& info : kinetic_parameters) c.params.*info.member = get_value(r, info.name, n, path);
  c.g0 = get_initial(r, "g0", e, path);
  c.x0 = get_initial(r, "x0", e, path);
  // The state arrays must fit in what is left, before any allocation.
  const double real = d.h.precision == 0 ? 4.0 : 8.0;
  const double need = static_cast<double>(e) * (2 * real + 2) + (d.h.n_pre > 0 ? 4.0 * static_cast<double>(n) : 0.0);
  if (need != static_cast<double>(r.remaining())) {
    char needed[64];  // a double: the claimed sizes may exceed any integer type
    std::snprintf(needed, sizeof needed, "%.0f", need);
    throw error("bionmda: checkpoint " + path + ": the state of " + std::to_string(n) + " x " +
                std::to_string(d.h.batch) + " units needs " + needed + " bytes, the file holds " +
                std::to_string(r.remaining()));
  }
  d.sources.resize(d.h.n_pre > 0 ? static_cast<std::size_t>(n) : 0);
  r.get_bytes(d.sources.data(), d.sources.size() * sizeof(std::int32_t), "presynaptic sources");
  d.g.resize(static_cast<std::size_t>(e));
  d.x.resize(static_cast<std::size_t>(e));
  d.countdown.resize(static_cast<std::size_t>(e));
  if (c.precision == precision::float32) {
    std::vector<float> f(static_cast<std::size_t>(e));
    r.get_bytes(f.data(), f.size() * sizeof(float), "g");
    d.g.assign(f.begin(), f.end());
    r.get_bytes(f.data(), f.size() * sizeof(float), "x");
    d.x.assign(f.begin(), f.end());
  } else {
    r.get_bytes(d.g.data(), d.g.size() * sizeof(double), "g");
    r.get_bytes(d.x.data(), d.x.size() * sizeof(double), "x");
  }
  r.get_bytes(d.countdown.data(), d.countdown.size() * sizeof(std::uint16_t), "countdown");
  if (!r.done()) throw error("bionmda: checkpoint " + path + ": unexpected bytes after the state");
  return d;
}

bool same_value(const unit_value& a, const unit_value& b) {
  return a.is_per_unit() == b.is_per_unit() && (a.is_per_unit() ? a.per_unit() == b.per_unit() : a.uniform() == b.uniform());
}

// Writes decoded state into pop (all checks done before).
void apply(population& pop, const decoded& d) {
  if (!d.sources.empty()) pop.set_presynaptic_sources(host_span<const std::int32_t>(d.sources), d.h.n_pre);
  pop.set_g(host_span<const double>(d.g));
  pop.set_x(host_span<const double>(d.x));
  pop.write_countdown(0, host_span<const std::uint16_t>(d.countdown));
  pop.set_step_count(d.h.step_count);
}

checkpoint_info info_of(const header& h) {
  return checkpoint_info{h.units, h.batch, h.step_count, h.dt, h.precision == 0 ? precision::float32 : precision::float64,
                         h.poisson_seed};
}

}  // namespace
}  // namespace detail

void save_checkpoint(const population& pop, const std::string& path, std::uint64_t poisson_seed) {
  pop.synchronize();  // also refuses a moved-from population
  const population_config& c = pop.config();
  detail::writer w;
  for (const parameter_info& info : kinetic_parameters) detail::put_value(w, c.params.*info.member);
  detail::put_initial(w, c.g0);
  detail::put_initial(w, c.x0);
  const std::int64_t n_pre = pop.presynaptic_size();
  if (n_pre > 0) {
    const std::vector<std::int32_t> src = pop.presynaptic_sources();
    w.put_bytes(src.data(), src.size() * sizeof(std::int32_t));
  }
  const auto g = pop.g();
  const auto x = pop.x();
  if (pop.precision() == precision::float32) {
    const std::vector<float> gf(g.begin(), g.end()), xf(x.begin(), x.end());
    w.put_bytes(gf.data(), gf.size() * sizeof(float));
    w.put_bytes(xf.data(), xf.size() * sizeof(float));
  } else {
    w.put_bytes(g.data(), g.size() * sizeof(double));
    w.put_bytes(x.data(), x.size() * sizeof(double));
  }
  const auto cd = pop.countdown();
  w.put_bytes(cd.data(), cd.size() * sizeof(std::uint16_t));

  detail::writer file;
  file.put_bytes(detail::magic, 8);
  detail::header h;
  h.precision = pop.precision() == precision::float32 ? 0 : 1;
  h.units = pop.units();
  h.batch = pop.batch();
  h.step_count = pop.step_count();
  h.n_pre = n_pre;
  h.dt = pop.dt();
  h.poisson_seed = poisson_seed;
  h.payload_bytes = w.bytes().size();
  file.put(h.version);
  file.put(h.endian);
  file.put(h.precision);
  file.put(h.units);
  file.put(h.batch);
  file.put(h.step_count);
  file.put(h.n_pre);
  file.put(h.dt);
  file.put(h.poisson_seed);
  file.put(h.payload_bytes);
  file.put_bytes(w.bytes().data(), w.bytes().size());
  const std::uint64_t sum = XXH64(file.bytes().data(), file.bytes().size(), 0);
  file.put(sum);
  const std::vector<char>& out = file.bytes();
  detail::write_atomically(path, [&](std::ostream& o) { o.write(out.data(), static_cast<std::streamsize>(out.size())); });
}

checkpoint_info read_checkpoint_info(const std::string& path) {
  return detail::info_of(detail::decode_header(detail::read_file(path), path));
}

population load_checkpoint(const std::string& path, backend be, checkpoint_info* info) {
  detail::decoded d = detail::decode(path);
  population_config cfg = d.cfg;
  cfg.backend = be;
  // The population validates every parameter and size; a refusal names the
  // file it came from.
  population pop = [&] {
    try {
      return population(cfg);
    } catch (const invalid_argument& e) {
      const std::string what = e.what();
      const std::string prefix = "bionmda: ";
      throw invalid_argument("bionmda: checkpoint " + path + ": " +
                             (what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what));
    }
  }();
  detail::apply(pop, d);
  if (info != nullptr) *info = detail::info_of(d.h);
  return pop;
}

void restore_checkpoint(population& pop, const std::string& path, checkpoint_info* info) {
  pop.synchronize();  // also refuses a moved-from population
  const detail::decoded d = detail::decode(path);
  const population_config& c = pop.config();
  BIONMDA_EXPECTS(d.cfg.units == c.units && d.cfg.batch == c.batch,
                  "checkpoint " << path << " is " << d.cfg.units << " x " << d.cfg.batch << "; the population is "
                                << c.units << " x " << c.batch);
  BIONMDA_EXPECTS(d.cfg.precision == c.precision, "checkpoint " << path << " is " << to_string(d.cfg.precision)
                                                                << "; the population is " << to_string(c.precision));
  BIONMDA_EXPECTS(d.cfg.dt == c.dt, "checkpoint " << path << " has dt " << d.cfg.dt << " ms; the population " << c.dt);
  for (const parameter_info& p : kinetic_parameters) {
    BIONMDA_EXPECTS(detail::same_value(d.cfg.params.*p.member, c.params.*p.member),
                    "checkpoint " << path << " has other kinetic parameters than the population");
  }
  for (std::size_t k = 0; k < d.g.size(); ++k) {
    BIONMDA_EXPECTS(d.g[k] >= 0 && d.g[k] <= 1 && d.x[k] >= 0 && d.x[k] <= 1,
                    "checkpoint " << path << ": state element " << k << " is outside [0, 1]");
  }
  for (std::size_t k = 0; k < d.countdown.size(); ++k) {
    const std::int64_t unit = static_cast<std::int64_t>(k) % c.units;
    BIONMDA_EXPECTS(d.countdown[k] <= pop.pulse_steps(unit), "checkpoint " << path << ": countdown of element " << k
                                                                           << " exceeds the pulse length of its unit");
  }
  detail::apply(pop, d);
  if (info != nullptr) *info = detail::info_of(d.h);
}

}  // namespace bionmda
