// Checkpoint files: header, payload, xxHash64 checksum. See checkpoint.hpp.
//
// The state is written and read in chunks of checkpoint_chunk_elements in its
// own precision, and the checksum is computed as the bytes go by, so the
// extra host memory does not grow with the number of elements: one chunk,
// plus the parameters and the presynaptic sources.
#include "bionmda/checkpoint.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <typeinfo>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "checkpoint_check.hpp"
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

// Bytes hashed per read when only the checksum is wanted.
constexpr std::size_t hash_buffer_bytes = std::size_t{1} << 20;

// Out of line on purpose: inlined into the hashing of one small value, GCC's
// -Warray-bounds misreads xxHash's unrolled loops (a false positive at -O3).
[[gnu::noinline]] void hash_update(XXH64_state_t& state, const void* p, std::size_t n) { XXH64_update(&state, p, n); }

// Writes to a stream and hashes what it writes; or, built without a stream,
// only counts (to size the payload before writing it).
class writer {
 public:
  writer() = default;
  writer(std::ostream& out, XXH64_state_t& hash) : out_(&out), hash_(&hash) {}
  template <class T>
  void put(const T& v) {
    put_bytes(&v, sizeof(T));
  }
  void put_bytes(const void* p, std::size_t n) {
    bytes_ += n;
    if (out_ == nullptr || n == 0) return;
    hash_update(*hash_, p, n);
    out_->write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
  }
  void put_doubles(const std::vector<double>& v) {
    put<std::int64_t>(static_cast<std::int64_t>(v.size()));
    put_bytes(v.data(), v.size() * sizeof(double));
  }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

 private:
  std::ostream* out_ = nullptr;
  XXH64_state_t* hash_ = nullptr;
  std::uint64_t bytes_ = 0;
};

// Reads a checkpoint front to back, hashing every byte it reads, never more
// than asked for: a caller bounds each read by the header's claims (end) and
// the file's size before allocating anything.
class reader {
 public:
  explicit reader(const std::string& path) : in_(path, std::ios::binary), name_(path) {
    if (!in_) throw error("bionmda: cannot open checkpoint '" + path + "' for reading");
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      throw error("bionmda: checkpoint '" + path + "' is a directory, not a file");
    }
    in_.seekg(0, std::ios::end);
    const std::streamoff size = in_.tellg();
    in_.seekg(0, std::ios::beg);
    if (!in_ || size < 0) throw error("bionmda: cannot read checkpoint '" + path + "'");
    size_ = static_cast<std::uint64_t>(size);
    end_ = size_ >= 8 ? size_ - 8 : 0;
    XXH64_reset(&hash_, 0);
  }
  template <class T>
  T get(const char* what) {
    T v;
    get_bytes(&v, sizeof(T), what);
    return v;
  }
  void get_bytes(void* out, std::size_t n, const char* what) {
    if (remaining() < n) throw error("bionmda: checkpoint " + name_ + ": truncated while reading " + what);
    read_hashed(out, n, what);
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
  /** Reads (and hashes) the rest up to the checksum, then compares it. */
  void verify_checksum() {
    const std::uint64_t body = size_ - 8;  // callers have checked size_ >= header + 8
    std::vector<char> buf(static_cast<std::size_t>(std::min<std::uint64_t>(hash_buffer_bytes, body - pos_)));
    while (pos_ < body) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), body - pos_));
      read_hashed(buf.data(), n, "the payload");
    }
    std::uint64_t stored = 0;
    in_.read(reinterpret_cast<char*>(&stored), sizeof stored);
    if (in_.gcount() != sizeof stored) {
      throw error("bionmda: checkpoint " + name_ + ": truncated while reading the checksum");
    }
    if (stored != XXH64_digest(&hash_)) throw error("bionmda: checkpoint " + name_ + " is corrupted (checksum mismatch)");
  }
  /** Goes back to pos (a second pass over checked bytes; the hash no longer matters). */
  void seek(std::uint64_t pos) {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(pos), std::ios::beg);
    if (!in_) throw error("bionmda: checkpoint " + name_ + ": cannot seek back to byte " + std::to_string(pos));
    pos_ = pos;
  }
  void set_end(std::uint64_t end) { end_ = end; }
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] std::uint64_t position() const { return pos_; }
  [[nodiscard]] std::size_t remaining() const { return static_cast<std::size_t>(end_ > pos_ ? end_ - pos_ : 0); }
  [[nodiscard]] bool done() const { return pos_ == end_; }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  void read_hashed(void* out, std::size_t n, const char* what) {
    if (n == 0) return;
    in_.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in_.gcount()) != n) {
      throw error("bionmda: checkpoint " + name_ + ": truncated while reading " + what);
    }
    hash_update(hash_, out, n);
    pos_ += n;
  }
  std::ifstream in_;
  std::string name_;
  std::uint64_t size_ = 0, pos_ = 0, end_ = 0;
  XXH64_state_t hash_;
};

