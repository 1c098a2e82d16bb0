// The body of the bionmda.jax FFI handlers: checks, the population cache, and
// the library's step or window on XLA's buffers.
//
// Per call nothing is allocated and nothing waits: the population for a
// (precision, backend, device, N, B, parameters, dt) is built once over the
// first call's output buffers with adopt_state, and every call re-points it at
// that call's buffers with bind_state, then enqueues population::step_async /
// step_window_async on the platform's stream: the same engine and kernels as
// every other caller of the library.
//
// Scalar parameters: the population's coefficients are computed at the build,
// no device memory (no host staging either), so the first execute call builds
// it, even inside a CUDA graph capture. Per-unit parameters: the CUDA backend
// uploads per-unit coefficient tables (device allocations and copies) when the
// population is built, which a graph capture forbids; the CUDA handler
// therefore builds it in XLA's initialize stage, which runs before every
// execution and outside any capture (once built, that stage only looks it
// up). The population of per-unit parameters is found by the caller's key (a
// hash of the values) without reading the N values on every call; the values
// are compared with the population's own once per call site (per attribute
// array), so a key that does not match its values is an error, never a
// population of other parameters.
#include "ffi_core.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <bionmda/bionmda.hpp>

namespace bionmda::jax_ffi {
namespace {

std::string dims_string(ffi::AnyBuffer::Dimensions d) {
  std::ostringstream s;
  s << "(";
  for (std::size_t i = 0; i < d.size(); ++i) s << (i ? ", " : "") << d[i];
  s << (d.size() == 1 ? ",)" : ")");
  return s.str();
}

bool same_dims(ffi::AnyBuffer::Dimensions a, ffi::AnyBuffer::Dimensions b, std::size_t b_from = 0) {
  if (a.size() + b_from != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i + b_from]) return false;
  }
  return true;
}

const char* type_name(ffi::DataType t) {
  switch (t) {
    case ffi::DataType::F32: return "float32";
    case ffi::DataType::F64: return "float64";
    case ffi::DataType::U16: return "uint16";
    case ffi::DataType::U8: return "uint8";
    case ffi::DataType::PRED: return "bool";
    case ffi::DataType::S32: return "int32";
    case ffi::DataType::S64: return "int64";
    case ffi::DataType::F16: return "float16";
    case ffi::DataType::BF16: return "bfloat16";
    default: return "another type";
  }
}

ffi::Error invalid(const std::string& message) { return ffi::Error::InvalidArgument("bionmda.jax: " + message); }

std::uint64_t bits_of(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

constexpr bool same_name(const char* a, const char* b) {
  for (; *a != '\0' || *b != '\0'; ++a, ++b) {
    if (*a != *b) return false;
  }
  return true;
}

// The attributes come in kinetic_parameters' order (ffi_core.hpp's bindings).
constexpr std::array<const char*, parameter_count> parameter_names{"alpha1", "beta1", "alpha2", "beta2", "T", "T_dur"};
static_assert(kinetic_parameters.size() == parameter_count, "bionmda.jax binds six kinetic parameters");
constexpr bool names_match() {
  for (std::size_t i = 0; i < parameter_count; ++i) {
    if (!same_name(kinetic_parameters[i].name, parameter_names[i])) return false;
  }
  return true;
}
static_assert(names_match(), "ffi_core.hpp's attribute order must be kinetic_parameters' order");

using attribute_pointers = std::array<const double*, parameter_count>;

// One cached population, used by one call at a time.
struct entry {
  std::mutex mutex;
  std::unique_ptr<population> pop;
  // Per-unit parameters: the attribute arrays already compared with the
  // population's parameters (a call site's arrays stay where they are).
  std::vector<attribute_pointers> checked;
};

// (precision, backend, device, N, B, dt bits, per-unit, six words): the
// parameters' bits (scalar targets) or {key, which parameters have N values, 0...}.
using cache_key = std::tuple<int, int, int, std::int64_t, std::int64_t, std::uint64_t, bool,
                             std::array<std::uint64_t, parameter_count>>;

// Never destroyed: handlers may run while the process exits.
std::map<cache_key, std::unique_ptr<entry>>& cache() {
  static auto* c = new std::map<cache_key, std::unique_ptr<entry>>();
  return *c;
}
std::mutex& cache_mutex() {
  static auto* m = new std::mutex();
  return *m;
}

entry& entry_for(const cache_key& key) {
  const std::lock_guard<std::mutex> lock(cache_mutex());
  std::unique_ptr<entry>& e = cache()[key];
  if (!e) e = std::make_unique<entry>();
  return *e;
}

// A parameter with N values is per unit; one value is the same for every unit
// (with N = 1 both: taken per unit, as a per-unit target means).
bool has_unit_values(ffi::Span<const double> v, std::int64_t units) {
  return static_cast<std::int64_t>(v.size()) == units;
}

cache_key key_of(precision p, const platform& where, std::int64_t units, std::int64_t batch,
                 const model_attributes& m) {
  std::array<std::uint64_t, parameter_count> words{};
  if (m.per_unit) {
    words[0] = static_cast<std::uint64_t>(m.params_key);
    for (std::size_t i = 0; i < parameter_count; ++i) {
      if (has_unit_values(m.params[i], units)) words[1] |= std::uint64_t{1} << i;
    }
  } else {
    for (std::size_t i = 0; i < parameter_count; ++i) words[i] = bits_of(m.params[i][0]);
  }
  return {static_cast<int>(p), static_cast<int>(where.backend), where.device, units, batch, bits_of(m.dt), m.per_unit,
          words};
}

parameters parameters_of(const model_attributes& m, std::int64_t units) {
  parameters params;
  for (std::size_t i = 0; i < parameter_count; ++i) {
    const ffi::Span<const double> v = m.params[i];
    params.*(kinetic_parameters[i].member) =
        has_unit_values(v, units) ? unit_value(std::vector<double>(v.begin(), v.end())) : unit_value(v[0]);
  }
  return params;
}

bool same_bits(const double* a, const double* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(double)) == 0; }

