// The CUDA backend: the backend policy of engine_impl over device memory.
// Every operation is one kernel launch through launch_1d on the caller's
// stream; nothing here allocates or synchronises inside a step.
#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

#include "bionmda/backend.hpp"
#include "bionmda/detail/error_macros.hpp"
#include "cuda_check.hpp"
#include "device_scope.hpp"
#include "engine_impl.hpp"
#include "launch.cuh"
#include "step_kernel.cuh"
#include "window_kernel.cuh"

namespace bionmda::detail {
namespace {

struct cuda_backend {
  static constexpr memory_space space = memory_space::device;

  struct context {
    int device = 0;
    int multiprocessors = 1;
    bool streaming = false;  // evict-first cache hints on the state
    // The faster post windows (measured on an H200: per-presynaptic sums by
    // lanes 2.2-3.9x a step plus a sum, per-synapse rows in registers
    // 1.7-1.8x the fused step; bench/RESULTS.md): per-presynaptic sums from an
    // element-major copy of the history (post_sum_window_lanes_kernel),
    // per-synapse rows in registers. The same bits either way.
    bool post_window_fast = true;
    template <class Real>
    explicit context(const engine_setup<Real>& s) : device(s.device) {
      const int count = static_cast<int>(cuda_devices().size());
      BIONMDA_EXPECTS_AS(backend_unavailable, device >= 0 && device < count,
                         "CUDA device " << device << " does not exist (" << count << " usable devices)");
      const device_scope scope(device);
      cudaDeviceProp prop{};
      BIONMDA_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
      multiprocessors = prop.multiProcessorCount;
      // Evict-first cache hints are off by default: measured on an H100 they
      // gained 4% at 2^22 units, nothing at 2^24 and lost 11% at 2^26
      // (bench/RESULTS.md). BIONMDA_CUDA_STREAMING=1 turns them on.
      if (const char* env = std::getenv("BIONMDA_CUDA_STREAMING")) streaming = std::string(env) != "0";
      // BIONMDA_CUDA_POST_WINDOW=plain turns them off (the earlier kernels).
      if (const char* env = std::getenv("BIONMDA_CUDA_POST_WINDOW")) post_window_fast = std::string(env) != "plain";
    }
  };
  struct scope : device_scope {
    explicit scope(const context& c) : device_scope(c.device) {}
  };

  static void upload_async(void* dst, const void* src, std::size_t bytes, const context&, cudaStream_t stream) {
    BIONMDA_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  }
  static void synchronize(const context&, cudaStream_t stream) { BIONMDA_CUDA_TRY(cudaStreamSynchronize(stream)); }

  template <class Real, class Gate>
  static void step(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m, const Gate& gate,
                   cudaStream_t stream) {
    if constexpr (std::is_same_v<Gate, gate_after_events>) {
      // Pulses started by spike events: the kernel without input (on the GPU
      // the update rounds the same in every instantiation).
      step(c, s, m, gate_none{}, stream);
    } else {
      // The dense mask is read 4 bytes at a time where it is 4-byte aligned.
      bool mask_vec = false;
      if constexpr (std::is_same_v<Gate, gate_dense>) {
        mask_vec = reinterpret_cast<std::uintptr_t>(gate.mask) % 4 == 0;
      }
      if (c.streaming) {
        step_on<Real, true>(c, s, m, gate, mask_vec, stream);
      } else {
        step_on<Real, false>(c, s, m, gate, mask_vec, stream);
      }
    }
  }

  template <class Real, class Window>
  static void step_window(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w,
                          std::int64_t steps, const window_record<Real>& rec, cudaStream_t stream) {
    const std::int64_t chunks = (s.units * s.batch + chunk - 1) / chunk;
    if (m.per_unit) {
      launch_1d<window_kernel<Real, true, Window>, step_block_size>(chunks, c.multiprocessors, stream, s, m, w, steps,
                                                                    rec);
    } else {
      launch_1d<window_kernel<Real, false, Window>, step_block_size>(chunks, c.multiprocessors, stream, s, m, w, steps,
                                                                     rec);
    }
  }

  template <class Real, class Window>
  static void step_window_post(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m,
                               const Window& w, std::int64_t steps, const post_args<Real>& map, Real* g_post,
                               cudaStream_t stream) {
    launch_post(c, s, m, w, steps, map, post_outputs_steps<Real>{g_post, map.n_post * s.batch}, stream);
  }

  // The per-synapse kernel for a step (window_single, outputs with the Mg
  // current) or a window (g_post of every step).
  template <class Real, class Window, class Outputs>
  static void launch_post(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m, const Window& w,
                          std::int64_t steps, const post_args<Real>& map, const Outputs& outs, cudaStream_t stream) {
    const std::int64_t threads = map.n_post * s.batch * 32;
    const bool in_registers = c.post_window_fast;
    if (m.per_unit) {
      launch_1d<post_window_kernel<Real, true, Window, Outputs>, step_block_size>(
          threads, c.multiprocessors, stream, s, m, w, steps, map, outs, in_registers);
    } else {
      launch_1d<post_window_kernel<Real, false, Window, Outputs>, step_block_size>(
          threads, c.multiprocessors, stream, s, m, w, steps, map, outs, in_registers);
    }
  }

  // Step-major: the window kernel's stores of each step are coalesced.
  static bool history_by_element(std::int64_t, std::int64_t, std::size_t) { return false; }