void put_value(writer& w, const unit_value& v) {
  w.put<std::uint8_t>(v.is_per_unit() ? 1 : 0);
  if (v.is_per_unit()) {
    w.put_doubles(v.per_unit());
  } else {
    w.put<double>(v.uniform());
  }
}

unit_value get_value(reader& r, const char* name, std::int64_t units) {
  const auto per_unit = r.get<std::uint8_t>(name);
  if (per_unit > 1) throw error(std::string("bionmda: checkpoint: bad flag for parameter ") + name);
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

initial_value get_initial(reader& r, const char* name, std::int64_t max_count) {
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
  throw error(std::string("bionmda: checkpoint: bad kind for initial ") + name);
}

header read_header(reader& r) {
  const std::string& path = r.name();
  if (r.size() < header_bytes + 8) {
    throw error("bionmda: checkpoint " + path + ": truncated (" + std::to_string(r.size()) +
                " bytes, shorter than header and checksum)");
  }
  char m[8];
  r.get_bytes(m, 8, "magic");
  if (std::memcmp(m, magic, 8) != 0) throw error("bionmda: " + path + " is not a bionmda checkpoint (bad magic)");
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
  const std::uint64_t body = r.size() - header_bytes - 8;
  if (h.payload_bytes != body) {
    throw error("bionmda: checkpoint " + path + ": " + (h.payload_bytes > body ? "truncated" : "trailing bytes") +
                " (header says " + std::to_string(h.payload_bytes) + " payload bytes, file has " +
                std::to_string(body) + ")");
  }
  r.set_end(header_bytes + h.payload_bytes);
  return h;
}

// The parameter section, in file order.
void put_parameters(writer& w, const population_config& c) {
  // The kinetic parameters, in the order of kinetic_parameters (the file format).
  for (const parameter_info& info : kinetic_parameters) put_value(w, c.params.*info.member);
  put_initial(w, c.g0);
  put_initial(w, c.x0);
}

// The configuration a checkpoint describes: its header and parameter section,
// with the sizes of the state checked against the rest of the file.
population_config get_config(reader& r, const header& h) {
  const std::int64_t n = h.units, e = h.units * h.batch;
  population_config c;
  c.units = n;
  c.batch = h.batch;
  c.dt = h.dt;
  c.precision = h.precision == 0 ? precision::float32 : precision::float64;
  for (const parameter_info& info : kinetic_parameters) c.params.*info.member = get_value(r, info.name, n);
  c.g0 = get_initial(r, "g0", e);
  c.x0 = get_initial(r, "x0", e);
  // The state arrays must fit in what is left, before any allocation.
  const double real = h.precision == 0 ? 4.0 : 8.0;
  const double need = static_cast<double>(e) * (2 * real + 2) + (h.n_pre > 0 ? 4.0 * static_cast<double>(n) : 0.0);
  if (need != static_cast<double>(r.remaining())) {
    char needed[64];  // a double: the claimed sizes may exceed any integer type
    std::snprintf(needed, sizeof needed, "%.0f", need);
    throw error("bionmda: checkpoint " + r.name() + ": the state of " + std::to_string(n) + " x " +
                std::to_string(h.batch) + " units needs " + needed + " bytes, the file holds " +
                std::to_string(r.remaining()));
  }
  return c;
}

// The presynaptic sources (N of them when the file has any), already bounded
// by get_config's size check.
std::vector<std::int32_t> get_sources(reader& r, const header& h) {
  std::vector<std::int32_t> s(h.n_pre > 0 ? static_cast<std::size_t>(h.units) : 0);
  r.get_bytes(s.data(), s.size() * sizeof(std::int32_t), "presynaptic sources");
  return s;
}

// Raises e again; an invalid_argument or plain error that does not name the
// file (the parameter parser's, the population's own checks) gets its name.
[[noreturn]] void rethrow_naming(const std::exception_ptr& e, const std::string& path) {
  try {
    std::rethrow_exception(e);
  } catch (const error& x) {
    const bool invalid = dynamic_cast<const invalid_argument*>(&x) != nullptr;
    std::string what = x.what();
    if ((!invalid && typeid(x) != typeid(error)) || what.find(path) != std::string::npos) throw;
    for (const char* prefix : {"bionmda: ", "checkpoint: "}) {
      if (what.compare(0, std::strlen(prefix), prefix) == 0) what.erase(0, std::strlen(prefix));
    }
    what = "bionmda: checkpoint " + path + ": " + what;
    if (invalid) throw invalid_argument(what);
    throw error(what);
  }
}

// Runs f, which reads the file before its checksum is known. On an error the
// checksum decides: a corrupted file is reported as corrupted, an intact one
// with f's error (naming the file).
template <class F>
auto before_checksum(reader& r, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const error&) {
    const std::exception_ptr first = std::current_exception();
    r.verify_checksum();
    rethrow_naming(first, r.name());
  }
}