// Whether the attributes hold exactly the population's parameters.
bool same_parameters(const parameters& built, const model_attributes& m, std::int64_t units) {
  for (std::size_t i = 0; i < parameter_count; ++i) {
    const unit_value& b = built.*(kinetic_parameters[i].member);
    const ffi::Span<const double> v = m.params[i];
    if (has_unit_values(v, units) != b.is_per_unit()) return false;
    const bool same = b.is_per_unit() ? same_bits(b.per_unit().data(), v.begin(), v.size())
                                      : bits_of(b.uniform()) == bits_of(v[0]);
    if (!same) return false;
  }
  return true;
}

attribute_pointers pointers_of(const model_attributes& m) {
  attribute_pointers p{};
  for (std::size_t i = 0; i < parameter_count; ++i) p[i] = m.params[i].begin();
  return p;
}

template <class Real>
ffi::Error run_typed(const platform& where, stage what, bool window, std::int64_t units, std::int64_t batch,
                     std::int64_t steps, ffi::AnyBuffer spikes, const model_attributes& m, ffi::AnyBuffer g_out,
                     ffi::AnyBuffer x_out, ffi::AnyBuffer countdown_out) {
  const memory_space space = where.backend == backend::cuda ? memory_space::device : memory_space::host;
  const state_view<Real> state{static_cast<Real*>(g_out.untyped_data()), static_cast<Real*>(x_out.untyped_data()),
                               static_cast<std::uint16_t*>(countdown_out.untyped_data()), units, batch, space};
  const precision p = std::is_same_v<Real, float> ? precision::float32 : precision::float64;
  entry& e = entry_for(key_of(p, where, units, batch, m));
  const std::lock_guard<std::mutex> lock(e.mutex);
  if (!e.pop) {
    if (m.per_unit && where.capturing != nullptr && where.capturing(where.stream)) {
      // Building uploads per-unit tables, which would break the capture.
      return ffi::Error(ffi::ErrorCode::kFailedPrecondition,
                        "bionmda.jax: a population with per-unit parameters must be built before a CUDA graph "
                        "captures its first call (its coefficient tables need device memory), but XLA's initialize "
                        "stage, which builds it, did not run for this call; disable command buffers for custom "
                        "calls (XLA_FLAGS=--xla_gpu_enable_command_buffer=) or run the call once outside a graph");
    }
    population_config cfg;
    cfg.units = units;
    cfg.batch = batch;
    cfg.dt = m.dt;
    cfg.precision = p;
    cfg.backend = where.backend;
    cfg.device = where.device;
    cfg.host_input_staging = false;  // inputs are XLA's device buffers: no staging buffer
    cfg.params = parameters_of(m, units);
    e.pop = std::make_unique<population>(std::move(cfg), state, adopt_state);
    if (m.per_unit) e.checked.push_back(pointers_of(m));
  } else if (m.per_unit) {
    const attribute_pointers at = pointers_of(m);
    if (std::find(e.checked.begin(), e.checked.end(), at) == e.checked.end()) {
      if (!same_parameters(e.pop->config().params, m, units)) {
        return invalid("params_key " + std::to_string(m.params_key) +
                       " belongs to other parameter values than this call's (the key must be a hash of the "
                       "values; bionmda.jax computes it)");
      }
      if (e.checked.size() >= 64) e.checked.clear();  // bounded: a forgotten call site is compared again
      e.checked.push_back(at);
    }
  }
  if (what == stage::prepare) return ffi::Error::Success();
  population& pop = *e.pop;
  pop.bind_state(state);
  pop.set_step_count(0);  // keys only Poisson draws, which an FFI call never makes
  const auto* mask = static_cast<const std::uint8_t*>(spikes.untyped_data());
  const std::int64_t n = units * batch;
  if (space == memory_space::device) {
    if (window) {
      pop.step_window_async(steps, dense_window(device_span<const std::uint8_t>(mask, steps * n)), where.stream);
    } else {
      pop.step_async(dense_mask(device_span<const std::uint8_t>(mask, n)), where.stream);
    }
  } else {
    if (window) {
      pop.step_window_async(steps, dense_window(host_span<const std::uint8_t>(mask, steps * n)), where.stream);
    } else {
      pop.step_async(dense_mask(host_span<const std::uint8_t>(mask, n)), where.stream);
    }
  }
  return ffi::Error::Success();
}

}  // namespace

