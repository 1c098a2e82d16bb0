"""bionmda.jax: the library's step as pure JAX functions (XLA FFI custom calls).

    import jax, jax.numpy as jnp
    import bionmda.jax as bj

    g, x, countdown = bj.zeros_state((B, N))              # float32 g, x; uint16 countdown
    g, x, countdown = bj.step(g, x, countdown, spikes, params=bj.Params(), dt=0.1)   # spikes (B, N)
    g, x, countdown = bj.window(g, x, countdown, spikes_k, dt=0.1)                    # spikes_k (K, B, N)

``step`` advances every unit by one step, ``window`` by K steps (one pass of the
library's window kernel, the same bits as K steps). Both run the C++ library's
own engine (CPU backend on the ``cpu`` platform, CUDA backend on ``cuda``) on
XLA's buffers, so results equal :class:`bionmda.Population`'s bit for bit on the
same backend. They are pure: the outputs alias the inputs
(``input_output_aliases``), so inside ``jit`` with donated or dead inputs the
state is updated in place; otherwise XLA copies first.

State, all of one shape ``(..., N)`` (every leading axis is batch, flattened to
B = prod(shape[:-1])): ``g`` (open fraction) and ``x`` (auxiliary state),
float32 or float64, dimensionless in [0, 1]; ``countdown``, uint16, steps of
transmitter left per element (0 = no pulse; never more than the pulse length,
as after any step). float64 needs ``jax.config.update("jax_enable_x64", True)``.

Spikes: bool or uint8 (non-zero = a presynaptic spike reaches the element this
step), shaped like ``g`` for ``step`` and ``(K,) + g.shape`` for ``window``.

Parameters (:class:`Params`, BrainPy's names and defaults) and ``dt`` are
static, fixed at trace time and checked there by the library itself (finite,
>= 0; dt > 0; pulse length T_dur/dt at most 65535 steps, in every unit). Each
parameter is a number (the same for every unit) or a concrete array of one
value per unit: shape (N,) with N = g.shape[-1], or any shape that broadcasts
to (N,), such as (1,), shared by every batch entry. A parameter array is
passed to the handler as a static array attribute (it lives in the compiled
program, and a new array compiles a new program); parameters given as numbers
stay scalar attributes, the path they always had. On ``cuda`` the per-unit
handler builds its population (per-unit tables in device memory) in XLA's
initialize stage, before the program runs and outside any CUDA-graph capture,
so the step itself stays capture-compatible (not yet run on a GPU). Under
``shard_map``, N is the shard's: shard per-unit parameters' programs over
batch axes only.
Every bad input raises before anything runs: ``TypeError`` for a wrong dtype
or a traced parameter, ``ValueError`` for a shape mismatch or an invalid
parameter (a NaN, infinite or negative value, a pulse of more than 65535
steps), each naming the argument (and the unit, for an array).

Transformations: ``jit``, ``lax.scan``, ``shard_map`` (each shard steps its
own block) and ``vmap`` (one batched call with a larger B, not a loop) all work;
per-unit parameters are per unit, so a vmapped call shares them across the
mapped axis too.
Not differentiable (no JVP/VJP rule).
"""

from __future__ import annotations

import functools
import hashlib
import math
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _bionmda

try:
    from . import _jax_ffi
except ImportError as e:  # pragma: no cover - depends on how the package was built
    raise ImportError(
        "bionmda.jax: this bionmda was built without its XLA FFI handlers (bionmda._jax_ffi): the XLA FFI "
        "headers, which come with jaxlib, were not found at build time. Reinstall with jaxlib in the build "
        "environment (python/pyproject.toml lists it) or pass -DBIONMDA_XLA_FFI_INCLUDE_DIR=<jaxlib>/include "
        "in CMAKE_ARGS."
    ) from e

__all__ = ["Params", "step", "window", "zeros_state", "cuda_compiled"]

_STEP = "bionmda_step"
_WINDOW = "bionmda_window"
# Per-unit parameters: the same handlers' body with array attributes.
_STEP_UNITS = "bionmda_step_units"
_WINDOW_UNITS = "bionmda_window_units"

for _platform, _handlers in _jax_ffi.targets.items():
    for _name, _capsule in _handlers.items():
        jax.ffi.register_ffi_target(_name, _capsule, platform=_platform)


def cuda_compiled() -> bool:
    """Whether the CUDA handlers were built (the platform ``cuda`` then runs the CUDA backend)."""
    return bool(_jax_ffi.cuda_compiled)


