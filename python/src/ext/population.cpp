// bionmda.Population: construction from numbers or per-unit arrays, steps
// and windows with NumPy or DLPack inputs, state copies, zero-copy DLPack
// views and checkpoints. Every check of the library's own stays in the
// library; the binding adds only what the library cannot see (array shapes
// and dtypes).
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include "common.hpp"

namespace bionmda::python {
namespace {

using nb::literals::operator""_a;

// ---------------------------------------------------------------------------
// Construction

/** @brief A number, or a 0-d array, as a double; nullopt for anything else. */
std::optional<double> as_scalar(nb::handle h) {
  if (PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr())) {
    const double v = PyFloat_AsDouble(h.ptr());
    if (v == -1.0 && PyErr_Occurred()) throw nb::python_error();
    return v;
  }
  return std::nullopt;
}

/** @brief A kinetic parameter: one number, or one value per unit (1-D, length N). */
unit_value to_unit_value(nb::handle h, const char* name) {
  if (auto v = as_scalar(h)) return *v;
  auto a = as_float64(h);
  if (a.ndim() == 0) return a.data()[0];
  if (a.ndim() != 1) {
    std::vector<std::int64_t> dims(a.ndim());
    for (std::size_t i = 0; i < a.ndim(); ++i) dims[i] = static_cast<std::int64_t>(a.shape(i));
    raise_value_error(std::string("parameter ") + name + " must be a number or a 1-D array of one value per unit; got shape " +
                      shape_string(dims.data(), dims.size()));
  }
  return std::vector<double>(a.data(), a.data() + a.size());
}

/** @brief An initial value: a number, N values, or N*B values (flat or [B][N]). */
initial_value to_initial_value(nb::handle h, const char* name, std::int64_t units, std::int64_t batch) {
  if (auto v = as_scalar(h)) return initial_value::constant(*v);
  auto a = as_float64(h);
  if (a.ndim() == 0) return initial_value::constant(a.data()[0]);
  // [B][N] (or any N*B values of the right shape) flattens; other sizes go
  // to the library, which names the counts it accepts.
  if (a.ndim() >= 2) check_shape(a, {batch, units}, name);
  return initial_value::per_unit(std::vector<double>(a.data(), a.data() + a.size()));
}

constexpr std::size_t n_params = kinetic_parameters.size();
static_assert(n_params == 6, "the constructor below lists the six kinetic parameters");

void construct(py_population* self, std::int64_t units, std::int64_t batch, double dt, const std::string& precision,
               const std::string& backend_name, const std::array<nb::handle, n_params>& params, nb::handle g0,
               nb::handle x0, int threads, int device, bool host_input_staging) {
  population_config cfg;
  cfg.units = units;
  cfg.batch = batch;
  cfg.dt = dt;
  cfg.precision = parse_precision(precision);
  cfg.backend = parse_backend(backend_name);
  for (std::size_t k = 0; k < n_params; ++k) {
    cfg.params.*(kinetic_parameters[k].member) = to_unit_value(params[k], kinetic_parameters[k].name);
  }
  cfg.g0 = to_initial_value(g0, "g0", units, batch);
  cfg.x0 = to_initial_value(x0, "x0", units, batch);
  cfg.threads = threads;
  cfg.device = device;
  cfg.host_input_staging = host_input_staging;
  population pop = [&] {
    nb::gil_scoped_release release;
    return population(std::move(cfg));
  }();
  new (self) py_population(std::move(pop));
}

/** @brief The constructor's docstring, with the units and defaults of the parameter table. */
const std::string& init_doc() {
  static const std::string doc = [] {
    std::string s =
        "N kinetic units (synapses) x B batch entries of BioNMDA kinetics.\n\n"
        "Args:\n"
        "    units: N, units per batch entry (>= 0).\n"
        "    batch: B, independent copies sharing the parameters (>= 1).\n"
        "    dt: time step [ms], finite and > 0.\n"
        "    precision: 'float32' or 'float64', the type of g, x and the parameters.\n"
        "    backend: 'auto' (CUDA when usable, else CPU), 'cpu' or 'cuda'.\n";
    for (const parameter_info& p : kinetic_parameters) {
      s += "    ";
      s += p.name;
      s += ": ";
      s += p.meaning;
      s += " [";
      s += p.unit;
      s += "]; a number or one value per unit; BrainPy's default ";
      std::string v = std::to_string(p.default_value);
      while (v.size() > 1 && v.back() == '0' && v[v.size() - 2] != '.') v.pop_back();
      s += v + ".\n";
    }
    s +=
        "    g0, x0: initial g and x (dimensionless, in [0, 1]): a number, N values, or [B][N] values.\n"
        "    threads: CPU backend, threads per step (0: OpenMP's default).\n"
        "    device: CUDA device ordinal (CUDA backend).\n"
        "    host_input_staging: CUDA backend, reserve a device buffer so that host-memory spike\n"
        "        masks can be copied without allocating.\n\n"
        "Raises:\n"
        "    ValueError: an invalid size, dt, parameter or initial value (the library's message).\n"
        "    RuntimeError: backend='cuda' without a usable device.\n"
        "    MemoryError: the state cannot be allocated.";
    return s;
  }();
  return doc;
}

// ---------------------------------------------------------------------------
// Spike inputs

/** @brief A byte-mask array, dtype and shape checked, as a host or device span. */
template <template <memory_space> class Input>
auto byte_input(const any_array& a, std::initializer_list<std::int64_t> shape, const char* what)
    -> std::variant<Input<memory_space::host>, Input<memory_space::device>> {
  if (!is_byte_mask(a)) {
    throw nb::type_error(("bionmda: " + std::string(what) + " must have one byte per element (uint8 or bool); got " +
                          dtype_name(a))
                             .c_str());
  }
  check_shape(a, shape, what);
  const auto* d = static_cast<const std::uint8_t*>(a.data());
  const auto n = static_cast<std::int64_t>(a.size());
  if (space_of(a, what) == memory_space::host) return Input<memory_space::host>(host_span<const std::uint8_t>(d, n));
  return Input<memory_space::device>(device_span<const std::uint8_t>(d, n));
}

/** @brief A bit-word array (uint32), shape checked, as a host or device span. */
template <template <memory_space> class Input>
auto word_input(const any_array& a, std::initializer_list<std::int64_t> shape, const char* what)
    -> std::variant<Input<memory_space::host>, Input<memory_space::device>> {
  check_shape(a, shape, what);
  const auto* d = static_cast<const std::uint32_t*>(a.data());
  const auto n = static_cast<std::int64_t>(a.size());
  if (space_of(a, what) == memory_space::host) return Input<memory_space::host>(host_span<const std::uint32_t>(d, n));
  return Input<memory_space::device>(device_span<const std::uint32_t>(d, n));
}

/** @brief Widens a variant of two input types into Target (spike_input or window_input). */
template <class Target, class Variant>
Target widen(Variant&& v) {
  return std::visit([](auto&& x) -> Target { return x; }, std::forward<Variant>(v));
}

std::int64_t words(std::int64_t n) { return (n + 31) / 32; }

[[noreturn]] void raise_window_dtype(const any_array& a, const char* what) {
  throw nb::type_error(("bionmda: " + std::string(what) +
                        " must be bytes (uint8 or bool, one per element) or uint32 bit words; got " + dtype_name(a))
                           .c_str());
}

window_input dense_or_bits(const population& pop, std::int64_t steps, const any_array& a) {
  const std::int64_t B = pop.batch();
  const std::int64_t N = pop.units();
  if (is_byte_mask(a)) return widen<window_input>(byte_input<dense_window>(a, {steps, B, N}, "spikes"));
  if (is_word_mask(a)) return widen<window_input>(word_input<bit_window>(a, {steps, B, words(N)}, "spike words"));
  raise_window_dtype(a, "spikes");
}

window_input presynaptic_dense_or_bits(const population& pop, std::int64_t steps, const any_array& a) {
  const std::int64_t B = pop.batch();
  const std::int64_t P = pop.presynaptic_size();
  if (is_byte_mask(a)) {
    return widen<window_input>(byte_input<presynaptic_window>(a, {steps, B, P}, "presynaptic spikes"));
  }
  if (is_word_mask(a)) {
    return widen<window_input>(
        word_input<presynaptic_bit_window>(a, {steps, B, words(P)}, "presynaptic spike words"));
  }
  raise_window_dtype(a, "presynaptic spikes");
}

template <class Array>
std::int64_t size_of(const Array& a) {
  return static_cast<std::int64_t>(a.size());
}

// ---------------------------------------------------------------------------
// Windows, with or without a trace of the recorded elements

template <class Real>
nb::object window_traced(py_population& p, std::int64_t steps, const window_input& input) {
  const std::int64_t n_rec = p.pop.recorded_count();
  const std::size_t K = steps < 0 ? 0 : static_cast<std::size_t>(steps);
  auto [g_arr, g_data] = new_numpy<Real>({K, static_cast<std::size_t>(n_rec)});
  auto [x_arr, x_data] = new_numpy<Real>({K, static_cast<std::size_t>(n_rec)});
  const std::int64_t n = static_cast<std::int64_t>(K) * n_rec;
  locked(p, [&](population& pop) {
    if (pop.space() == memory_space::host) {
      pop.step_window(steps, input, window_trace<Real>(host_span<Real>(g_data, n), host_span<Real>(x_data, n)));
    } else {
      buffer<Real> g = pop.make_buffer<Real>(n, "window trace g");
      buffer<Real> x = pop.make_buffer<Real>(n, "window trace x");
      pop.step_window(steps, input, window_trace<Real>(g.device_view(), x.device_view()));
      g.copy_to(host_span<Real>(g_data, n));
      x.copy_to(host_span<Real>(x_data, n));
    }
  });
  return nb::make_tuple(g_arr, x_arr);
}

nb::object run_window(py_population& p, std::int64_t steps, const window_input& input, bool record) {
  if (!record) {
    locked(p, [&](population& pop) { pop.step_window(steps, input); });
    return nb::none();
  }
  if (p.pop.precision() == precision::float32) return window_traced<float>(p, steps, input);
  return window_traced<double>(p, steps, input);
}

// ---------------------------------------------------------------------------
// State

template <class Real>
nb::object copy_field(py_population& p, state_field field) {
  const auto B = static_cast<std::size_t>(p.pop.batch());
  const auto N = static_cast<std::size_t>(p.pop.units());
  auto [arr, data] = new_numpy<Real>({B, N});
  const auto n = static_cast<std::int64_t>(B * N);
  locked(p, [&](population& pop) { pop.read<Real>(field, 0, host_span<Real>(data, n)); });
  return nb::cast(arr, nb::rv_policy::automatic);
}

nb::object copy_state(py_population& p, state_field field) {
  if (p.pop.precision() == precision::float32) return copy_field<float>(p, field);
  return copy_field<double>(p, field);
}

state_field parse_field(const std::string& name) {
  if (name == "g") return state_field::g;
  if (name == "x") return state_field::x;
  raise_value_error("field must be 'g', 'x' or 'countdown'; got '" + name + "'");
}

/** @brief A read-only, zero-copy [B][N] view of one state array; it keeps the population alive. */
nb::object make_view(nb::handle self, const std::string& field) {
  py_population& p = nb::cast<py_population&>(self);
  population& pop = p.pop;
  const auto shape = {static_cast<std::size_t>(pop.batch()), static_cast<std::size_t>(pop.units())};
  const bool host = pop.space() == memory_space::host;
  const int device_type = host ? nb::device::cpu::value : nb::device::cuda::value;
  const int device_id = host ? 0 : pop.config().device;
  const void* data = nullptr;
  nb::dlpack::dtype dtype;
  if (field == "countdown") {
    data = pop.precision() == precision::float32 ? static_cast<const void*>(pop.view_f32().countdown)
                                                 : static_cast<const void*>(pop.view_f64().countdown);
    dtype = nb::dtype<std::uint16_t>();
  } else {
    const state_field f = parse_field(field);
    if (pop.precision() == precision::float32) {
      const state_view<float> v = pop.view_f32();
      data = f == state_field::g ? v.g : v.x;
      dtype = nb::dtype<float>();
    } else {
      const state_view<double> v = pop.view_f64();
      data = f == state_field::g ? v.g : v.x;
      dtype = nb::dtype<double>();
    }
  }
  nb::ndarray<nb::array_api, nb::ro> view(data, shape, self, {}, dtype, device_type, device_id);
  return nb::cast(view, nb::rv_policy::reference);
}

std::string repr(const population& pop) {
  return "bionmda.Population(units=" + std::to_string(pop.units()) + ", batch=" + std::to_string(pop.batch()) +
         ", dt=" + std::to_string(pop.dt()) + ", precision='" + to_string(pop.precision()) + "', backend='" +
         to_string(pop.backend()) + "', step_count=" + std::to_string(pop.step_count()) + ")";
}

}  // namespace

