// GPU variants timed side by side in one run (ratios are only quoted from
// here): the fused one-launch step against a multi-pass Thrust version; 100
// steps captured in a CUDA graph against 100 plain launches; float32 against
// float64; dense mask against presynaptic gather; 1 Hz against 100 Hz input.
#include <cuda_runtime.h>
#include <cusparse.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "gpu_variants.hpp"
#include "roofline.hpp"
#include "bionmda/bionmda.hpp"
#include "thrust_multipass.cuh"

namespace {

using namespace bionmda;

#define CHECK(call)                                                                        \
  do {                                                                                     \
    const cudaError_t e_ = (call);                                                         \
    if (e_ != cudaSuccess) {                                                               \
      throw cuda_error(std::string("bionmda bench: ") + #call + " failed: " + cudaGetErrorName(e_)); \
    }                                                                                      \
  } while (0)

// Device masks in rotation, so small sizes are not served from L2.
struct device_masks {
  std::vector<std::uint8_t*> d;
  std::int64_t n = 0;
  device_masks(std::int64_t elements, double p, int count, std::uint64_t seed) : n(elements) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution bern(p);
    std::vector<std::uint8_t> h(static_cast<std::size_t>(elements));
    for (int k = 0; k < count; ++k) {
      for (auto& b : h) b = bern(rng) ? 1 : 0;
      std::uint8_t* ptr = nullptr;
      CHECK(cudaMalloc(&ptr, h.size()));
      CHECK(cudaMemcpy(ptr, h.data(), h.size(), cudaMemcpyHostToDevice));
      d.push_back(ptr);
    }
  }
  ~device_masks() {
    for (auto* p : d) cudaFree(p);
  }
  device_span<const std::uint8_t> at(std::int64_t s) const {
    return {d[static_cast<std::size_t>(s) % d.size()], n};
  }
};

// Median seconds per step of `steps` calls of f(s) on stream, over repeats.
template <class F>
double seconds_per_step(F f, int steps, int repeats, cudaStream_t stream) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int s = 0; s < 3; ++s) f(s);
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    CHECK(cudaEventRecord(a, stream));
    for (int s = 0; s < steps; ++s) f(s);
    CHECK(cudaEventRecord(b, stream));
    CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1e-3 / steps);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return bench::median(t);
}

int steps_for(std::int64_t n) { return n >= (1 << 24) ? 50 : n >= (1 << 20) ? 200 : 1000; }

population_config config(std::int64_t n, precision p) {
  population_config c;
  c.units = n;
  c.backend = backend::cuda;
  c.precision = p;
  c.host_input_staging = false;
  c.g0 = initial_value::uniform(0, 0.5, 1);
  c.x0 = initial_value::uniform(0, 0.5, 2);
  return c;
}

}  // namespace

