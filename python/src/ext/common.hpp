#pragma once
// Shared pieces of the nanobind module: the Python-side population, array
// conversions and the locking discipline around released-GIL calls.
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <bionmda/bionmda.hpp>

namespace bionmda::python {

namespace nb = nanobind;

/**
 * @brief A population as Python holds it: the library's population plus a
 *        mutex, because calls run with the GIL released and a population is
 *        not safe to use from several threads at once.
 */
struct py_population {
  explicit py_population(bionmda::population p) : pop(std::move(p)) {}
  bionmda::population pop;
  std::mutex mutex;
};

/**
 * @brief Runs f(pop) with the GIL released and the population's mutex held.
 *        The mutex is only ever taken without the GIL, so two threads cannot
 *        deadlock on the pair.
 */
template <class F>
decltype(auto) locked(py_population& p, F&& f) {
  nb::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(p.mutex);
  return f(p.pop);
}

/** @brief Raises ValueError with the library's "bionmda: " prefix. */
[[noreturn]] void raise_value_error(const std::string& message);

/** @brief "(a, b, c)" for a shape. */
std::string shape_string(const std::int64_t* dims, std::size_t ndim);

/**
 * @brief Checks an array against an expected shape. A flat array, or one of
 *        another total size, passes: the library then checks the element
 *        count with its own message. Only an array of the right size but the
 *        wrong shape (e.g. [N][B] for [B][N]) is refused here.
 */
template <class Array>
void check_shape(const Array& a, std::initializer_list<std::int64_t> expected, const char* what) {
  std::int64_t total = 1;
  for (std::int64_t d : expected) total *= d;
  if (static_cast<std::int64_t>(a.size()) != total || a.ndim() <= 1) return;
  bool same = a.ndim() == expected.size();
  std::size_t k = 0;
  for (std::int64_t d : expected) {
    if (same && a.shape(k) != static_cast<std::size_t>(d)) same = false;
    ++k;
  }
  if (same) return;
  std::vector<std::int64_t> got(a.ndim());
  for (std::size_t i = 0; i < a.ndim(); ++i) got[i] = static_cast<std::int64_t>(a.shape(i));
  std::vector<std::int64_t> want(expected);
  raise_value_error(std::string(what) + " has shape " + shape_string(got.data(), got.size()) +
                    "; expected " + shape_string(want.data(), want.size()) + " or a flat array of " +
                    std::to_string(total) + " elements");
}

/** @brief Where an array's memory lives, for the library's spans. */
template <class Array>
memory_space space_of(const Array& a, const char* what) {
  if (a.device_type() == nb::device::cpu::value) return memory_space::host;
  if (a.device_type() == nb::device::cuda::value) return memory_space::device;
  raise_value_error(std::string(what) + " lives on DLPack device type " + std::to_string(a.device_type()) +
                    "; only CPU and CUDA memory are accepted");
}

/** @brief Any C-contiguous array, of any dtype and device (spike masks, bit words). */
using any_array = nb::ndarray<nb::ro, nb::c_contig>;

/** @brief A spike-mask array's bytes: uint8, int8 or bool, one byte per element. */
bool is_byte_mask(const any_array& a);
/** @brief True for uint32 or int32 bit words. */
bool is_word_mask(const any_array& a);
/** @brief numpy's name of an array's dtype, for messages. */
std::string dtype_name(const any_array& a);

/**
 * @brief A new NumPy array of the given shape, owning its memory, and a
 *        pointer to its (uninitialised) elements.
 */
template <class T>
std::pair<nb::ndarray<nb::numpy, T>, T*> new_numpy(std::initializer_list<std::size_t> shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  auto storage = std::make_unique<T[]>(n == 0 ? 1 : n);
  T* data = storage.get();
  nb::capsule owner(storage.release(), [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return {nb::ndarray<nb::numpy, T>(data, shape, owner), data};
}

/**
 * @brief Any Python object that NumPy can turn into an array (a number, a
 *        list, a NumPy or DLPack array), converted by the function taking it;
 *        stubs name it numpy.typing.ArrayLike.
 */
struct array_like {
  nb::object obj;
};

/** @brief Converts a number, or anything NumPy can turn into float64, into an array. */
nb::ndarray<const double, nb::c_contig, nb::device::cpu> as_float64(nb::handle h);

/**
 * @brief An array of integers as a contiguous T array: an exact-dtype array
 *        (host or device, DLPack) as is, anything else through NumPy;
 *        non-integer data raises TypeError naming `what`.
 */
nb::object as_integer_array(nb::handle h, nb::dlpack::dtype dtype, const char* numpy_dtype, const char* what);

/** @brief A 1-D integer array in host or device memory (converted when needed). */
template <class T>
using index_array = nb::ndarray<const T, nb::ndim<1>, nb::c_contig>;

/** @brief A 1-D integer array of T from any array-like (see as_integer_array). */
template <class T>
index_array<T> to_index_array(const array_like& a, const char* what) {
  index_array<T> out;
  if (nb::try_cast(a.obj, out, false)) return out;
  const char* numpy_dtype = std::is_same_v<T, std::int32_t> ? "int32" : "int64";
  return nb::cast<index_array<T>>(as_integer_array(a.obj, nb::dtype<T>(), numpy_dtype, what), false);
}

/** @brief As to_index_array, refusing device memory (for arguments the library takes on the host). */
template <class T>
index_array<T> to_host_index_array(const array_like& a, const char* what) {
  index_array<T> out = to_index_array<T>(a, what);
  if (space_of(out, what) != memory_space::host) raise_value_error(std::string(what) + " must be in host memory");
  return out;
}

void bind_population(nb::module_& m);
void bind_postsynaptic(nb::module_& m);

}  // namespace bionmda::python

namespace nanobind::detail {
/// Accepts any object; the binding converts it where it knows the dtype.
template <>
struct type_caster<bionmda::python::array_like> {
  NB_TYPE_CASTER(bionmda::python::array_like, const_name("numpy.typing.ArrayLike"))
  bool from_python(handle src, uint8_t, cleanup_list*) noexcept {
    value.obj = borrow(src);
    return true;
  }
  static handle from_cpp(const bionmda::python::array_like& v, rv_policy, cleanup_list*) noexcept {
    return v.obj.inc_ref();
  }
};
}  // namespace nanobind::detail
