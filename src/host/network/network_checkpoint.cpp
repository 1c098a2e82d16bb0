// Network checkpoints: per rank the units (the population checkpoint format)
// and a state file (schedule + caller's bytes, checksummed); the manifest.
#include "bionmda/network/checkpoint.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>

#include "bionmda/checkpoint.hpp"
#include "bionmda/error.hpp"
#include "checkpoint_check.hpp"
#include "util/atomic_file.hpp"

namespace bionmda {
namespace {

constexpr char state_magic[8] = {'B', 'N', 'M', 'D', 'A', 'N', 'E', 'T'};
constexpr std::uint32_t state_version = 1;

std::string rank_path(const std::string& dir, int rank, const char* ext) {
  return dir + "/rank-" + std::to_string(rank) + ext;
}

class writer {
 public:
  template <class T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof v);
  }
  void put_bytes(const void* p, std::size_t n) {
    const auto* c = static_cast<const char*>(p);
    bytes_.insert(bytes_.end(), c, c + n);
  }
  std::vector<char>& bytes() { return bytes_; }

 private:
  std::vector<char> bytes_;
};

class reader {
 public:
  reader(const std::vector<char>& b, std::string path) : b_(b), path_(std::move(path)) {}
  template <class T>
  T get() {
    T v;
    need(sizeof v);
    std::memcpy(&v, b_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  void get_bytes(void* p, std::size_t n) {
    need(n);
    if (n > 0) std::memcpy(p, b_.data() + at_, n);
    at_ += n;
  }
  std::size_t left() const { return b_.size() - at_; }

 private:
  void need(std::size_t n) const {
    if (n > b_.size() - at_) throw error("network checkpoint " + path_ + ": truncated");
  }
  const std::vector<char>& b_;
  std::string path_;
  std::size_t at_ = 0;
};

struct rank_state {
  network_manifest m;
  int rank = 0;
  window_loop::state loop;
  std::vector<std::uint8_t> user;
};

rank_state read_state_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw error("network checkpoint " + path + ": cannot open (missing or unreadable)");
  std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw error("network checkpoint " + path + ": read error");
  if (b.size() < sizeof state_magic + sizeof(std::uint64_t) || std::memcmp(b.data(), state_magic, 8) != 0) {
    throw error("network checkpoint " + path + ": not a bionmda rank state file (bad magic)");
  }
  std::uint64_t stored;
  std::memcpy(&stored, b.data() + b.size() - sizeof stored, sizeof stored);
  if (XXH64(b.data(), b.size() - sizeof stored, 0) != stored) {
    throw error("network checkpoint " + path + ": checksum mismatch (corrupted)");
  }
  b.resize(b.size() - sizeof stored);
  reader r(b, path);
  char magic[8];
  r.get_bytes(magic, sizeof magic);
  const auto version = r.get<std::uint32_t>();
  if (version != state_version) {
    throw error("network checkpoint " + path + ": format version " + std::to_string(version) + ", this build reads " +
                std::to_string(state_version));
  }
  rank_state s;
  s.rank = r.get<std::int32_t>();
  s.m.ranks = r.get<std::int32_t>();
  s.m.step = r.get<std::int64_t>();
  s.m.neurons = r.get<std::int64_t>();
  s.m.delay_steps = r.get<std::int64_t>();
  s.m.window_steps = r.get<std::int64_t>();
  s.m.partition_digest = r.get<std::uint64_t>();
  s.loop.step = s.m.step;
  s.loop.delay_steps = s.m.delay_steps;
  s.loop.window_steps = s.m.window_steps;
  s.loop.closed = r.get<std::uint8_t>() != 0;
  const auto slots = r.get<std::int64_t>();
  if (slots < 0 || static_cast<std::uint64_t>(slots) > r.left() / sizeof(std::int64_t)) {
    throw error("network checkpoint " + path + ": bad slot count " + std::to_string(slots));
  }
  s.loop.slots.resize(static_cast<std::size_t>(slots));
  for (auto& slot : s.loop.slots) {
    const auto n = r.get<std::int64_t>();
    if (n < 0 || static_cast<std::uint64_t>(n) > r.left() / sizeof(spike_word)) {
      throw error("network checkpoint " + path + ": bad spike count " + std::to_string(n));
    }
    slot.resize(static_cast<std::size_t>(n));
    r.get_bytes(slot.data(), slot.size() * sizeof(spike_word));
  }
  const auto user = r.get<std::int64_t>();
  if (user < 0 || static_cast<std::uint64_t>(user) != r.left()) {
    throw error("network checkpoint " + path + ": bad length of the caller's state");
  }
  s.user.resize(static_cast<std::size_t>(user));
  r.get_bytes(s.user.data(), s.user.size());
  return s;
}

}  // namespace