namespace bionmda::bench {

nlohmann::json run_gpu_variants(int repeats) {
  if (cuda_devices().empty()) throw backend_unavailable("bionmda: GPU variants need a usable CUDA device");
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const double copy_bw = bench::device_copy_bandwidth(std::size_t{1} << 30);
  nlohmann::json j;
  j["device"] = cuda_devices()[0].name;
  j["copy_bandwidth_bytes_per_s"] = copy_bw;
  std::printf("\n# bionmda GPU variants on %s; device copy %.1f GB/s (read+write)\n",
              cuda_devices()[0].name.c_str(), copy_bw * 1e-9);

  // 1. Fused step against the multi-pass Thrust version (float32, dense, 20 Hz).
  std::printf("\n## fused step vs multi-pass Thrust (float32, dense mask, 20 Hz)\n");
  std::printf("%10s %14s %14s %8s %10s\n", "N", "fused us/step", "thrust us/step", "ratio", "fused %copy");
  for (std::int64_t n : {std::int64_t{1} << 20, std::int64_t{1} << 24, std::int64_t{1} << 26}) {
    device_masks masks(n, 20.0 * 0.1 / 1000.0, 4, 11);
    population pop(config(n, precision::float32));
    bench::multipass_state mp(static_cast<std::size_t>(n));
    bench::multipass_params mpp;
    // Check: the multi-pass version computes the same trajectory.
    {
      population check(config(n, precision::float32));
      const std::vector<double> zeros(static_cast<std::size_t>(n), 0.0);
      check.set_g(host_span<const double>(zeros));
      check.set_x(host_span<const double>(zeros));
      for (int s = 0; s < 50; ++s) {
        check.step_async(dense_mask(masks.at(s)), stream);
        mp.step(masks.at(s).data, mpp, stream);
      }
      CHECK(cudaStreamSynchronize(stream));
      const auto g = check.g(stream);
      std::vector<float> g_mp(static_cast<std::size_t>(n));
      CHECK(cudaMemcpy(g_mp.data(), thrust::raw_pointer_cast(mp.g.data()), g_mp.size() * 4, cudaMemcpyDeviceToHost));
      double worst = 0;
      for (std::size_t k = 0; k < g.size(); ++k) worst = std::max(worst, std::fabs(g[k] - g_mp[k]));
      if (worst > 1e-5) {
        throw error("bionmda: multi-pass Thrust disagrees with the fused step by " + std::to_string(worst) +
                    "; no speed reported");
      }
    }
    const int steps = steps_for(n);
    const double fused = seconds_per_step([&](int s) { pop.step_async(dense_mask(masks.at(s)), stream); }, steps, repeats, stream);
    const double multi = seconds_per_step([&](int s) { mp.step(masks.at(s).data, mpp, stream); }, steps, repeats, stream);
    const double pct = 19.0 * static_cast<double>(n) / fused / copy_bw * 100;
    std::printf("%10lld %14.2f %14.2f %7.2fx %9.1f%%\n", static_cast<long long>(n), fused * 1e6, multi * 1e6,
                multi / fused, pct);
    j["fused_vs_thrust"].push_back({{"N", n}, {"fused_s", fused}, {"thrust_s", multi}, {"ratio", multi / fused},
                                    {"fused_copy_fraction", pct / 100}});
  }

  // 1b. Evict-first cache hints on and off (off by default).
  std::printf("\n## evict-first (streaming) cache hints (float32, dense, 20 Hz)\n");
  std::printf("%10s %14s %14s %8s\n", "N", "plain us/step", "hints us/step", "ratio");
  for (std::int64_t n : {std::int64_t{1} << 20, std::int64_t{1} << 22, std::int64_t{1} << 24,
                         std::int64_t{1} << 26}) {
    device_masks masks(n, 20.0 * 0.1 / 1000.0, 4, 15);
    setenv("BIONMDA_CUDA_STREAMING", "0", 1);
    population plain(config(n, precision::float32));
    setenv("BIONMDA_CUDA_STREAMING", "1", 1);
    population hinted(config(n, precision::float32));
    unsetenv("BIONMDA_CUDA_STREAMING");
    const int steps = steps_for(n);
    const double a = seconds_per_step([&](int s) { plain.step_async(dense_mask(masks.at(s)), stream); }, steps, repeats, stream);
    const double b = seconds_per_step([&](int s) { hinted.step_async(dense_mask(masks.at(s)), stream); }, steps, repeats, stream);
    std::printf("%10lld %14.2f %14.2f %7.3fx\n", static_cast<long long>(n), a * 1e6, b * 1e6, a / b);
    j["streaming_hints"].push_back({{"N", n}, {"plain_s", a}, {"hints_s", b}, {"ratio", a / b}});
  }

  // 2. 100 steps in a CUDA graph against 100 plain launches.
  std::printf("\n## 100 steps: CUDA graph replay vs plain launches (float32, dense)\n");
  std::printf("%10s %14s %14s %8s\n", "N", "plain us/step", "graph us/step", "ratio");
  for (std::int64_t n : {std::int64_t{1} << 10, std::int64_t{1} << 14, std::int64_t{1} << 16,
                         std::int64_t{1} << 18, std::int64_t{1} << 20}) {
    device_masks masks(n, 0.002, 4, 12);
    population pop(config(n, precision::float32));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (int s = 0; s < 100; ++s) pop.step_async(dense_mask(masks.at(s)), stream);
    CHECK(cudaStreamEndCapture(stream, &graph));
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    const double plain = seconds_per_step(
        [&](int) {
          for (int s = 0; s < 100; ++s) pop.step_async(dense_mask(masks.at(s)), stream);
        },
        10, repeats, stream) / 100;
    const double replay = seconds_per_step([&](int) { CHECK(cudaGraphLaunch(exec, stream)); }, 10, repeats, stream) / 100;
    std::printf("%10lld %14.2f %14.2f %7.2fx\n", static_cast<long long>(n), plain * 1e6, replay * 1e6, plain / replay);
    j["graph_vs_plain"].push_back({{"N", n}, {"plain_s", plain}, {"graph_s", replay}, {"ratio", plain / replay}});
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
  }

  // 2b. Per-post aggregation (per-presynaptic mode, warp per row) against the
  // bare step of the population that feeds it.
  std::printf("\n## per-post sum (per-presynaptic mode, float32): N_pre = 2^20, 100 synapses per post\n");
  std::printf("%10s %12s %14s %14s %16s %14s\n", "n_post", "synapses", "step us", "post-sum us", "synapse-steps/s",
              "cuSPARSE us");
  for (std::int64_t n_post : {std::int64_t{1} << 14, std::int64_t{1} << 16, std::int64_t{1} << 18}) {
    const std::int64_t n_pre = std::int64_t{1} << 20, per_post = 100;
    device_masks masks(n_pre, 0.002, 4, 16);
    setenv("BIONMDA_CUDA_POST_WINDOW", "plain", 1);  // the plain post windows; the faster ones below
    population pop(config(n_pre, precision::float32));
    unsetenv("BIONMDA_CUDA_POST_WINDOW");
    csr_connectivity conn;
    conn.n_post = n_post;
    std::mt19937_64 rng(4);
    std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
    conn.row_offsets.reserve(static_cast<std::size_t>(n_post + 1));
    for (std::int64_t row = 0; row <= n_post; ++row) conn.row_offsets.push_back(row * per_post);
    conn.source.resize(static_cast<std::size_t>(n_post * per_post));
    for (auto& src : conn.source) src = pick(rng);
    conn.gmax.assign(conn.source.size(), 0.5);
    postsynaptic_map map(pop, conn);
    float *gp = nullptr, *v = nullptr, *cur = nullptr;
    CHECK(cudaMalloc(&gp, n_post * sizeof(float)));
    CHECK(cudaMalloc(&v, n_post * sizeof(float)));
    CHECK(cudaMalloc(&cur, n_post * sizeof(float)));
    CHECK(cudaMemset(v, 0, n_post * sizeof(float)));
    const double step_s = seconds_per_step([&](int s) { pop.step_async(dense_mask(masks.at(s)), stream); }, 200, repeats, stream);
    const double post_s = seconds_per_step(
        [&](int) {
          map.compute_async<float>(pop, device_span<float>(gp, n_post), device_span<const float>(v, n_post),
                                   device_span<float>(cur, n_post), stream);
        },
        200, repeats, stream);
    const double nnz = static_cast<double>(n_post * per_post);
    // cuSPARSE SpMV of the same matrix (32-bit indices, CSR_ALG1), g as the
    // dense vector: the sum alone, no current.
    double cusparse_s = 0;
    {
      std::vector<std::int32_t> off32(conn.row_offsets.begin(), conn.row_offsets.end());
      std::vector<float> w(conn.gmax.begin(), conn.gmax.end());
      std::int32_t *d_off = nullptr, *d_col = nullptr;
      float* d_w = nullptr;
      CHECK(cudaMalloc(&d_off, off32.size() * 4));
      CHECK(cudaMalloc(&d_col, conn.source.size() * 4));
      CHECK(cudaMalloc(&d_w, w.size() * 4));
      CHECK(cudaMemcpy(d_off, off32.data(), off32.size() * 4, cudaMemcpyHostToDevice));
      CHECK(cudaMemcpy(d_col, conn.source.data(), conn.source.size() * 4, cudaMemcpyHostToDevice));
      CHECK(cudaMemcpy(d_w, w.data(), w.size() * 4, cudaMemcpyHostToDevice));
      cusparseHandle_t handle;
      cusparseSpMatDescr_t A;
      cusparseDnVecDescr_t vx, vy;
      if (cusparseCreate(&handle) != CUSPARSE_STATUS_SUCCESS) throw cuda_error("bionmda bench: cusparseCreate failed");
      cusparseSetStream(handle, stream);
      cusparseCreateCsr(&A, n_post, n_pre, static_cast<std::int64_t>(w.size()), d_off, d_col, d_w, CUSPARSE_INDEX_32I,
                        CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F);
      cusparseCreateDnVec(&vx, n_pre, const_cast<float*>(pop.view_f32().g), CUDA_R_32F);
      cusparseCreateDnVec(&vy, n_post, gp, CUDA_R_32F);
      const float one = 1.0f, zero = 0.0f;
      std::size_t bytes = 0;
      cusparseSpMV_bufferSize(handle, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, A, vx, &zero, vy, CUDA_R_32F,
                              CUSPARSE_SPMV_CSR_ALG1, &bytes);
      void* work = nullptr;
      CHECK(cudaMalloc(&work, std::max<std::size_t>(bytes, 1)));
      cusparse_s = seconds_per_step(
          [&](int) {
            cusparseSpMV(handle, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, A, vx, &zero, vy, CUDA_R_32F,
                         CUSPARSE_SPMV_CSR_ALG1, work);
          },
          200, repeats, stream);
      // The same sums as postsynaptic_map (float32, order may differ).
      std::vector<float> a(static_cast<std::size_t>(n_post)), b(static_cast<std::size_t>(n_post));
      CHECK(cudaMemcpy(a.data(), gp, a.size() * 4, cudaMemcpyDeviceToHost));
      map.compute_async<float>(pop, device_span<float>(gp, n_post), {}, {}, stream);
      CHECK(cudaStreamSynchronize(stream));
      CHECK(cudaMemcpy(b.data(), gp, b.size() * 4, cudaMemcpyDeviceToHost));
      double worst = 0;
      for (std::size_t r = 0; r < a.size(); ++r) worst = std::max(worst, static_cast<double>(std::fabs(a[r] - b[r])));
      if (worst > 1e-3) throw error("bionmda bench: cuSPARSE and postsynaptic_map disagree by " + std::to_string(worst));
      cusparseDestroyDnVec(vx);
      cusparseDestroyDnVec(vy);
      cusparseDestroySpMat(A);
      cusparseDestroy(handle);
      cudaFree(work);
      cudaFree(d_off);
      cudaFree(d_col);
      cudaFree(d_w);
    }
    std::printf("%10lld %12.0f %14.2f %14.2f %16.4g %14.2f\n", static_cast<long long>(n_post), nnz, step_s * 1e6,
                post_s * 1e6, nnz / post_s, cusparse_s * 1e6);
    // Per-synapse mode over the same connectivity: one unit per synapse,
    // update and per-post sum fused; against the bare step of that population.
    population_config syn_cfg = config(n_post * per_post, precision::float32);
    setenv("BIONMDA_CUDA_POST_WINDOW", "plain", 1);
    population syn(syn_cfg);
    unsetenv("BIONMDA_CUDA_POST_WINDOW");
    const postsynaptic_map fused = postsynaptic_map::per_synapse(syn, conn, n_pre);
    const double bare_s = seconds_per_step([&](int s) { syn.step_async(presynaptic_mask(masks.at(s)), stream); }, 50,
                                           repeats, stream);
    const double fused_s = seconds_per_step(
        [&](int s) {
          fused.step_async<float>(syn, masks.at(s), device_span<float>(gp, n_post), device_span<const float>(v, n_post),
                                  device_span<float>(cur, n_post), stream);
        },
        50, repeats, stream);
    std::printf("%10s %12s %14s %14s %16s   per-synapse: bare step %.2f us, fused step+sum %.2f us (%.4g synapse-steps/s)\n",
                "", "", "", "", "", bare_s * 1e6, fused_s * 1e6, nnz / fused_s);
    // Windows of K = 32 steps with g_post after every step ([K][n_post]), per
    // step of the window: per-synapse (one launch, the fused step and sum of
    // each step) and per-presynaptic (the N_pre units advance K steps, one
    // pass over the CSR forms all K columns). The K masks are the rotation's.
    const std::int64_t K = 32;
    std::uint8_t* wmask = nullptr;
    float* gpk = nullptr;
    CHECK(cudaMalloc(&wmask, static_cast<std::size_t>(K * n_pre)));
    CHECK(cudaMalloc(&gpk, static_cast<std::size_t>(K * n_post) * sizeof(float)));
    for (std::int64_t k = 0; k < K; ++k) {
      CHECK(cudaMemcpy(wmask + k * n_pre, masks.at(k).data, static_cast<std::size_t>(n_pre), cudaMemcpyDeviceToDevice));
    }
    const device_span<const std::uint8_t> wspan(wmask, K * n_pre);
    const double syn_window_s = seconds_per_step(
        [&](int) {
          fused.step_window_async<float>(syn, K, presynaptic_window(wspan), device_span<float>(gpk, K * n_post), stream);
        },
        4, repeats, stream) / K;
    const double pre_window_s = seconds_per_step(
        [&](int) { map.step_window_async<float>(pop, K, dense_window(wspan), device_span<float>(gpk, K * n_post), stream); },
        10, repeats, stream) / K;
    // The same with the faster post windows, the default (per-presynaptic
    // sums by lanes from an element-major copy of the history, 32 steps per
    // warp; per-synapse rows in registers); the rows above run the plain ones.
    population pop_lanes(config(n_pre, precision::float32));
    population syn_fast(syn_cfg);
    const postsynaptic_map fused_fast = postsynaptic_map::per_synapse(syn_fast, conn, n_pre);
    const double syn_fast_s = seconds_per_step(
        [&](int) {
          fused_fast.step_window_async<float>(syn_fast, K, presynaptic_window(wspan), device_span<float>(gpk, K * n_post),
                                              stream);
        },
        4, repeats, stream) / K;
    const postsynaptic_map map_lanes(pop_lanes, conn);
    const double lanes_window_s = seconds_per_step(
        [&](int) {
          map_lanes.step_window_async<float>(pop_lanes, K, dense_window(wspan), device_span<float>(gpk, K * n_post),
                                             stream);
        },
        10, repeats, stream) / K;
    std::printf("%10s %12s %14s %14s %16s   K = 32 windows, per step, plain kernels: per-synapse %.2f us (%.2fx the fused step), "
                "per-presynaptic %.2f us (%.2fx the per-step step + post-sum, whose sum also forms the current), "
                "by lanes %.2f us (%.2fx); per-synapse in registers %.2f us (%.2fx the fused step)\n",
                "", "", "", "", "", syn_window_s * 1e6, fused_s / syn_window_s, pre_window_s * 1e6,
                (step_s + post_s) / pre_window_s, lanes_window_s * 1e6, (step_s + post_s) / lanes_window_s,
                syn_fast_s * 1e6, fused_s / syn_fast_s);
    j["post_sum"].push_back({{"n_post", n_post}, {"synapses", nnz}, {"step_s", step_s}, {"post_sum_s", post_s},
                             {"per_synapse_bare_step_s", bare_s}, {"per_synapse_fused_s", fused_s},
                             {"cusparse_spmv_s", cusparse_s}, {"window", K},
                             {"per_synapse_window_s_per_step", syn_window_s},
                             {"per_presynaptic_window_s_per_step", pre_window_s},
                             {"per_presynaptic_window_lanes_s_per_step", lanes_window_s},
                             {"per_synapse_window_registers_s_per_step", syn_fast_s}});
    cudaFree(wmask);
    cudaFree(gpk);
    cudaFree(gp);
    cudaFree(v);
    cudaFree(cur);
  }

  // 3. Precision, input form and rate, N = 2^24.
  std::printf("\n## N = 2^24: precision, input form, input rate\n");
  std::printf("%-34s %12s %14s\n", "variant", "us/step", "unit-steps/s");
  const std::int64_t n = std::int64_t{1} << 24;
  auto report = [&](const std::string& name, double sec) {
    std::printf("%-34s %12.2f %14.4g\n", name.c_str(), sec * 1e6, static_cast<double>(n) / sec);
    j["forms"].push_back({{"variant", name}, {"N", n}, {"seconds_per_step", sec}});
  };
  for (double rate : {1.0, 20.0, 100.0}) {
    device_masks masks(n, rate * 0.1 / 1000.0, 4, 13);
    for (precision p : {precision::float32, precision::float64}) {
      population pop(config(n, p));
      report(std::string(to_string(p)) + " dense " + std::to_string(static_cast<int>(rate)) + " Hz",
             seconds_per_step([&](int s) { pop.step_async(dense_mask(masks.at(s)), stream); }, 50, repeats, stream));
    }
  }
  {
    const std::int64_t n_pre = n / 100;
    device_masks pre(n_pre, 20.0 * 0.1 / 1000.0, 4, 14);
    std::vector<std::int32_t> src(static_cast<std::size_t>(n));
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<std::int32_t> pick(0, static_cast<std::int32_t>(n_pre - 1));
    for (auto& s : src) s = pick(rng);
    for (precision p : {precision::float32, precision::float64}) {
      population pop(config(n, p));
      pop.set_presynaptic_sources(host_span<const std::int32_t>(src), n_pre);
      report(std::string(to_string(p)) + " presynaptic 20 Hz (N_pre=N/100)",
             seconds_per_step([&](int s) { pop.step_async(presynaptic_mask(pre.at(s)), stream); }, 50, repeats, stream));
      report(std::string(to_string(p)) + " poisson 20 Hz (in kernel)",
             seconds_per_step([&](int) { pop.step_async(poisson{20.0, 1}, stream); }, 50, repeats, stream));
    }
  }
  cudaStreamDestroy(stream);
  return j;
}

}  // namespace bionmda::bench