class Params(NamedTuple):
    """Kinetic parameters (BrainPy's names and defaults): each a number for all units, or one value per unit.

    A field may be a concrete array of shape (N,) (N = g.shape[-1]) or of a
    shape that broadcasts to (N,); values are static (never traced).

    alpha1: g opening rate, closed -> open, driven by x [1/ms]
    beta1:  g closing rate, open -> closed [1/ms]
    alpha2: x activation rate per mM of transmitter [1/(ms*mM)]
    beta2:  x inactivation rate [1/ms]
    T:      transmitter concentration during a pulse [mM]
    T_dur:  pulse duration [ms] (0: no pulse); counted in whole steps of dt
    """

    alpha1: Any = 2.0
    beta1: Any = 0.01
    alpha2: Any = 1.0
    beta2: Any = 0.5
    T: Any = 1.0
    T_dur: Any = 0.5


def _static_value(value: Any, name: str) -> float | np.ndarray:
    """A number (float) or a concrete array of real values (float64 ndarray, ndim >= 1)."""
    if isinstance(value, jax.core.Tracer):
        raise TypeError(
            f"bionmda.jax: {name} must be a static number or a concrete array (fixed at trace time), got a traced "
            f"value {value}; pass a Python number or a numpy array, not an argument of the jitted function"
        )
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"bionmda.jax: {name} must be real (a number or an array of numbers), got {value!r} ({a.dtype})")
    if a.ndim == 0:
        return float(a)
    return a.astype(np.float64)


def _static_number(value: Any, name: str) -> float:
    v = _static_value(value, name)
    if isinstance(v, np.ndarray):
        raise ValueError(f"bionmda.jax: {name} must be one number, got an array of shape {v.shape}")
    return v


def _params(params: Params | Mapping[str, Any] | None, dt: Any) -> tuple[Any, ...]:
    """The six parameters (each a float or a float64 array) and dt (a float)."""
    if params is None:
        params = Params()
    elif isinstance(params, Mapping):
        unknown = sorted(set(params) - set(Params._fields))
        if unknown:
            raise ValueError(f"bionmda.jax: unknown parameter {unknown[0]!r}; parameters are {', '.join(Params._fields)}")
        params = Params(**params)
    elif not isinstance(params, Params):
        raise TypeError(f"bionmda.jax: params must be a bionmda.jax.Params or a mapping, got {type(params).__name__}")
    values = tuple(_static_value(v, f"params.{k}") for k, v in zip(Params._fields, params))
    return values + (_static_number(dt, "dt"),)


@functools.lru_cache(maxsize=256)
def _validated(values: tuple[float, ...], precision: str) -> None:
    # The library checks parameters itself (its messages name the parameter and
    # its value): a one-unit CPU population with them must build.
    kw = dict(zip(Params._fields, values[:-1]))
    _bionmda.Population(1, 1, values[-1], precision, "cpu", **kw)


def _check_params(values: tuple[float, ...], precision: str) -> None:
    if any(math.isnan(v) for v in values):  # NaN never hits the cache; the library names it
        _validated.__wrapped__(values, precision)
    else:
        _validated(values, precision)


class _UnitParams:
    """Parameters with at least one per-unit array, static and hashable (by a hash of their values).

    ``values``: per parameter, a float (the same for every unit) or a
    read-only float64 array of shape (N,); ``key``: a 64-bit hash of every
    value, sizes and dt, which the handler uses to find its population without
    reading the arrays on every call (it compares them once per call site).
    """

    __slots__ = ("values", "dt", "units", "key")

    def __init__(self, values: tuple[Any, ...], dt: float, units: int):
        self.values = values
        self.dt = dt
        self.units = units
        h = hashlib.blake2b(digest_size=8)
        h.update(np.asarray([dt, units], np.float64).tobytes())
        for v in values:
            a = np.atleast_1d(np.asarray(v, np.float64))
            h.update(np.int64(a.size).tobytes())
            h.update(a.tobytes())
        self.key = int.from_bytes(h.digest(), "little", signed=True)  # an i64 attribute (MLIR has no u64 above 2**63)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _UnitParams):
            return NotImplemented
        if (self.key, self.dt, self.units) != (other.key, other.dt, other.units):
            return False
        for a, b in zip(self.values, other.values):
            if isinstance(a, np.ndarray) != isinstance(b, np.ndarray):
                return False
            if isinstance(a, np.ndarray):
                if a.tobytes() != b.tobytes():
                    return False
            elif np.float64(a).tobytes() != np.float64(b).tobytes():
                return False
        return True

    def attributes(self) -> dict[str, Any]:
        # Every parameter an F64 array attribute: N values, or 1 for all units.
        attrs: dict[str, Any] = {
            k: v if isinstance(v, np.ndarray) else np.asarray([v], np.float64)
            for k, v in zip(Params._fields, self.values)
        }
        attrs["dt"] = np.float64(self.dt)
        attrs["params_key"] = np.int64(self.key)
        return attrs