ffi::Error run(const platform& where, stage what, bool window, ffi::AnyBuffer g, ffi::AnyBuffer x,
               ffi::AnyBuffer countdown, ffi::AnyBuffer spikes, const model_attributes& model,
               ffi::Result<ffi::AnyBuffer> g_out, ffi::Result<ffi::AnyBuffer> x_out,
               ffi::Result<ffi::AnyBuffer> countdown_out) {
  try {
    // The Python wrapper checked all of this at trace time; a direct caller of
    // the target gets the same checks here, before anything runs.
    const ffi::DataType real = g.element_type();
    if (real != ffi::DataType::F32 && real != ffi::DataType::F64) {
      return invalid(std::string("g must be float32 or float64, got ") + type_name(real));
    }
    if (x.element_type() != real) {
      return invalid(std::string("x must have g's dtype ") + type_name(real) + ", got " + type_name(x.element_type()));
    }
    if (countdown.element_type() != ffi::DataType::U16) {
      return invalid(std::string("countdown must be uint16, got ") + type_name(countdown.element_type()));
    }
    if (spikes.element_type() != ffi::DataType::PRED && spikes.element_type() != ffi::DataType::U8) {
      return invalid(std::string("spikes must be bool or uint8, got ") + type_name(spikes.element_type()));
    }
    const auto dims = g.dimensions();
    if (dims.size() < 1) return invalid("g must have at least one dimension (..., N), got a scalar");
    if (!same_dims(x.dimensions(), dims)) {
      return invalid("x has shape " + dims_string(x.dimensions()) + "; g has " + dims_string(dims));
    }
    if (!same_dims(countdown.dimensions(), dims)) {
      return invalid("countdown has shape " + dims_string(countdown.dimensions()) + "; g has " + dims_string(dims));
    }
    std::int64_t steps = 1;
    if (window) {
      if (spikes.dimensions().size() != dims.size() + 1 || !same_dims(dims, spikes.dimensions(), 1)) {
        return invalid("window spikes have shape " + dims_string(spikes.dimensions()) + "; expected (K,) + " +
                       dims_string(dims));
      }
      steps = spikes.dimensions()[0];
    } else if (!same_dims(spikes.dimensions(), dims)) {
      return invalid("spikes have shape " + dims_string(spikes.dimensions()) + "; g has " + dims_string(dims));
    }
    for (auto [out, in, name] : {std::tuple<ffi::AnyBuffer, ffi::AnyBuffer, const char*>{*g_out, g, "g"},
                                 {*x_out, x, "x"},
                                 {*countdown_out, countdown, "countdown"}}) {
      if (out.element_type() != in.element_type() || !same_dims(out.dimensions(), in.dimensions())) {
        return invalid(std::string("the output for ") + name + " does not match its input's dtype and shape");
      }
    }
    const std::int64_t units = dims[dims.size() - 1];
    std::int64_t batch = 1;
    for (std::size_t i = 0; i + 1 < dims.size(); ++i) batch *= dims[i];
    for (std::size_t i = 0; i < parameter_count; ++i) {
      const auto count = static_cast<std::int64_t>(model.params[i].size());
      if (count != 1 && count != units) {
        return invalid(std::string(parameter_names[i]) + " has " + std::to_string(count) +
                       " values; expected 1 or one per unit, N = " + std::to_string(units) + " (g's last axis)");
      }
    }
    if (what == stage::prepare) {
      // XLA has placed the buffers but not filled them: build, copy nothing.
      if (units == 0 || batch == 0) return ffi::Error::Success();
      return real == ffi::DataType::F32
                 ? run_typed<float>(where, what, window, units, batch, steps, spikes, model, *g_out, *x_out,
                                    *countdown_out)
                 : run_typed<double>(where, what, window, units, batch, steps, spikes, model, *g_out, *x_out,
                                     *countdown_out);
    }

    // XLA aliases each output to its input when it can (input_output_aliases);
    // where it did not, the state is copied in first and stepped in place there.
    for (auto [out, in] : {std::pair<ffi::AnyBuffer, ffi::AnyBuffer>{*g_out, g},
                           {*x_out, x},
                           {*countdown_out, countdown}}) {
      if (out.untyped_data() != in.untyped_data() && in.size_bytes() > 0) {
        where.copy(out.untyped_data(), in.untyped_data(), in.size_bytes(), where.stream);
      }
    }
    if (units == 0 || batch == 0 || steps == 0) return ffi::Error::Success();
    return real == ffi::DataType::F32
               ? run_typed<float>(where, what, window, units, batch, steps, spikes, model, *g_out, *x_out,
                                  *countdown_out)
               : run_typed<double>(where, what, window, units, batch, steps, spikes, model, *g_out, *x_out,
                                   *countdown_out);
  } catch (const bionmda::invalid_argument& e) {
    return invalid(e.what());
  } catch (const std::exception& e) {
    return ffi::Error::Internal(std::string("bionmda.jax: ") + e.what());
  }
}

}  // namespace bionmda::jax_ffi
