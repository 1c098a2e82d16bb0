// The CPU backend: the backend policy of engine_impl over host memory, and
// the operations around the step (per-post sums, gathers, fills) that need
// no vector math. The steps themselves are in cpu_kernels.cpp.
#include <algorithm>
#include <cstring>
#include <string>

#include "bionmda/host_memory.hpp"
#include "cpu_kernels.hpp"
#include "engine_impl.hpp"

namespace bionmda::detail {
namespace {

// Below this many elements a step runs on the calling thread alone (no other
// thread takes part): the fork/join costs more than a second thread saves,
// and on a loaded machine the step would wait for a descheduled thread
// (measured: bench/RESULTS.md, "CPU threads").
constexpr std::int64_t parallel_threshold = 1 << 15;
// Rows of a per-post sum below which it runs on the calling thread, and rows
// per work item above it.
constexpr std::int64_t post_parallel_threshold = 4096;
constexpr std::int64_t rows_per_item = 512;
// Elements per work item when filling with random initial values.
constexpr std::int64_t fill_item = 1 << 16;

struct cpu_backend {
  static constexpr memory_space space = memory_space::host;

  struct context {
    int device = 0;   // unused: host memory
    int threads = 0;  // 0 = OpenMP's default (OMP_NUM_THREADS, else the cores)
    template <class Real>
    explicit context(const engine_setup<Real>& s) : threads(s.threads) {}
    /// The team for work of this many items (1: the calling thread alone).
    [[nodiscard]] cpu_exec exec(std::int64_t items, std::int64_t threshold = parallel_threshold) const {
      if (items < threshold) return cpu_exec{1};
      return cpu_exec{threads > 0 ? threads : cpu_default_threads()};
    }
  };
  struct scope {
    explicit scope(const context&) {}
  };

  static void upload_async(void* dst, const void* src, std::size_t bytes, const context&, cudaStream_t) {
    std::memcpy(dst, src, bytes);
  }
  static void synchronize(const context&, cudaStream_t) {}

  template <class Real, class Gate>
  static void step(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m, const Gate& gate,
                   cudaStream_t) {
    cpu_step(s, m, gate, c.exec(s.units * s.batch));
  }

  template <class Real, class Window>
  static void step_window(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w,
                          std::int64_t steps, const window_record<Real>& rec, cudaStream_t) {
    cpu_window(s, m, w, steps, rec, c.exec(s.units * s.batch));
  }

  // Bit k*B*W + b*W + i/32 holds whether element b*N + i spikes at step k.
  static void events_to_bits(const context&, const std::int64_t* offsets, const std::int64_t* events,
                             std::int64_t count, std::int64_t steps, std::int64_t units, std::int64_t batch,
                             std::uint32_t* bits, cudaStream_t) {
    const std::int64_t w = bit_words(units);
    std::fill(bits, bits + steps * batch * w, 0u);
    const std::int64_t n = units * batch;
    for (std::int64_t k = 0; k < steps; ++k) {
      const std::int64_t from = offsets[k], to = offsets[k + 1];
      if (from < 0 || to > count || to < from) continue;  // host offsets are checked before; the kernel's rule
      std::uint32_t* step_bits = bits + k * batch * w;
      for (std::int64_t q = from; q < to; ++q) {
        const std::int64_t e = events[q];
        if (e < 0 || e >= n) continue;
        const std::int64_t b = e / units, i = e - b * units;
        step_bits[b * w + (i >> 5)] |= 1u << (i & 31);
      }
    }
  }

  template <class Real>
  static void step_post(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m,
                        const gate_presynaptic& gate, const post_args<Real>& map, const post_outputs<Real>& out,
                        cudaStream_t) {
    cpu_step_post(s, m, gate, map, out, c.exec(s.units * s.batch));
  }

