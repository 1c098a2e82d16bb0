// The module bionmda._bionmda: exception mapping, machine queries,
// checkpoint headers; the classes are bound in population.cpp and
// postsynaptic.cpp.
#include <filesystem>
#include <string>

#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/string.h>

#include "common.hpp"

namespace bionmda::python {

void raise_value_error(const std::string& message) {
  // Thrown as the library's own type, so that it reaches Python through the
  // one translator below, as a ValueError.
  throw bionmda::invalid_argument("bionmda: " + message);
}

std::string shape_string(const std::int64_t* dims, std::size_t ndim) {
  std::string s = "(";
  for (std::size_t i = 0; i < ndim; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  if (ndim == 1) s += ",";
  return s + ")";
}

bool is_byte_mask(const any_array& a) {
  return a.dtype() == nb::dtype<std::uint8_t>() || a.dtype() == nb::dtype<std::int8_t>() ||
         a.dtype() == nb::dtype<bool>();
}

bool is_word_mask(const any_array& a) {
  return a.dtype() == nb::dtype<std::uint32_t>() || a.dtype() == nb::dtype<std::int32_t>();
}

std::string dtype_name(const any_array& a) {
  const nb::dlpack::dtype t = a.dtype();
  const char* kind = "unknown";
  switch (static_cast<nb::dlpack::dtype_code>(t.code)) {
    case nb::dlpack::dtype_code::Int: kind = "int"; break;
    case nb::dlpack::dtype_code::UInt: kind = "uint"; break;
    case nb::dlpack::dtype_code::Float: kind = "float"; break;
    case nb::dlpack::dtype_code::Bool: return "bool";
    case nb::dlpack::dtype_code::Complex: kind = "complex"; break;
    default: break;
  }
  return std::string(kind) + std::to_string(t.bits);
}

nb::ndarray<const double, nb::c_contig, nb::device::cpu> as_float64(nb::handle h) {
  nb::module_ np = nb::module_::import_("numpy");
  nb::object a = np.attr("ascontiguousarray")(h, nb::arg("dtype") = "float64");
  return nb::cast<nb::ndarray<const double, nb::c_contig, nb::device::cpu>>(a);
}

nb::object as_integer_array(nb::handle h, nb::dlpack::dtype, const char* numpy_dtype, const char* what) {
  nb::module_ np = nb::module_::import_("numpy");
  nb::object a = np.attr("asarray")(h);
  const std::string kind = nb::cast<std::string>(a.attr("dtype").attr("kind"));
  const auto size = nb::cast<std::int64_t>(a.attr("size"));
  if (kind != "i" && kind != "u" && size > 0) {
    throw nb::type_error(("bionmda: " + std::string(what) + " must be integers; got " +
                          nb::cast<std::string>(a.attr("dtype").attr("name")))
                             .c_str());
  }
  return np.attr("ascontiguousarray")(a.attr("ravel")(), nb::arg("dtype") = numpy_dtype);
}

namespace {

nb::dict info_dict(const checkpoint_info& info) {
  nb::dict d;
  d["units"] = info.units;
  d["batch"] = info.batch;
  d["step_count"] = info.step_count;
  d["dt"] = info.dt;
  d["precision"] = to_string(info.precision);
  d["poisson_seed"] = info.poisson_seed;
  return d;
}

}  // namespace

}  // namespace bionmda::python

NB_MODULE(_bionmda, m) {
  namespace nb = nanobind;
  using namespace bionmda::python;
  m.doc() =
      "Batches of BioNMDA kinetic synapses (BrainPy's brainpy.state.BioNMDA) on the GPU or CPU.\n\n"
      "Units: time in ms, rates in 1/ms, concentrations in mM, voltages in mV; g and x are\n"
      "dimensionless fractions in [0, 1]. Errors of the C++ library arrive as ValueError\n"
      "(invalid input), MemoryError (allocation failed) or RuntimeError (backend unavailable,\n"
      "CUDA or file errors), with the library's message, raised before any state changes.";

  // Most recently registered translators run first: this one sees the
  // library's exceptions before nanobind's default std::exception mapping.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const bionmda::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const bionmda::out_of_memory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const bionmda::backend_unavailable& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const bionmda::error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  m.attr("__version__") = BIONMDA_VERSION_STRING;
  m.def("cuda_compiled", &bionmda::cuda_compiled, "True when this build contains the CUDA backend.");
  m.def(
      "cuda_available", [] { return !bionmda::cuda_devices().empty(); },
      "True when the CUDA backend is compiled in and a usable device is present.");
  m.def("cuda_unavailable_reason", &bionmda::cuda_unavailable_reason,
        "Why no CUDA device is usable (e.g. the driver's error), or '' when one is.");
  m.def(
      "resolve_backend",
      [](const std::string& requested) {
        return std::string(bionmda::to_string(bionmda::resolve_backend(bionmda::parse_backend(requested))));
      },
      nb::arg("requested") = "auto", "The backend ('cpu' or 'cuda') that `requested` resolves to here.");
  m.def("cpu_instruction_set", &bionmda::cpu_instruction_set,
        "Vector instruction set of the CPU backend here: 'avx512', 'avx2' or 'generic'.");
  m.def(
      "checkpoint_info",
      [](const std::filesystem::path& path) {
        bionmda::checkpoint_info info;
        {
          nb::gil_scoped_release release;
          info = bionmda::read_checkpoint_info(path.string());
        }
        return info_dict(info);
      },
      nb::arg("path"),
      "Header of a checkpoint file (checksum verified): a dict with units, batch, step_count,\n"
      "dt [ms], precision and poisson_seed.");

  bind_population(m);
  bind_postsynaptic(m);
}