void bind_population(nb::module_& m) {
  nb::class_<py_population> cls(m, "Population",
                                "N units x B batch entries of BioNMDA kinetics (state g, x and the pulse countdown,\n"
                                "laid out [B][N]). Times in ms, rates in 1/ms, concentrations in mM.\n\n"
                                "Steps run with the GIL released; a population is locked for the duration of\n"
                                "each call, so calls from several threads run one after another.");

  cls.def(
      "__init__",
      [](py_population* self, std::int64_t units, std::int64_t batch, double dt, const std::string& precision,
         const std::string& backend_name, const array_like& alpha1, const array_like& beta1,
         const array_like& alpha2, const array_like& beta2, const array_like& T, const array_like& T_dur,
         const array_like& g0, const array_like& x0, int threads, int device, bool host_input_staging) {
        construct(self, units, batch, dt, precision, backend_name,
                  {alpha1.obj, beta1.obj, alpha2.obj, beta2.obj, T.obj, T_dur.obj}, g0.obj, x0.obj, threads, device,
                  host_input_staging);
      },
      "units"_a, "batch"_a = 1, "dt"_a = 0.1, "precision"_a = "float32",
      "backend"_a = "auto", nb::kw_only(), "alpha1"_a = kinetic_parameters[0].default_value,
      "beta1"_a = kinetic_parameters[1].default_value, "alpha2"_a = kinetic_parameters[2].default_value,
      "beta2"_a = kinetic_parameters[3].default_value, "T"_a = kinetic_parameters[4].default_value,
      "T_dur"_a = kinetic_parameters[5].default_value, "g0"_a = 0.0, "x0"_a = 0.0, "threads"_a = 0, "device"_a = 0,
      "host_input_staging"_a = true, init_doc().c_str());

  // --- Sizes and settings -------------------------------------------------
  cls.def_prop_ro("units", [](const py_population& p) { return p.pop.units(); }, "N, units per batch entry.")
      .def_prop_ro("batch", [](const py_population& p) { return p.pop.batch(); }, "B, batch entries.")
      .def_prop_ro("elements", [](const py_population& p) { return p.pop.elements(); }, "N * B.")
      .def_prop_ro("dt", [](const py_population& p) { return p.pop.dt(); }, "Time step [ms].")
      .def_prop_ro("time", [](const py_population& p) { return p.pop.time(); }, "step_count * dt [ms].")
      .def_prop_ro(
          "backend", [](const py_population& p) { return std::string(to_string(p.pop.backend())); },
          "'cpu' or 'cuda' (never 'auto').")
      .def_prop_ro(
          "precision", [](const py_population& p) { return std::string(to_string(p.pop.precision())); },
          "'float32' or 'float64'.")
      .def_prop_rw(
          "step_count", [](const py_population& p) { return p.pop.step_count(); },
          [](py_population& p, std::int64_t steps) { locked(p, [&](population& pop) { pop.set_step_count(steps); }); },
          "Steps taken since construction or reset(); it keys the Poisson draws. Settable (>= 0),\n"
          "e.g. to continue a run.")
      .def_prop_ro(
          "presynaptic_size", [](const py_population& p) { return p.pop.presynaptic_size(); },
          "N_pre set by set_presynaptic_sources (0 if unset).")
      .def_prop_ro(
          "recorded_count", [](const py_population& p) { return p.pop.recorded_count(); },
          "n_rec, the number of elements set by set_recorded_elements.")
      .def(
          "pulse_steps", [](const py_population& p, std::int64_t unit) { return p.pop.pulse_steps(unit); },
          "unit"_a = 0, "Pulse length in steps of a unit: the number of k >= 0 with k*dt < T_dur.")
      .def("__repr__", [](const py_population& p) { return repr(p.pop); });

  // --- Steps --------------------------------------------------------------
  cls.def(
         "step",
         [](py_population& p, std::optional<any_array> spikes) {
           spike_input in = no_spikes{};
           if (spikes) in = widen<spike_input>(byte_input<dense_mask>(*spikes, {p.pop.batch(), p.pop.units()}, "spikes"));
           locked(p, [&](population& pop) { pop.step(in); });
         },
         "spikes"_a = nb::none(),
         "One step of dt. spikes: a [B][N] (or flat N*B) mask, one byte per element (uint8 or\n"
         "bool; non-zero = the element receives a spike), as a NumPy array or any DLPack array\n"
         "(CUDA memory on the CUDA backend); None: no spikes. Waits for the step.\n\n"
         "Raises ValueError for a wrong size or shape, TypeError for another dtype; nothing changes.")
      .def(
          "step_events",
          [](py_population& p, const array_like& events) {
            const index_array<std::int64_t> elements = to_index_array<std::int64_t>(events, "events");
            spike_input in = no_spikes{};
            const auto n = size_of(elements);
            if (space_of(elements, "events") == memory_space::host) {
              in = spike_events(host_span<const std::int64_t>(elements.data(), n));
            } else {
              in = spike_events(device_span<const std::int64_t>(elements.data(), n));
            }
            locked(p, [&](population& pop) { pop.step(in); });
          },
          "elements"_a,
          "One step in which the listed elements e = b*N + i receive a spike (int64, any order,\n"
          "duplicates count once). Host indices are checked to lie in [0, N*B) first.")
      .def(
          "step_presynaptic",
          [](py_population& p, const any_array& spikes) {
            const spike_input in = widen<spike_input>(
                byte_input<presynaptic_mask>(spikes, {p.pop.batch(), p.pop.presynaptic_size()}, "presynaptic spikes"));
            locked(p, [&](population& pop) { pop.step(in); });
          },
          "spikes"_a,
          "One step with a presynaptic mask [B][N_pre] (one byte per presynaptic neuron), gathered\n"
          "through the sources of set_presynaptic_sources.")
      .def(
          "step_poisson",
          [](py_population& p, double rate_hz, std::uint64_t seed) {
            locked(p, [&](population& pop) { pop.step(poisson{rate_hz, seed}); });
          },
          "rate_hz"_a, "seed"_a = 0,
          "One step with independent Poisson input at rate_hz [Hz] (finite, >= 0): element e\n"
          "spikes with probability rate_hz * dt / 1000, drawn from a counter-based generator keyed\n"
          "by (seed, step_count, e), identical on the CPU and the GPU.")
      .def(
          "set_presynaptic_sources",
          [](py_population& p, const array_like& sources_in, std::int64_t n_pre) {
            const auto sources = to_host_index_array<std::int32_t>(sources_in, "presynaptic sources");
            const host_span<const std::int32_t> s(sources.data(), size_of(sources));
            locked(p, [&](population& pop) { pop.set_presynaptic_sources(s, n_pre); });
          },
          "sources"_a, "n_pre"_a,
          "Sets the presynaptic neuron of every unit (N int32 indices in [0, n_pre)) for\n"
          "step_presynaptic and presynaptic windows.");

  // --- Windows ------------------------------------------------------------
  const char* record_doc =
      "\n\nrecord=True returns (g, x), each [K][n_rec] in the state's precision: the recorded\n"
      "elements (set_recorded_elements) after each step; else None.";
  cls.def(
         "step_window",
         [](py_population& p, std::int64_t steps, std::optional<any_array> spikes, bool record) {
           const window_input in = spikes ? dense_or_bits(p.pop, steps, *spikes) : window_input(no_spikes{});
           return run_window(p, steps, in, record);
         },
         nb::sig("def step_window(self, steps: int, spikes: numpy.typing.ArrayLike | None = None, *, "
                 "record: bool = False) -> tuple[numpy.typing.NDArray, numpy.typing.NDArray] | None"),
         "steps"_a, "spikes"_a = nb::none(), nb::kw_only(), "record"_a = false,
         (std::string("Advances `steps` (K) steps in one pass over the state, with the spikes of all of them:\n"
                      "[K][B][N] bytes (uint8 or bool), or [K][B][ceil(N/32)] uint32 bit words (unit i is bit\n"
                      "i % 32 of word i // 32); None: no spikes. The same bits as K calls of step().") +
          record_doc)
             .c_str())
      .def(
          "step_window_presynaptic",
          [](py_population& p, std::int64_t steps, const any_array& spikes, bool record) {
            return run_window(p, steps, presynaptic_dense_or_bits(p.pop, steps, spikes), record);
          },
          nb::sig("def step_window_presynaptic(self, steps: int, spikes: numpy.typing.ArrayLike, *, "
                  "record: bool = False) -> tuple[numpy.typing.NDArray, numpy.typing.NDArray] | None"),
          "steps"_a, "spikes"_a, nb::kw_only(), "record"_a = false,
          (std::string("As step_window with presynaptic spikes: [K][B][N_pre] bytes or [K][B][ceil(N_pre/32)]\n"
                       "uint32 words, gathered through the presynaptic sources.") +
           record_doc)
              .c_str())
      .def(
          "step_window_poisson",
          [](py_population& p, std::int64_t steps, double rate_hz, std::uint64_t seed, bool record) {
            return run_window(p, steps, poisson{rate_hz, seed}, record);
          },
          nb::sig("def step_window_poisson(self, steps: int, rate_hz: float, seed: int = 0, *, "
                  "record: bool = False) -> tuple[numpy.typing.NDArray, numpy.typing.NDArray] | None"),
          "steps"_a, "rate_hz"_a, "seed"_a = 0, nb::kw_only(), "record"_a = false,
          (std::string("As step_window with Poisson input at rate_hz [Hz]: step k of the window is keyed by\n"
                       "step_count + k, so it draws exactly the spikes of K calls of step_poisson.") +
           record_doc)
              .c_str())
      .def(
          "step_window_events",
          [](py_population& p, std::int64_t steps, const array_like& offsets_in, const array_like& events,
             bool record) {
            const index_array<std::int64_t> offsets = to_index_array<std::int64_t>(offsets_in, "event offsets");
            const index_array<std::int64_t> elements = to_index_array<std::int64_t>(events, "events");
            const memory_space s = space_of(offsets, "event offsets");
            if (space_of(elements, "events") != s) raise_value_error("event offsets and events must live in the same memory");
            window_input in = no_spikes{};
            if (s == memory_space::host) {
              in = events_window(host_span<const std::int64_t>(offsets.data(), size_of(offsets)),
                                 host_span<const std::int64_t>(elements.data(), size_of(elements)));
            } else {
              in = events_window(device_span<const std::int64_t>(offsets.data(), size_of(offsets)),
                                 device_span<const std::int64_t>(elements.data(), size_of(elements)));
            }
            return run_window(p, steps, in, record);
          },
          nb::sig("def step_window_events(self, steps: int, offsets: numpy.typing.ArrayLike, "
                  "elements: numpy.typing.ArrayLike, *, record: bool = False) -> tuple[numpy.typing.NDArray, numpy.typing.NDArray] | None"),
          "steps"_a, "offsets"_a, "elements"_a, nb::kw_only(), "record"_a = false,
          (std::string("As step_window with sparse events: the events of step k are\n"
                       "elements[offsets[k]:offsets[k+1]] (K+1 int64 offsets from 0 to len(elements)).") +
           record_doc)
              .c_str())
      .def(
          "set_recorded_elements",
          [](py_population& p, const array_like& recorded) {
            const auto elements = to_host_index_array<std::int64_t>(recorded, "recorded elements");
            const host_span<const std::int64_t> e(elements.data(), size_of(elements));
            locked(p, [&](population& pop) { pop.set_recorded_elements(e); });
          },
          "elements"_a, "The elements e = b*N + i whose g and x windows record (record=True), in this order.");

  // --- State --------------------------------------------------------------
  cls.def_prop_ro(
         "g", [](py_population& p) { return copy_state(p, state_field::g); }, nb::sig("def g(self) -> numpy.typing.NDArray"),
         "A copy of g (open fraction, dimensionless) as a [B][N] NumPy array in the state's precision.")
      .def_prop_ro(
          "x", [](py_population& p) { return copy_state(p, state_field::x); }, nb::sig("def x(self) -> numpy.typing.NDArray"),
          "A copy of x (auxiliary state, dimensionless) as a [B][N] NumPy array in the state's precision.")
      .def_prop_ro(
          "countdown",
          [](py_population& p) {
            auto [arr, data] = new_numpy<std::uint16_t>(
                {static_cast<std::size_t>(p.pop.batch()), static_cast<std::size_t>(p.pop.units())});
            const std::int64_t n = p.pop.elements();
            locked(p, [&](population& pop) { pop.read_countdown(0, host_span<std::uint16_t>(data, n)); });
            // A new array with its own owner: never reference_internal, a property's default.
            return nb::cast(arr, nb::rv_policy::automatic);
          },
          nb::sig("def countdown(self) -> numpy.typing.NDArray"), "A copy of the pulse steps left per element, [B][N] uint16.")
      .def(
          "set_g",
          [](py_population& p, const array_like& values) {
            auto a = as_float64(values.obj);
            const host_span<const double> v(a.data(), size_of(a));
            locked(p, [&](population& pop) { pop.set_g(v); });
          },
          "values"_a, "Overwrites g with N*B values ([B][N]) or N values for every batch entry, each in [0, 1].")
      .def(
          "set_x",
          [](py_population& p, const array_like& values) {
            auto a = as_float64(values.obj);
            const host_span<const double> v(a.data(), size_of(a));
            locked(p, [&](population& pop) { pop.set_x(v); });
          },
          "values"_a, "Overwrites x, as set_g.")
      .def(
          "gather",
          [](py_population& p, const array_like& selected) {
            const auto elements = to_host_index_array<std::int64_t>(selected, "elements");
            const auto n = static_cast<std::size_t>(elements.size());
            auto [g_arr, g_data] = new_numpy<double>({n});
            auto [x_arr, x_data] = new_numpy<double>({n});
            const auto count = static_cast<std::int64_t>(n);
            locked(p, [&](population& pop) {
              pop.gather(host_span<const std::int64_t>(elements.data(), count), host_span<double>(g_data, count),
                         host_span<double>(x_data, count));
            });
            return nb::make_tuple(g_arr, x_arr);
          },
          nb::sig("def gather(self, elements: numpy.typing.ArrayLike) -> tuple[numpy.typing.NDArray, numpy.typing.NDArray]"), "elements"_a,
          "(g, x) of the elements e = b*N + i as float64, gathered where the state lives.")
      .def(
          "reset", [](py_population& p) { locked(p, [](population& pop) { pop.reset(); }); },
          "Back to the configured initial g and x, no pulse, step 0.")
      .def(
          "synchronize", [](py_population& p) { locked(p, [](population& pop) { pop.synchronize(); }); },
          "Waits for the population's GPU work (no-op on the CPU backend).")
      .def("view", &make_view, "field"_a = "g",
           "A read-only zero-copy [B][N] view of 'g', 'x' or 'countdown' where the state lives\n"
           "(host memory on the CPU backend, device memory on CUDA). It supports DLPack\n"
           "(numpy.from_dlpack, torch.from_dlpack, jax.dlpack) and the buffer protocol, keeps the\n"
           "population alive, and sees every later step.")
      .def(
          "__dlpack__", [](nb::handle self, nb::kwargs kwargs) { return make_view(self, "g").attr("__dlpack__")(**kwargs); },
          "DLPack export of g, zero-copy (see view).")
      .def(
          "__dlpack_device__", [](nb::handle self) { return make_view(self, "g").attr("__dlpack_device__")(); },
          "(device type, device id) of the state, as DLPack numbers them.");

  // --- Checkpoints --------------------------------------------------------
  cls.def(
         "save",
         [](py_population& p, const std::filesystem::path& path, std::uint64_t poisson_seed) {
           locked(p, [&](population& pop) { save_checkpoint(pop, path.string(), poisson_seed); });
         },
         "path"_a, "poisson_seed"_a = 0,
         "Writes the complete state (g, x, countdowns, step counter, dt, parameters, sources) to\n"
         "path, atomically, with a checksum; poisson_seed is stored for the caller.")
      .def_static(
          "load",
          [](const std::filesystem::path& path, const std::string& backend_name) {
            const backend be = parse_backend(backend_name);
            nb::gil_scoped_release release;
            return new py_population(load_checkpoint(path.string(), be));
          },
          "path"_a, "backend"_a = "auto", nb::rv_policy::take_ownership,
          "A new population with the configuration and state of a checkpoint, on the given backend.")
      .def(
          "restore",
          [](py_population& p, const std::filesystem::path& path) {
            locked(p, [&](population& pop) { restore_checkpoint(pop, path.string()); });
          },
          "path"_a,
          "Replaces the state with a checkpoint's; the file must match sizes, precision, dt and\n"
          "parameters (checked before anything changes).");
}

}  // namespace bionmda::python