  template <class Real>
  static void start_pulses(const context&, const state_ptrs<Real>& s, const model_args<Real>& m,
                           const std::int64_t* events, std::int64_t count, cudaStream_t) {
    const std::int64_t n = s.units * s.batch;
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t e = events[k];
      if (e < 0 || e >= n) continue;  // host events are checked before; this is the kernel's rule
      s.countdown[e] = m.per_unit ? m.pulse[e % s.units] : m.pulse_steps;
    }
  }

  template <class Real>
  static void sum_post(const context& c, const post_args<Real>& a, const Real* g, const post_outputs<Real>& out,
                       cudaStream_t) {
    const std::int64_t rows = a.n_post * a.batch;
    parallel_for(c.exec(rows, post_parallel_threshold), (rows + rows_per_item - 1) / rows_per_item,
                 [&](std::int64_t item) {
                   const std::int64_t r1 = std::min(rows, (item + 1) * rows_per_item);
                   for (std::int64_t r = item * rows_per_item; r < r1; ++r) {
                     const std::int64_t b = r / a.n_post;
                     const std::int64_t j = r - b * a.n_post;
                     const Real* gb = g + b * a.units;
                     Real acc = 0;
                     for (std::int64_t k = a.row_offsets[j]; k < a.row_offsets[j + 1]; ++k) {
                       acc += a.gmax[k] * gb[a.source[k]];
                     }
                     finish_post_row(out, a.mg, r, acc);
                   }
                 });
  }

  template <class Real, class Window>
  static void step_window_post(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m,
                               const Window& w, std::int64_t steps, const post_args<Real>& map, Real* g_post,
                               cudaStream_t) {
    cpu_window_post(s, m, w, steps, map, g_post, c.exec(s.units * s.batch));
  }

  // A window's g history is element-major (each source's K values in one
  // place, read once per synapse) while it fits in this budget; beyond it
  // every synapse's gather would miss the cache, and the history is
  // step-major, summed one step after another as single steps are.
  static constexpr std::int64_t history_cache_bytes = std::int64_t{8} << 20;
  static bool history_by_element(std::int64_t steps, std::int64_t elements, std::size_t real_size) {
    return elements <= history_cache_bytes / static_cast<std::int64_t>(real_size) / std::max<std::int64_t>(steps, 1);
  }
  // The g history alone.
  static std::int64_t history_values(const context&, std::int64_t steps, std::int64_t elements) {
    std::int64_t values = 0;
    return __builtin_mul_overflow(steps, elements, &values) ? -1 : values;
  }

  // The per-post sums of each step of a window from the g history, each row
  // summed synapse after synapse in the order of sum_post (the same bits).
  template <class Real>
  static void sum_post_window(const context& c, const post_args<Real>& a, const Real* history, bool by_element,
                              std::int64_t steps, Real* g_post, cudaStream_t stream) {
    const std::int64_t rows = a.n_post * a.batch;
    if (!by_element) {  // [K][B*N]: the single step's sums, step after step
      for (std::int64_t k = 0; k < steps; ++k) {
        sum_post(c, a, history + k * a.units * a.batch, post_outputs<Real>{g_post + k * rows, nullptr, nullptr},
                 stream);
      }
      return;
    }
    // [B*N][K]: each row reads its synapses once per block of steps and adds
    // them into one sum per step.
    constexpr std::int64_t step_block = 64;
    parallel_for(c.exec(rows * steps, post_parallel_threshold), (rows + rows_per_item - 1) / rows_per_item,
                 [&](std::int64_t item) {
                   Real acc[step_block];
                   const std::int64_t r1 = std::min(rows, (item + 1) * rows_per_item);
                   for (std::int64_t r = item * rows_per_item; r < r1; ++r) {
                     const std::int64_t b = r / a.n_post;
                     const std::int64_t j = r - b * a.n_post;
                     const Real* hb = history + b * a.units * steps;
                     for (std::int64_t k0 = 0; k0 < steps; k0 += step_block) {
                       const std::int64_t nk = std::min(step_block, steps - k0);
                       std::fill(acc, acc + nk, Real(0));
                       for (std::int64_t q = a.row_offsets[j]; q < a.row_offsets[j + 1]; ++q) {
                         const Real w = a.gmax[q];
                         const Real* h = hb + static_cast<std::int64_t>(a.source[q]) * steps + k0;
                         for (std::int64_t k = 0; k < nk; ++k) acc[k] += w * h[k];
                       }
                       for (std::int64_t k = 0; k < nk; ++k) g_post[(k0 + k) * rows + r] = acc[k];
                     }
                   }
                 });
  }