// The first problem found in the state while streaming it, raised only once
// the checksum is known to be good (so that a corrupted file is reported as
// corrupted, whatever its damaged bytes look like).
class first_problem {
 public:
  template <class F>
  void check(F&& f) {
    if (p_) return;
    try {
      f();
    } catch (const error&) {
      p_ = std::current_exception();
    }
  }
  explicit operator bool() const { return p_ != nullptr; }
  void raise() const {
    if (p_) std::rethrow_exception(p_);
  }

 private:
  std::exception_ptr p_;
};

bool same_value(const unit_value& a, const unit_value& b) {
  return a.is_per_unit() == b.is_per_unit() && (a.is_per_unit() ? a.per_unit() == b.per_unit() : a.uniform() == b.uniform());
}

// The file's configuration against the population it is restored into.
void check_fits(const population& pop, const population_config& f, const std::string& path) {
  const population_config& c = pop.config();
  BIONMDA_EXPECTS(f.units == c.units && f.batch == c.batch, "checkpoint " << path << " is " << f.units << " x " << f.batch
                                                                           << "; the population is " << c.units
                                                                           << " x " << c.batch);
  BIONMDA_EXPECTS(f.precision == c.precision, "checkpoint " << path << " is " << to_string(f.precision)
                                                            << "; the population is " << to_string(c.precision));
  BIONMDA_EXPECTS(f.dt == c.dt, "checkpoint " << path << " has dt " << f.dt << " ms; the population " << c.dt);
  bool same = true;
  for (const parameter_info& info : kinetic_parameters) same = same && same_value(f.params.*info.member, c.params.*info.member);
  BIONMDA_EXPECTS(same, "checkpoint " << path << " has other kinetic parameters than the population");
}

void check_sources(const std::vector<std::int32_t>& s, std::int64_t n_pre, const std::string& path) {
  if (s.empty()) return;
  BIONMDA_EXPECTS(n_pre <= INT32_MAX,
                  "checkpoint " << path << ": presynaptic population size " << n_pre << " is out of range [1, 2^31)");
  for (std::size_t i = 0; i < s.size(); ++i) {
    BIONMDA_EXPECTS(s[i] >= 0 && s[i] < n_pre, "checkpoint " << path << ": presynaptic source[" << i << "] = " << s[i]
                                                             << " is out of range [0, " << n_pre << ")");
  }
}

template <class Real>
void check_unit_interval(host_span<const Real> v, std::int64_t offset, const char* field, const std::string& path) {
  for (std::int64_t k = 0; k < v.size; ++k) {
    // Written so that NaN fails too.
    BIONMDA_EXPECTS(v.data[k] >= 0 && v.data[k] <= 1, "checkpoint " << path << ": state element " << offset + k
                                                                    << " is outside [0, 1] (" << field << " = "
                                                                    << v.data[k] << ")");
  }
}

// Each countdown at most the pulse length of its unit; pop has the file's
// parameters and dt (checked before).
void check_countdowns(const population& pop, host_span<const std::uint16_t> v, std::int64_t offset,
                      const std::string& path) {
  if (v.size == 0) return;
  const std::int64_t n = pop.units();
  const bool uniform = !pop.config().params.T_dur.is_per_unit();
  const std::int64_t uniform_most = uniform ? pop.pulse_steps(0) : 0;
  for (std::int64_t k = 0; k < v.size; ++k) {
    if (v.data[k] == 0) continue;  // within every pulse length
    const std::int64_t unit = (offset + k) % n;
    const std::int64_t most = uniform ? uniform_most : pop.pulse_steps(unit);
    BIONMDA_EXPECTS(v.data[k] <= most, "checkpoint " << path << ": countdown of element " << offset + k
                                                     << " exceeds the pulse length of its unit (" << v.data[k]
                                                     << " > " << most << " steps of unit " << unit << ")");
  }
}

