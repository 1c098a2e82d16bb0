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
static: plain numbers, fixed at trace time, checked there by the library itself
(finite, >= 0; dt > 0; pulse length T_dur/dt at most 65535 steps). Every bad
input raises before anything runs: ``TypeError`` for a wrong dtype or a traced
parameter, ``ValueError`` for a shape mismatch or an invalid parameter, each
naming the argument. Per-unit parameter arrays are not supported here (use
:class:`bionmda.Population`).

Transformations: ``jit``, ``lax.scan``, ``shard_map`` (each shard steps its
own block) and ``vmap`` (one batched call with a larger B, not a loop) all work.
Not differentiable (no JVP/VJP rule).
"""

from __future__ import annotations

import functools
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

for _platform, _handlers in _jax_ffi.targets.items():
    for _name, _capsule in _handlers.items():
        jax.ffi.register_ffi_target(_name, _capsule, platform=_platform)


def cuda_compiled() -> bool:
    """Whether the CUDA handlers were built (the platform ``cuda`` then runs the CUDA backend)."""
    return bool(_jax_ffi.cuda_compiled)


class Params(NamedTuple):
    """Kinetic parameters, one number each for all units (BrainPy's names and defaults).

    alpha1: g opening rate, closed -> open, driven by x [1/ms]
    beta1:  g closing rate, open -> closed [1/ms]
    alpha2: x activation rate per mM of transmitter [1/(ms*mM)]
    beta2:  x inactivation rate [1/ms]
    T:      transmitter concentration during a pulse [mM]
    T_dur:  pulse duration [ms] (0: no pulse); counted in whole steps of dt
    """

    alpha1: float = 2.0
    beta1: float = 0.01
    alpha2: float = 1.0
    beta2: float = 0.5
    T: float = 1.0
    T_dur: float = 0.5


def _static_number(value: Any, name: str) -> float:
    if isinstance(value, jax.core.Tracer):
        raise TypeError(
            f"bionmda.jax: {name} must be a static number (fixed at trace time), got a traced value {value}; "
            "pass it as a Python float, not as an argument of the jitted function"
        )
    a = np.asarray(value)
    if a.ndim != 0:
        raise ValueError(
            f"bionmda.jax: {name} must be one number, got an array of shape {a.shape} "
            "(per-unit parameters are not supported by bionmda.jax; use bionmda.Population)"
        )
    if a.dtype.kind not in "biuf":
        raise TypeError(f"bionmda.jax: {name} must be a real number, got {value!r} ({a.dtype})")
    return float(a)


def _params(params: Params | Mapping[str, Any] | None, dt: Any) -> tuple[float, ...]:
    if params is None:
        params = Params()
    elif isinstance(params, Mapping):
        unknown = sorted(set(params) - set(Params._fields))
        if unknown:
            raise ValueError(f"bionmda.jax: unknown parameter {unknown[0]!r}; parameters are {', '.join(Params._fields)}")
        params = Params(**params)
    elif not isinstance(params, Params):
        raise TypeError(f"bionmda.jax: params must be a bionmda.jax.Params or a mapping, got {type(params).__name__}")
    values = tuple(_static_number(v, f"params.{k}") for k, v in zip(Params._fields, params))
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


def _attributes(values: tuple[float, ...]) -> dict[str, np.float64]:
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
        params: :class:`Params` or a mapping of some of its fields (None: BrainPy's defaults).
        dt: time step [ms], a static number > 0.
    Raises:
        TypeError: a wrong dtype, or a traced parameter.
        ValueError: a shape mismatch or an invalid parameter (named, with its value).
    """
    g, x, countdown, precision = _state(g, x, countdown)
    spikes = _spikes(spikes)
    if spikes.shape != g.shape:
        raise ValueError(f"bionmda.jax: spikes have shape {spikes.shape}; a step needs g's shape {g.shape}")
    values = _params(params, dt)
    _check_params(values, precision)
    return _ffi(_STEP, g, x, countdown, spikes, _attributes(values))


@functools.lru_cache(maxsize=256)
def _window_fn(values: tuple[float, ...]):
    attrs = _attributes(values)

    # vmap: the FFI call itself would get the batch axis in front of K in the
    # spikes; this rule moves it behind K (spikes [K, V, ...]) and makes one
    # call with V times the batch.
    @jax.custom_batching.custom_vmap
    def call(g, x, countdown, spikes):
        return _ffi(_WINDOW, g, x, countdown, spikes, attrs)

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
    values = _params(params, dt)
    _check_params(values, precision)
    return _window_fn(values)(g, x, countdown, spikes)


def zeros_state(shape: tuple[int, ...] | int, dtype: Any = jnp.float32) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(g, x, countdown) all zero: g and x of dtype (float32 or float64), countdown uint16, of shape (..., N)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return jnp.zeros(shape, dtype), jnp.zeros(shape, dtype), jnp.zeros(shape, jnp.uint16)