  template <class Real>
  static void gather(const context&, const state_ptrs<Real>& s, const std::int64_t* elements, std::int64_t count,
                     Real* g, Real* x, cudaStream_t) {
    for (std::int64_t k = 0; k < count; ++k) {
      g[k] = s.g[elements[k]];
      x[k] = s.x[elements[k]];
    }
  }

  template <class T>
  static void fill(const context&, T* p, std::int64_t n, T value, cudaStream_t) {
    std::fill(p, p + n, value);
  }

  template <class Real>
  static void fill_uniform(const context& c, Real* p, std::int64_t n, std::uint64_t key, double low, double high,
                           cudaStream_t) {
    parallel_for(c.exec(n), (n + fill_item - 1) / fill_item, [&](std::int64_t item) {
      const std::int64_t e1 = std::min(n, (item + 1) * fill_item);
      for (std::int64_t e = item * fill_item; e < e1; ++e) {
        p[e] = static_cast<Real>(uniform_initial(key, static_cast<std::uint64_t>(e), low, high));
      }
    });
  }
};

// Byte counts of states beyond any 64-bit integer (N and B up to 2^63 each,
// their product checked, times up to 18 bytes), exact.
__extension__ using byte_count = unsigned __int128;

std::string to_decimal(byte_count v) {
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return s;
}

// Refuses a state larger than what this process can still get (MemAvailable,
// a cgroup limit) up front: with memory overcommit the allocation itself may
// succeed and the process be killed later, when the pages are first touched.
void check_fits_in_memory(const prepared_model& m, std::int64_t units, std::int64_t batch, std::size_t real) {
  const auto r = static_cast<byte_count>(real);
  const byte_count elements = static_cast<byte_count>(units) * static_cast<byte_count>(batch);
  // g and x in Real plus a 2-byte countdown per element; per unit, six
  // coefficients in Real and a 2-byte pulse length.
  const byte_count per_unit_bytes = m.per_unit ? static_cast<byte_count>(units) * (6 * r + 2) : 0;
  const byte_count need = elements * (2 * r + 2) + per_unit_bytes;
  const host_memory_budget budget = available_host_memory();
  if (!budget.known || need <= budget.bytes) return;  // unknown: let the allocation decide
  throw out_of_memory("bionmda: the CPU backend's state of " + std::to_string(units) + " units x " +
                          std::to_string(batch) + " batch entries needs " + to_decimal(need) +
                          " bytes, more than the " + std::to_string(budget.bytes) +
                          " bytes available to this process (" + budget.limit + ")",
                      need > SIZE_MAX ? SIZE_MAX : static_cast<std::size_t>(need),
                      static_cast<std::size_t>(budget.bytes));
}

}  // namespace

template <class Real>
std::unique_ptr<typed_engine<Real>> make_cpu_engine(const prepared_model& model, const engine_setup<Real>& setup) {
  if (setup.external == nullptr) check_fits_in_memory(model, setup.units, setup.batch, sizeof(Real));
  return std::make_unique<engine_impl<cpu_backend, Real>>(model, setup);
}

template std::unique_ptr<typed_engine<float>> make_cpu_engine(const prepared_model&, const engine_setup<float>&);
template std::unique_ptr<typed_engine<double>> make_cpu_engine(const prepared_model&, const engine_setup<double>&);

}  // namespace bionmda::detail