def _unit_params(values: tuple[Any, ...], units: int) -> _UnitParams:
    per_param = []
    for k, v in zip(Params._fields, values[:-1]):
        if isinstance(v, np.ndarray):
            try:
                v = np.broadcast_to(v, (units,))
            except ValueError:
                raise ValueError(
                    f"bionmda.jax: params.{k} has shape {v.shape}, which does not broadcast to one value per unit, "
                    f"({units},) (g's last axis, N = {units})"
                ) from None
            v = np.array(v, np.float64)  # a contiguous copy, which nothing else can change
            v.setflags(write=False)
        per_param.append(v)
    return _UnitParams(tuple(per_param), values[-1], units)


@functools.lru_cache(maxsize=64)
def _unit_validated(p: _UnitParams, precision: str) -> None:
    # The library's own checks over every unit (its messages name the
    # parameter and the unit): a CPU population of N units must build.
    kw = dict(zip(Params._fields, p.values))
    _bionmda.Population(p.units, 1, p.dt, precision, "cpu", **kw)


def _check_unit_params(p: _UnitParams, precision: str) -> None:
    if any(np.isnan(v).any() for v in p.values) or math.isnan(p.dt):  # an error is never cached anyway
        _unit_validated.__wrapped__(p, precision)
    else:
        _unit_validated(p, precision)


def _static(values: tuple[Any, ...], units: int, precision: str) -> tuple[float, ...] | _UnitParams:
    """Checked static parameters: a tuple of numbers (scalar targets) or _UnitParams (per-unit targets)."""
    if not any(isinstance(v, np.ndarray) for v in values):
        _check_params(values, precision)
        return values
    p = _unit_params(values, units)
    _check_unit_params(p, precision)
    return p


def _dtype_of(a: Any, name: str) -> np.dtype:
    dt = getattr(a, "dtype", None)
    if dt is None:
        raise TypeError(f"bionmda.jax: {name} must be an array, got {type(a).__name__}")
    return np.dtype(dt)


def _state(g: Any, x: Any, countdown: Any) -> tuple[jax.Array, jax.Array, jax.Array, str]:
    gd = _dtype_of(g, "g")
    if gd not in (np.float32, np.float64):
        raise TypeError(f"bionmda.jax: g must be float32 or float64, got {gd}")
    if gd == np.float64 and not jax.config.jax_enable_x64:
        raise TypeError(
            "bionmda.jax: float64 state needs jax_enable_x64 (jax.config.update('jax_enable_x64', True)); "
            "without it JAX would silently make it float32"
        )
    xd = _dtype_of(x, "x")
    if xd != gd:
        raise TypeError(f"bionmda.jax: x must have g's dtype {gd}, got {xd}")
    cd = _dtype_of(countdown, "countdown")
    if cd != np.uint16:
        raise TypeError(f"bionmda.jax: countdown must be uint16, got {cd} (it counts pulse steps left)")
    g, x, countdown = jnp.asarray(g), jnp.asarray(x), jnp.asarray(countdown)
    if g.ndim < 1:
        raise ValueError("bionmda.jax: g must have at least one axis (..., N), got a scalar")
    if x.shape != g.shape:
        raise ValueError(f"bionmda.jax: x has shape {x.shape}; g has {g.shape}")
    if countdown.shape != g.shape:
        raise ValueError(f"bionmda.jax: countdown has shape {countdown.shape}; g has {g.shape}")
    return g, x, countdown, "float32" if gd == np.float32 else "float64"


def _spikes(spikes: Any) -> jax.Array:
    sd = _dtype_of(spikes, "spikes")
    if sd not in (np.bool_, np.uint8):
        raise TypeError(f"bionmda.jax: spikes must be bool or uint8, got {sd}")
    return jnp.asarray(spikes)


def _attributes(values: tuple[float, ...] | _UnitParams) -> dict[str, Any]:
    if isinstance(values, _UnitParams):
        return values.attributes()
    return {k: np.float64(v) for k, v in zip(Params._fields + ("dt",), values)}


