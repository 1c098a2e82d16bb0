// bionmda.PostsynapticMap: per-post summed conductance and the Mg-blocked
// NMDA current of a population (postsynaptic.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <nanobind/stl/optional.h>

#include "common.hpp"

namespace bionmda::python {
namespace {

using nb::literals::operator""_a;

/** @brief A map and the Python population it reads, kept alive with it. */
struct py_post_map {
  py_post_map(postsynaptic_map m, nb::object owner)
      : map(std::move(m)), pop_object(std::move(owner)), pop(&nb::cast<py_population&>(pop_object)) {}
  postsynaptic_map map;
  nb::object pop_object;
  py_population* pop;
};

csr_connectivity make_csr(const array_like& row_offsets, const array_like& source, const array_like& gmax) {
  const auto rows = to_host_index_array<std::int64_t>(row_offsets, "row_offsets");
  const auto src = to_host_index_array<std::int32_t>(source, "source");
  const auto w = as_float64(gmax.obj);
  csr_connectivity c;
  c.n_post = rows.size() == 0 ? 0 : static_cast<std::int64_t>(rows.size()) - 1;
  c.row_offsets.assign(rows.data(), rows.data() + rows.size());
  c.source.assign(src.data(), src.data() + src.size());
  c.gmax.assign(w.data(), w.data() + w.size());
  return c;
}

mg_block make_mg(double E, double cc_Mg, double alpha, double beta, double V_offset) {
  mg_block mg;
  mg.E = E;
  mg.cc_Mg = cc_Mg;
  mg.alpha = alpha;
  mg.beta = beta;
  mg.V_offset = V_offset;
  return mg;
}

/** @brief V as [B][n_post] values of Real in host memory (converted from any float array). */
template <class Real>
std::vector<Real> voltages(nb::handle V, std::int64_t batch, std::int64_t n_post) {
  const auto a = as_float64(V);
  check_shape(a, {batch, n_post}, "V");
  return std::vector<Real>(a.data(), a.data() + a.size());
}

/**
 * @brief Runs a per-post computation into new [B][n_post] NumPy arrays: g_post,
 *        and I when V is given. kernel(pop, g_post, V, I) receives host spans
 *        on the CPU backend, device spans on CUDA (copied back here).
 */
template <class Real, class Kernel>
nb::object per_post(py_post_map& m, std::optional<array_like> V, Kernel&& kernel) {
  population& pop0 = m.pop->pop;
  const std::int64_t B = pop0.batch();
  const std::int64_t P = m.map.n_post();
  const std::int64_t n = B * P;
  std::vector<Real> v;
  const bool with_current = V.has_value() && !V->obj.is_none();
  if (with_current) v = voltages<Real>(V->obj, B, P);
  auto [g_arr, g_data] = new_numpy<Real>({static_cast<std::size_t>(B), static_cast<std::size_t>(P)});
  auto [i_arr, i_data] = new_numpy<Real>({static_cast<std::size_t>(with_current ? B : 0),
                                          static_cast<std::size_t>(with_current ? P : 0)});
  const std::int64_t n_v = static_cast<std::int64_t>(v.size());
  const std::int64_t n_i = with_current ? n : 0;
  locked(*m.pop, [&](population& pop) {
    if (pop.space() == memory_space::host) {
      kernel(pop, host_span<Real>(g_data, n), host_span<const Real>(v.data(), n_v), host_span<Real>(i_data, n_i));
    } else {
      buffer<Real> g = pop.make_buffer<Real>(n, "g_post");
      buffer<Real> dv = pop.make_buffer<Real>(n_v, "V");
      buffer<Real> di = pop.make_buffer<Real>(n_i, "I");
      dv.copy_from(host_span<const Real>(v.data(), n_v));
      kernel(pop, g.device_view(), device_span<const Real>(dv.device_view()), di.device_view());
      pop.synchronize();
      g.copy_to(host_span<Real>(g_data, n));
      di.copy_to(host_span<Real>(i_data, n_i));
    }
  });
  if (with_current) return nb::make_tuple(g_arr, i_arr);
  return nb::cast(g_arr, nb::rv_policy::automatic);
}

template <class Real>
nb::object compute(py_post_map& m, std::optional<array_like> V) {
  return per_post<Real>(m, V, [&](population& pop, auto g, auto v, auto i) {
    if constexpr (std::is_same_v<decltype(g), host_span<Real>>) {
      m.map.compute<Real>(pop, g, v, i);
    } else {
      m.map.compute_async<Real>(pop, g, v, i);
    }
  });
}

template <class Real>
nb::object step(py_post_map& m, const any_array& pre, std::optional<array_like> V) {
  if (!is_byte_mask(pre)) {
    throw nb::type_error(
        ("bionmda: presynaptic spikes must have one byte per element (uint8 or bool); got " + dtype_name(pre)).c_str());
  }
  population& pop0 = m.pop->pop;
  check_shape(pre, {pop0.batch(), pop0.presynaptic_size()}, "presynaptic spikes");
  const auto* d = static_cast<const std::uint8_t*>(pre.data());
  const auto n = static_cast<std::int64_t>(pre.size());
  const memory_space s = space_of(pre, "presynaptic spikes");
  return per_post<Real>(m, V, [&](population& pop, auto g, auto v, auto i) {
    if constexpr (std::is_same_v<decltype(g), host_span<Real>>) {
      if (s != memory_space::host) {
        raise_value_error("a device-memory presynaptic mask needs the CUDA backend; this population is on the CPU");
      }
      m.map.step<Real>(pop, host_span<const std::uint8_t>(d, n), g, v, i);
    } else {
      if (s != memory_space::device) {
        raise_value_error("PostsynapticMap.step on the CUDA backend takes a device-memory mask (a DLPack CUDA array)");
      }
      m.map.step_async<Real>(pop, device_span<const std::uint8_t>(d, n), g, v, i);
    }
  });
}

}  // namespace

void bind_postsynaptic(nb::module_& m) {
  nb::class_<py_post_map>(m, "PostsynapticMap",
                          "From synapses to postsynaptic neurons: per-post summed conductance\n"
                          "g_post[b][j] = sum over synapses k of post neuron j of gmax[k] * g[b][source[k]]\n"
                          "and the Mg-blocked NMDA current\n"
                          "I = g_post * (E - V) / (1 + (cc_Mg/beta) * exp(alpha * (V_offset - V))).\n\n"
                          "Units: gmax and g_post in the caller's conductance unit (e.g. nS), V, E and V_offset\n"
                          "in mV, cc_Mg and beta in mM, alpha in 1/mV; I in conductance unit times mV\n"
                          "(nS * mV = pA). Positive I depolarises. Sums run in a fixed order.")
      .def(
          "__init__",
          [](py_post_map* self, nb::handle_t<py_population> pop, const array_like& row_offsets, const array_like& source, const array_like& gmax, double E,
             double cc_Mg, double alpha, double beta, double V_offset) {
            py_population& p = nb::cast<py_population&>(pop);
            csr_connectivity conn = make_csr(row_offsets, source, gmax);
            const mg_block mg = make_mg(E, cc_Mg, alpha, beta, V_offset);
            postsynaptic_map map = locked(p, [&](population& q) { return postsynaptic_map(q, std::move(conn), mg); });
            new (self) py_post_map(std::move(map), nb::borrow<nb::object>(pop));
          },
          "pop"_a, "row_offsets"_a, "source"_a, "gmax"_a, nb::kw_only(), "E"_a = 0.0, "cc_Mg"_a = 1.2,
          "alpha"_a = 0.062, "beta"_a = 3.57, "V_offset"_a = 0.0,
          "Per-presynaptic mode: every synapse sees the g of its source unit. Post-major CSR:\n"
          "row_offsets (n_post + 1 int64, from 0 to nnz), source (nnz int32 unit indices in [0, N)),\n"
          "gmax (nnz weights). Mg block: E [mV], cc_Mg [mM], alpha [1/mV], beta [mM], V_offset [mV].\n"
          "Raises ValueError for malformed connectivity (naming the field and index).")
      .def_static(
          "per_synapse",
          [](nb::handle_t<py_population> pop, const array_like& row_offsets, const array_like& source, const array_like& gmax, std::int64_t n_pre, double E,
             double cc_Mg, double alpha, double beta, double V_offset) {
            py_population& p = nb::cast<py_population&>(pop);
            csr_connectivity conn = make_csr(row_offsets, source, gmax);
            const mg_block mg = make_mg(E, cc_Mg, alpha, beta, V_offset);
            postsynaptic_map map =
                locked(p, [&](population& q) { return postsynaptic_map::per_synapse(q, std::move(conn), n_pre, mg); });
            return new py_post_map(std::move(map), nb::borrow<nb::object>(pop));
          },
          "pop"_a, "row_offsets"_a, "source"_a, "gmax"_a, "n_pre"_a, nb::kw_only(), "E"_a = 0.0, "cc_Mg"_a = 1.2,
          "alpha"_a = 0.062, "beta"_a = 3.57, "V_offset"_a = 0.0, nb::rv_policy::take_ownership,
          "Per-synapse mode: pop's units are the synapses in CSR order (pop.units == nnz);\n"
          "source[k] is the presynaptic neuron of synapse k in [0, n_pre), and becomes pop's\n"
          "presynaptic sources. Advance with step().")
      .def_prop_ro("n_post", [](const py_post_map& m) { return m.map.n_post(); }, "Postsynaptic neurons.")
      .def_prop_ro("synapses", [](const py_post_map& m) { return m.map.synapses(); }, "Synapses (CSR non-zeros).")
      .def_prop_ro(
          "is_per_synapse", [](const py_post_map& m) { return m.map.is_per_synapse(); },
          "True for a map made by per_synapse().")
      .def_prop_ro(
          "population", [](const py_post_map& m) { return m.pop_object; }, nb::sig("def population(self) -> Population"),
          "The population the map reads.")
      .def(
          "compute",
          [](py_post_map& m, std::optional<array_like> V) {
            if (m.pop->pop.precision() == precision::float32) return compute<float>(m, V);
            return compute<double>(m, V);
          },
          nb::sig("def compute(self, V: numpy.typing.ArrayLike | None = None) -> numpy.typing.NDArray | tuple[numpy.typing.NDArray, numpy.typing.NDArray]"), "V"_a = nb::none(),
          "Per-presynaptic mode: g_post [B][n_post] from the population's current g, in its\n"
          "precision; with V (membrane potentials [B][n_post] in mV) returns (g_post, I).")
      .def(
          "step",
          [](py_post_map& m, const any_array& pre_spikes, std::optional<array_like> V) {
            if (m.pop->pop.precision() == precision::float32) return step<float>(m, pre_spikes, V);
            return step<double>(m, pre_spikes, V);
          },
          nb::sig("def step(self, pre_spikes: numpy.typing.ArrayLike, V: numpy.typing.ArrayLike | None = None) -> "
                  "numpy.typing.NDArray | tuple[numpy.typing.NDArray, numpy.typing.NDArray]"),
          "pre_spikes"_a, "V"_a = nb::none(),
          "Per-synapse mode: advances the population one step with the presynaptic mask\n"
          "[B][n_pre] (one byte each) and returns g_post [B][n_post], or (g_post, I) with V [mV].");
}

}  // namespace bionmda::python