void save_rank_checkpoint(const std::string& dir, int rank, const network_manifest& manifest, window_loop& loop,
                          const projection& synapses, host_span<const std::uint8_t> user) {
  if (rank < 0 || rank >= manifest.ranks) {
    throw invalid_argument("save_rank_checkpoint: rank " + std::to_string(rank) + " outside [0, " +
                           std::to_string(manifest.ranks) + ")");
  }
  if (user.size < 0 || (user.size > 0 && user.data == nullptr)) {
    throw invalid_argument("save_rank_checkpoint: the caller's state has size " + std::to_string(user.size) +
                           (user.size > 0 ? " and no data" : ""));
  }
  const window_loop::state st = loop.save();
  if (st.step != manifest.step || st.delay_steps != manifest.delay_steps || st.window_steps != manifest.window_steps) {
    throw invalid_argument("save_rank_checkpoint: the manifest says step " + std::to_string(manifest.step) +
                           ", the window schedule is at step " + std::to_string(st.step));
  }
  writer w;
  w.put_bytes(state_magic, sizeof state_magic);
  w.put(state_version);
  w.put(static_cast<std::int32_t>(rank));
  w.put(static_cast<std::int32_t>(manifest.ranks));
  w.put(manifest.step);
  w.put(manifest.neurons);
  w.put(manifest.delay_steps);
  w.put(manifest.window_steps);
  w.put(manifest.partition_digest);
  w.put(static_cast<std::uint8_t>(st.closed ? 1 : 0));
  w.put(static_cast<std::int64_t>(st.slots.size()));
  for (const auto& slot : st.slots) {
    w.put(static_cast<std::int64_t>(slot.size()));
    w.put_bytes(slot.data(), slot.size() * sizeof(spike_word));
  }
  w.put(user.size);
  w.put_bytes(user.data, static_cast<std::size_t>(user.size));
  const std::uint64_t sum = XXH64(w.bytes().data(), w.bytes().size(), 0);
  w.put(sum);
  save_checkpoint(synapses.units(), rank_path(dir, rank, ".units"));
  const std::vector<char>& bytes = w.bytes();
  detail::write_atomically(rank_path(dir, rank, ".state"), [&](std::ostream& o) {
    o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

namespace {

// Everything restore_rank_checkpoint checks before it changes anything: the
// state file, its fit to the manifest and to the loop (restore_rank_checkpoint
// restores the units first, so the loop's restore must not fail afterwards),
// the units file's step, and with check_units the whole units file.
rank_state check_rank(const std::string& dir, int rank, const network_manifest& manifest, const window_loop& loop,
                      const projection& synapses, bool check_units) {
  const std::string state_path = rank_path(dir, rank, ".state");
  rank_state s = read_state_file(state_path);
  const network_manifest saved = s.m;
  if (s.rank != rank) {
    throw invalid_argument("network checkpoint " + state_path + ": written by rank " + std::to_string(s.rank) +
                           ", read by rank " + std::to_string(rank));
  }
  check_network_manifest(saved, manifest, state_path);
  const std::int64_t m = manifest.delay_steps / std::max<std::int64_t>(manifest.window_steps, 1);
  if (static_cast<std::int64_t>(s.loop.slots.size()) != m) {
    throw error("network checkpoint " + state_path + ": " + std::to_string(s.loop.slots.size()) + " slots, expected " +
                std::to_string(m));
  }
  for (const auto& slot : s.loop.slots) {
    for (std::size_t i = 0; i < slot.size(); ++i) {
      if (spike_step(slot[i]) >= manifest.window_steps || spike_neuron(slot[i]) >= manifest.neurons ||
          (i > 0 && slot[i - 1] >= slot[i])) {
        throw error("network checkpoint " + state_path + ": a saved spike is out of range or out of order");
      }
    }
  }
  loop.check_restore(s.loop);
  const std::string units_path = rank_path(dir, rank, ".units");
  const checkpoint_info info = read_checkpoint_info(units_path);
  if (info.step_count != manifest.step) {
    throw invalid_argument("network checkpoint " + units_path + ": its units are at step " +
                           std::to_string(info.step_count) + ", the manifest at step " + std::to_string(manifest.step));
  }
  if (check_units) detail::check_restore_checkpoint(synapses.units(), units_path);
  return s;
}

}  // namespace

void check_rank_checkpoint(const std::string& dir, int rank, const network_manifest& manifest, const window_loop& loop,
                           const projection& synapses) {
  (void)check_rank(dir, rank, manifest, loop, synapses, true);
}

std::vector<std::uint8_t> restore_rank_checkpoint(const std::string& dir, int rank, const network_manifest& manifest,
                                                  window_loop& loop, projection& synapses) {
  rank_state s = check_rank(dir, rank, manifest, loop, synapses, false);
  // Checks everything before changing the units; the loop was checked above.
  restore_checkpoint(synapses.units(), rank_path(dir, rank, ".units"));
  loop.restore(s.loop);
  return std::move(s.user);
}

void write_network_manifest(const std::string& dir, const network_manifest& m) {
  std::ostringstream o;
  o << "{\n  \"format\": \"bionmda-network-checkpoint\",\n  \"version\": 1,\n"
    << "  \"ranks\": " << m.ranks << ",\n  \"step\": " << m.step << ",\n  \"neurons\": " << m.neurons
    << ",\n  \"delay_steps\": " << m.delay_steps << ",\n  \"window_steps\": " << m.window_steps
    << ",\n  \"partition_digest\": \"" << std::hex << m.partition_digest << std::dec << "\",\n  \"files\": [";
  for (int r = 0; r < m.ranks; ++r) {
    o << (r ? ", " : "") << "\"rank-" << r << ".units\", \"rank-" << r << ".state\"";
  }
  o << "]\n}\n";
  const std::string text = o.str();
  detail::write_atomically(dir + "/manifest.json", [&](std::ostream& out) { out << text; });
}

network_manifest read_network_manifest(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  std::ifstream f(path);
  if (!f) throw error("network checkpoint " + path + ": cannot open (no complete checkpoint in " + dir + ")");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // The manifest is ours: one "key": value per line.
  auto field = [&](const char* key) -> std::string {
    const std::string k = std::string("\"") + key + "\": ";
    const auto at = text.find(k);
    if (at == std::string::npos) throw error("network checkpoint " + path + ": no \"" + key + "\" field");
    const auto start = at + k.size();
    const auto end = text.find_first_of(",\n", start);
    std::string v = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  };
  auto integer = [&](const char* key, int base = 10) -> std::int64_t {
    const std::string v = field(key);
    std::size_t used = 0;
    long long n = 0;
    try {
      n = base == 16 ? static_cast<long long>(std::stoull(v, &used, 16)) : std::stoll(v, &used, 10);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != v.size()) throw error("network checkpoint " + path + ": bad \"" + key + "\": " + v);
    return n;
  };
  if (field("format") != "bionmda-network-checkpoint" || integer("version") != 1) {
    throw error("network checkpoint " + path + ": not a version-1 bionmda network checkpoint manifest");
  }
  network_manifest m;
  const std::int64_t ranks = integer("ranks");
  if (ranks < 1 || ranks > INT32_MAX) throw error("network checkpoint " + path + ": bad \"ranks\"");
  m.ranks = static_cast<int>(ranks);
  m.step = integer("step");
  m.neurons = integer("neurons");
  m.delay_steps = integer("delay_steps");
  m.window_steps = integer("window_steps");
  m.partition_digest = static_cast<std::uint64_t>(integer("partition_digest", 16));
  // Ranges the writer guarantees; anything else is a damaged or foreign file.
  if (m.step < 0 || m.neurons < 0 || m.neurons >= max_spike_neurons || m.delay_steps < 1 ||
      m.delay_steps >= max_spike_window_steps || m.window_steps < 1 || m.window_steps > m.delay_steps ||
      m.delay_steps % m.window_steps != 0) {
    throw error("network checkpoint " + path + ": values out of range (step " + std::to_string(m.step) + ", neurons " +
                std::to_string(m.neurons) + ", delay_steps " + std::to_string(m.delay_steps) + ", window_steps " +
                std::to_string(m.window_steps) + ")");
  }
  return m;
}

void check_network_manifest(const network_manifest& saved, const network_manifest& run, const std::string& where) {
  auto differ = [&](const char* what, auto a, auto b) {
    throw invalid_argument("network checkpoint " + where + ": saved with " + what + " " + std::to_string(a) +
                           ", this run has " + std::to_string(b) + " (restore at the same ranks, size and delays)");
  };
  if (saved.ranks != run.ranks) differ("ranks", saved.ranks, run.ranks);
  if (saved.neurons != run.neurons) differ("neurons", saved.neurons, run.neurons);
  if (saved.delay_steps != run.delay_steps) differ("delay_steps", saved.delay_steps, run.delay_steps);
  if (saved.window_steps != run.window_steps) differ("window_steps", saved.window_steps, run.window_steps);
  if (saved.partition_digest != run.partition_digest) {
    throw invalid_argument("network checkpoint " + where + ": saved with another partition of the neurons");
  }
  if (saved.step != run.step) differ("step", saved.step, run.step);
}

}  // namespace bionmda