// Reads count elements of T in chunks of checkpoint_chunk_elements, calling
// use(offset, chunk) on each.
template <class T, class Use>
void read_chunks(reader& r, std::int64_t count, const char* what, Use&& use) {
  std::vector<T> chunk(static_cast<std::size_t>(std::min(count, checkpoint_chunk_elements)));
  for (std::int64_t off = 0; off < count; off += checkpoint_chunk_elements) {
    const std::int64_t n = std::min(checkpoint_chunk_elements, count - off);
    r.get_bytes(chunk.data(), static_cast<std::size_t>(n) * sizeof(T), what);
    use(off, host_span<const T>(chunk.data(), n));
  }
}

// Reads g, x and the countdowns (the reader stands at g) chunk by chunk:
// checks each chunk (when validate) and writes it into pop (when write) as
// long as no problem is known.
template <class Real>
void stream_state(reader& r, population& pop, bool validate, bool write, first_problem& problem) {
  const std::string& path = r.name();
  const std::int64_t e = pop.elements();
  for (const state_field f : {state_field::g, state_field::x}) {
    const char* name = f == state_field::g ? "g" : "x";
    read_chunks<Real>(r, e, name, [&](std::int64_t off, host_span<const Real> c) {
      if (validate) problem.check([&] { check_unit_interval(c, off, name, path); });
      if (write && !problem) pop.write<Real>(f, off, c);
    });
  }
  read_chunks<std::uint16_t>(r, e, "countdown", [&](std::int64_t off, host_span<const std::uint16_t> c) {
    if (validate) problem.check([&] { check_countdowns(pop, c, off, path); });
    if (write && !problem) pop.write_countdown(off, c);
  });
  if (!r.done()) throw error("bionmda: checkpoint " + path + ": unexpected bytes after the state");
}

// Writes count elements of T, fetched by read(offset, chunk) in chunks of
// checkpoint_chunk_elements.
template <class T, class Read>
void write_chunks(writer& w, std::ostream& o, std::int64_t count, const std::string& path, Read&& read) {
  std::vector<T> chunk(static_cast<std::size_t>(std::min(count, checkpoint_chunk_elements)));
  for (std::int64_t off = 0; off < count; off += checkpoint_chunk_elements) {
    const std::int64_t n = std::min(checkpoint_chunk_elements, count - off);
    read(off, host_span<T>(chunk.data(), n));
    w.put_bytes(chunk.data(), static_cast<std::size_t>(n) * sizeof(T));
    if (!o) throw error("bionmda: writing checkpoint " + path + " failed: " + std::strerror(errno));
  }
}

template <class Real>
void write_state(writer& w, std::ostream& o, const population& pop, const std::string& path) {
  for (const state_field f : {state_field::g, state_field::x}) {
    write_chunks<Real>(w, o, pop.elements(), path,
                       [&](std::int64_t off, host_span<Real> c) { pop.read<Real>(f, off, c); });
  }
  write_chunks<std::uint16_t>(w, o, pop.elements(), path,
                              [&](std::int64_t off, host_span<std::uint16_t> c) { pop.read_countdown(off, c); });
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
  const bool f32 = pop.precision() == precision::float32;
  const std::int64_t n_pre = pop.presynaptic_size();
  // The payload's size up front, from the sizes: the parameter section
  // counted by a writer that writes nothing, then sources and state.
  detail::writer count;
  detail::put_parameters(count, c);
  const auto e = static_cast<std::uint64_t>(pop.elements());
  detail::header h;
  h.precision = f32 ? 0 : 1;
  h.units = pop.units();
  h.batch = pop.batch();
  h.step_count = pop.step_count();
  h.n_pre = n_pre;
  h.dt = pop.dt();
  h.poisson_seed = poisson_seed;
  h.payload_bytes = count.bytes() + (n_pre > 0 ? 4 * static_cast<std::uint64_t>(pop.units()) : 0) +
                    e * (2 * (f32 ? sizeof(float) : sizeof(double)) + sizeof(std::uint16_t));
  detail::write_atomically(path, [&](std::ostream& o) {
    XXH64_state_t hash;
    XXH64_reset(&hash, 0);
    detail::writer w(o, hash);
    w.put_bytes(detail::magic, 8);
    w.put(h.version);
    w.put(h.endian);
    w.put(h.precision);
    w.put(h.units);
    w.put(h.batch);
    w.put(h.step_count);
    w.put(h.n_pre);
    w.put(h.dt);
    w.put(h.poisson_seed);
    w.put(h.payload_bytes);
    detail::put_parameters(w, c);
    if (n_pre > 0) {
      const std::vector<std::int32_t> src = pop.presynaptic_sources();
      w.put_bytes(src.data(), src.size() * sizeof(std::int32_t));
    }
    if (f32) {
      detail::write_state<float>(w, o, pop, path);
    } else {
      detail::write_state<double>(w, o, pop, path);
    }
    if (w.bytes() != detail::header_bytes + h.payload_bytes) {
      throw error("bionmda: checkpoint " + path + ": wrote " + std::to_string(w.bytes()) + " bytes, expected " +
                  std::to_string(detail::header_bytes + h.payload_bytes) + " (internal error)");
    }
    const std::uint64_t sum = XXH64_digest(&hash);
    o.write(reinterpret_cast<const char*>(&sum), sizeof sum);
  });
}