def _ffi(target: str, g: jax.Array, x: jax.Array, countdown: jax.Array, spikes: jax.Array, attrs: dict) -> tuple:
    out = (jax.ShapeDtypeStruct(g.shape, g.dtype), jax.ShapeDtypeStruct(x.shape, x.dtype),
           jax.ShapeDtypeStruct(countdown.shape, countdown.dtype))
    call = jax.ffi.ffi_call(target, out, vmap_method="broadcast_all", input_output_aliases={0: 0, 1: 1, 2: 2})
    return tuple(call(g, x, countdown, spikes, **attrs))


def step(g: Any, x: Any, countdown: Any, spikes: Any, params: Params | Mapping[str, Any] | None = None,
         dt: float = 0.1) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One step of every unit: returns the new (g, x, countdown).

    Args:
        g, x: float32 or float64 arrays of one shape (..., N), values in [0, 1].
        countdown: uint16 array of that shape, pulse steps left per element.
        spikes: bool or uint8 array of that shape; non-zero = a spike arrives this step.
        params: :class:`Params` or a mapping of some of its fields (None: BrainPy's defaults); each
            field a number or a concrete array broadcastable to (N,) (one value per unit).
        dt: time step [ms], a static number > 0.
    Raises:
        TypeError: a wrong dtype, or a traced parameter.
        ValueError: a shape mismatch (of the state, the spikes or a parameter array) or an invalid
            parameter (named, with its value and, for an array, the unit).
    """
    g, x, countdown, precision = _state(g, x, countdown)
    spikes = _spikes(spikes)
    if spikes.shape != g.shape:
        raise ValueError(f"bionmda.jax: spikes have shape {spikes.shape}; a step needs g's shape {g.shape}")
    static = _static(_params(params, dt), g.shape[-1], precision)
    target = _STEP_UNITS if isinstance(static, _UnitParams) else _STEP
    return _ffi(target, g, x, countdown, spikes, _attributes(static))


@functools.lru_cache(maxsize=256)
def _window_fn(values: tuple[float, ...] | _UnitParams):
    attrs = _attributes(values)
    target = _WINDOW_UNITS if isinstance(values, _UnitParams) else _WINDOW

    # vmap: the FFI call itself would get the batch axis in front of K in the
    # spikes; this rule moves it behind K (spikes [K, V, ...]) and makes one
    # call with V times the batch.
    @jax.custom_batching.custom_vmap
    def call(g, x, countdown, spikes):
        return _ffi(target, g, x, countdown, spikes, attrs)

    @call.def_vmap
    def rule(axis_size, in_batched, g, x, countdown, spikes):
        def lead(a, batched):
            return a if batched else jnp.broadcast_to(a, (axis_size,) + a.shape)
        g, x, countdown = (lead(a, b) for a, b in zip((g, x, countdown), in_batched[:3]))
        if in_batched[3]:
            spikes = jnp.moveaxis(spikes, 0, 1)
        else:
            spikes = jnp.broadcast_to(spikes[:, None], (spikes.shape[0], axis_size) + spikes.shape[1:])
        return call(g, x, countdown, spikes), (True, True, True)

    return call


def window(g: Any, x: Any, countdown: Any, spikes: Any, params: Params | Mapping[str, Any] | None = None,
           dt: float = 0.1) -> tuple[jax.Array, jax.Array, jax.Array]:
    """K steps of every unit in one call (the library's window): returns the new (g, x, countdown).

    The same bits as K calls of :func:`step` with spikes[0], ..., spikes[K-1].

    Args:
        g, x, countdown: as for :func:`step`, shape (..., N).
        spikes: bool or uint8 array of shape (K,) + g.shape; spikes[k] arrive at step k. K = 0 returns the state.
        params, dt: as for :func:`step`.
    Raises:
        TypeError, ValueError: as :func:`step`.
    """
    g, x, countdown, precision = _state(g, x, countdown)
    spikes = _spikes(spikes)
    if spikes.ndim != g.ndim + 1 or spikes.shape[1:] != g.shape:
        raise ValueError(f"bionmda.jax: window spikes have shape {spikes.shape}; expected (K,) + g's shape {g.shape}")
    static = _static(_params(params, dt), g.shape[-1], precision)
    return _window_fn(static)(g, x, countdown, spikes)


def zeros_state(shape: tuple[int, ...] | int, dtype: Any = jnp.float32) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(g, x, countdown) all zero: g and x of dtype (float32 or float64), countdown uint16, of shape (..., N)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return jnp.zeros(shape, dtype), jnp.zeros(shape, dtype), jnp.zeros(shape, jnp.uint16)