  // Windows of at least this many steps sum from an element-major copy.
  static constexpr std::int64_t lanes_min_steps = 8;
  static bool sums_by_lanes(const context& c, std::int64_t steps) {
    return c.post_window_fast && steps >= lanes_min_steps;
  }
  // The step-major history, and after it, for sums by lanes, the
  // element-major copy [B*N][padded_steps(K)].
  static std::int64_t history_values(const context& c, std::int64_t steps, std::int64_t elements) {
    std::int64_t values = 0, copy = 0;
    if (__builtin_mul_overflow(steps, elements, &values)) return -1;
    if (!sums_by_lanes(c, steps)) return values;
    if (__builtin_mul_overflow(padded_steps(steps), elements, &copy) || __builtin_add_overflow(values, copy, &values)) {
      return -1;
    }
    return values;
  }

  // The per-post sums of every step of a window, in post_sum_kernel's order
  // (the same bits as a step and a sum): from the step-major history one
  // step at a time, or (sums by lanes) from its element-major copy, where a
  // warp's lanes take 32 steps and each synapse's 32 values are one line.
  template <class Real>
  static void sum_post_window(const context& c, const post_args<Real>& map, Real* history, bool,
                              std::int64_t steps, Real* g_post, cudaStream_t stream) {
    const std::int64_t rows = map.n_post * map.batch;
    if (!sums_by_lanes(c, steps)) {
      launch_1d<post_sum_window_kernel<Real>, step_block_size>(rows * 32, c.multiprocessors, stream, map, history,
                                                               steps, g_post);
      return;
    }
    const std::int64_t elements = map.units * map.batch;
    Real* by_element = history + steps * elements;
    const std::int64_t kp = padded_steps(steps);
    const std::int64_t tiles = ((elements + 31) / 32) * ((steps + 31) / 32);
    launch_1d<history_transpose_kernel<Real>, step_block_size>(tiles * step_block_size, c.multiprocessors, stream,
                                                               history, steps, elements, kp, by_element);
    launch_1d<post_sum_window_lanes_kernel<Real>, step_block_size>(rows * 32, c.multiprocessors, stream, map,
                                                                   by_element, steps, kp, g_post);
  }

  static void events_to_bits(const context& c, const std::int64_t* offsets, const std::int64_t* events,
                             std::int64_t count, std::int64_t steps, std::int64_t units, std::int64_t batch,
                             std::uint32_t* bits, cudaStream_t stream) {
    const std::int64_t words = steps * batch * bit_words(units);
    if (words == 0) return;
    BIONMDA_CUDA_TRY(cudaMemsetAsync(bits, 0, static_cast<std::size_t>(words) * sizeof(std::uint32_t), stream));
    launch_1d<events_to_bits_kernel, step_block_size>(steps * step_block_size, c.multiprocessors, stream, offsets,
                                                      events, count, steps, units, batch, bits);
  }

  template <class Real>
  static void step_post(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m,
                        const gate_presynaptic& gate, const post_args<Real>& map, const post_outputs<Real>& out,
                        cudaStream_t stream) {
    launch_post(c, s, m, window_single<gate_presynaptic>{gate}, 1, map, post_outputs_fixed<Real>{out}, stream);
  }

  template <class Real>
  static void sum_post(const context& c, const post_args<Real>& a, const Real* g, const post_outputs<Real>& out,
                       cudaStream_t stream) {
    launch_1d<post_sum_kernel<Real>, step_block_size>(a.n_post * a.batch * 32, c.multiprocessors, stream, a, g, out);
  }

  template <class Real>
  static void start_pulses(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m,
                           const std::int64_t* events, std::int64_t count, cudaStream_t stream) {
    launch_1d<start_pulses_kernel<Real>, step_block_size>(count, c.multiprocessors, stream, s, m, events, count);
  }

  template <class Real>
  static void gather(const context& c, const state_ptrs<Real>& s, const std::int64_t* elements, std::int64_t count,
                     Real* g, Real* x, cudaStream_t stream) {
    launch_1d<gather_kernel<Real>, step_block_size>(count, c.multiprocessors, stream, s, elements, count, g, x);
  }

  template <class T>
  static void fill(const context& c, T* p, std::int64_t n, T value, cudaStream_t stream) {
    launch_1d<fill_kernel<T>, step_block_size>(n, c.multiprocessors, stream, p, n, value);
  }

  template <class Real>
  static void fill_uniform(const context& c, Real* p, std::int64_t n, std::uint64_t key, double low, double high,
                           cudaStream_t stream) {
    launch_1d<fill_uniform_kernel<Real>, step_block_size>(n, c.multiprocessors, stream, p, n, key, low, high);
  }

 private:
  template <class Real, bool Streaming, class Gate>
  static void step_on(const context& c, const state_ptrs<Real>& s, const model_args<Real>& m, const Gate& gate,
                      bool mask_vec, cudaStream_t stream) {
    const std::int64_t chunks = (s.units * s.batch + chunk - 1) / chunk;
    if (m.per_unit) {
      launch_1d<step_kernel<Real, true, Streaming, Gate>, step_block_size>(chunks, c.multiprocessors, stream, s, m,
                                                                           gate, mask_vec);
    } else {
      launch_1d<step_kernel<Real, false, Streaming, Gate>, step_block_size>(chunks, c.multiprocessors, stream, s, m,
                                                                            gate, mask_vec);
    }
  }
};

}  // namespace

template <class Real>
std::unique_ptr<typed_engine<Real>> make_cuda_engine(const prepared_model& model, const engine_setup<Real>& setup) {
  return std::make_unique<engine_impl<cuda_backend, Real>>(model, setup);
}

template std::unique_ptr<typed_engine<float>> make_cuda_engine(const prepared_model&, const engine_setup<float>&);
template std::unique_ptr<typed_engine<double>> make_cuda_engine(const prepared_model&, const engine_setup<double>&);

}  // namespace bionmda::detail