checkpoint_info read_checkpoint_info(const std::string& path) {
  detail::reader r(path);
  const detail::header h = detail::read_header(r);
  r.verify_checksum();
  return detail::info_of(h);
}

population load_checkpoint(const std::string& path, backend be, checkpoint_info* info) {
  detail::reader r(path);
  const detail::header h = detail::read_header(r);
  std::vector<std::int32_t> sources;
  // One pass: the population is filled as the file is read and checked, and
  // simply discarded if the file turns out bad.
  population pop = detail::before_checksum(r, [&] {
    population_config cfg = detail::get_config(r, h);
    cfg.backend = be;
    sources = detail::get_sources(r, h);
    return population(std::move(cfg));  // validates every parameter
  });
  detail::first_problem problem;
  problem.check([&] { detail::check_sources(sources, h.n_pre, path); });
  if (!problem && !sources.empty()) pop.set_presynaptic_sources(host_span<const std::int32_t>(sources), h.n_pre);
  std::vector<std::int32_t>().swap(sources);  // the population holds them now
  if (h.precision == 0) {
    detail::stream_state<float>(r, pop, true, true, problem);
  } else {
    detail::stream_state<double>(r, pop, true, true, problem);
  }
  r.verify_checksum();
  problem.raise();
  pop.set_step_count(h.step_count);
  if (info != nullptr) *info = detail::info_of(h);
  return pop;
}

namespace detail {
namespace {

// Pass 1 of restore_checkpoint: the checksum and every check, pop untouched.
// Returns the header, the sources and the reader standing at the state.
struct checked_file {
  explicit checked_file(const std::string& path) : r(path) {}
  reader r;
  header h;
  std::vector<std::int32_t> sources;
  std::uint64_t state_at = 0;
};

std::unique_ptr<checked_file> check_restore(population& pop, const std::string& path) {
  pop.synchronize();  // also refuses a moved-from population
  auto c = std::make_unique<checked_file>(path);
  c->h = read_header(c->r);
  const population_config file_cfg = before_checksum(c->r, [&] {
    population_config cfg = get_config(c->r, c->h);
    c->sources = get_sources(c->r, c->h);
    return cfg;
  });
  c->state_at = c->r.position();
  first_problem problem;
  problem.check([&] { check_fits(pop, file_cfg, path); });
  problem.check([&] { check_sources(c->sources, c->h.n_pre, path); });
  if (!problem) {
    // validate only (write = false): pop is not changed.
    if (c->h.precision == 0) {
      stream_state<float>(c->r, pop, true, false, problem);
    } else {
      stream_state<double>(c->r, pop, true, false, problem);
    }
  }
  c->r.verify_checksum();
  problem.raise();
  return c;
}

}  // namespace

void check_restore_checkpoint(const population& pop, const std::string& path) {
  // check_restore reads pop (sizes, parameters, pulse lengths) and never writes it.
  (void)check_restore(const_cast<population&>(pop), path);
}

}  // namespace detail

void restore_checkpoint(population& pop, const std::string& path, checkpoint_info* info) {
  const auto c = detail::check_restore(pop, path);
  // Pass 2: the same bytes (the same open file, even if path was replaced
  // meanwhile) into pop.
  detail::reader& r = c->r;
  const detail::header& h = c->h;
  detail::first_problem problem;
  r.seek(c->state_at);
  if (!c->sources.empty()) pop.set_presynaptic_sources(host_span<const std::int32_t>(c->sources), h.n_pre);
  if (h.precision == 0) {
    detail::stream_state<float>(r, pop, false, true, problem);
  } else {
    detail::stream_state<double>(r, pop, false, true, problem);
  }
  pop.set_step_count(h.step_count);
  if (info != nullptr) *info = detail::info_of(h);
}

}  // namespace bionmda
