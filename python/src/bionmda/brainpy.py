"""bionmda.brainpy: a drop-in for ``brainpy.state.BioNMDA`` that steps with the library.

    import brainpy, brainstate, brainunit as u
    import bionmda.brainpy

    syn = bionmda.brainpy.BioNMDA(100)        # instead of brainpy.state.BioNMDA(100)
    syn.init_state(batch_size=4)
    with brainstate.environ.context(dt=0.125 * u.ms):
        g = syn.update(pre_spike)             # (4, 100), in g_initializer's unit (mS by default)

:class:`BioNMDA` takes BrainPy's constructor arguments (same names, defaults
and units), has BrainPy's states ``g`` and ``x`` (``brainstate.HiddenState``),
``init_state(batch_size=None)``/``reset_state`` and ``update(pre_spike)``
returning g, and is a ``brainpy.state.Synapse``, so it goes anywhere BrainPy's
model goes (``align_pre_projection`` with ``MgBlock`` output, ``.desc()``,
``brainstate.transform`` loops and ``vmap``). Each ``update`` is one call of
:func:`bionmda.jax.step`: the C++ library's own engine on the state's buffers.

Differences from BrainPy, all deliberate:

- The transmitter pulse is counted in whole steps (docs/model.md): a spike
  turns the pulse on for n = round(T_dur/dt) steps. BrainPy compares float
  times, ``(t - t_spike) < T_dur``, which for some dt (0.1 ms with
  T_dur = 0.5 ms) gives 5 or 6 steps depending on when the spike came
  (docs/validation.md). With a dt that divides T_dur exactly in binary
  (0.25, 0.125, 0.0625 ms) the two agree. ``update`` therefore needs only
  ``dt`` from ``brainstate.environ``, not ``t``.
- The pulse state is ``countdown`` (``brainstate.ShortTermState``, uint16,
  steps of transmitter left) instead of BrainPy's ``spike_arrival_time``.
- Parameters must be concrete at construction (never traced), finite and
  >= 0 (checked there; the pulse length T_dur/dt, at most 65535 steps in
  every unit, is checked at the first ``update``, when dt is known). Each is
  a number or, as in BrainPy, an array that broadcasts to ``in_size`` (one
  value per neuron); another shape raises ``ValueError`` naming the
  parameter, its shape and ``in_size``. An array of equal values is taken as
  that one number; an array of different values is passed to
  :func:`bionmda.jax.step` per unit (the state's ``in_size`` axes flattened
  into its unit axis), as a static attribute of the compiled step.
- States are float32 or float64 (``brainstate.environ``'s precision, or the
  initializers' dtype); g and x start in [0, 1] (in g's unit), checked when
  the initial values are concrete. Plain-number initial values are broadcast
  to the full state shape at ``init_state``.
- Not differentiable (``bionmda.jax`` has no JVP/VJP rule).

Units: parameters given as brainunit quantities are converted to the
library's units (1/ms for alpha1, beta1, beta2; 1/(mM*ms) for alpha2; mM for
T; ms for T_dur and dt); a quantity of another dimension raises
``ValueError`` naming it. Plain numbers are taken as already in those units.
g keeps ``g_initializer``'s unit (mS by default, as in BrainPy); x must be
dimensionless.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

try:
    import brainevent
    import brainpy
    import brainstate
    import braintools
    import brainunit as u
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "bionmda.brainpy needs BrainPy's brainpy.state and its ecosystem (brainpy, brainstate, braintools, "
        f"brainunit, brainevent): {e}. Install them with: pip install 'bionmda[brainpy]' (Python >= 3.12)"
    ) from e

import jax
import jax.numpy as jnp

from . import jax as _bj

__all__ = ["BioNMDA"]

_WHO = "bionmda.brainpy.BioNMDA"

# The library's units (docs/model.md), per parameter.
_UNITS = {
    "alpha1": u.get_unit(1.0 / u.ms),
    "beta1": u.get_unit(1.0 / u.ms),
    "alpha2": u.get_unit(1.0 / (u.ms * u.mM)),
    "beta2": u.get_unit(1.0 / u.ms),
    "T": u.mM,
    "T_dur": u.ms,
}


def _is_traced(a: Any) -> bool:
    return isinstance(a, jax.core.Tracer)


def _to_library_unit(value: Any, name: str, unit: Any) -> Any:
    """A quantity in ``unit``'s numbers (its mantissa after conversion); plain numbers as they are."""
    if isinstance(value, u.Quantity):
        try:
            return value.to_decimal(unit)
        except u.UnitMismatchError:
            raise ValueError(
                f"{_WHO}: {name} = {value} has unit {value.unit}, which does not convert to {unit}"
            ) from None
    return value


def _parameter(value: Any, name: str, varshape: tuple[int, ...]) -> float | np.ndarray:
    """BrainPy's parameter value in the library's unit: one number, or (values differing
    per neuron) a float64 array of shape varshape flattened to prod(varshape) units."""
    mantissa = _to_library_unit(value, name, _UNITS[name])
    if _is_traced(mantissa):
        raise TypeError(
            f"{_WHO}: {name} must be a concrete value at construction, got a traced value "
            "(bionmda.jax fixes parameters at trace time); construct the model outside jit"
        )
    a = np.asarray(mantissa)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{_WHO}: {name} must be a real number or array, got {value!r} ({a.dtype})")
    if a.size == 0:
        raise ValueError(f"{_WHO}: {name} is an empty array")
    if a.ndim > 0:
        try:
            fits = np.broadcast_shapes(a.shape, varshape) == varshape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{_WHO}: {name} has shape {a.shape}, which does not broadcast to in_size {varshape} "
                "(one value per neuron)"
            )
    flat = a.astype(np.float64).ravel()
    bad = ~np.isfinite(flat) | (flat < 0)
    if bad.any():
        i = int(np.argmax(bad))
        where = "" if a.ndim == 0 else f" (element {tuple(int(j) for j in np.unravel_index(i, a.shape))})"
        raise ValueError(f"{_WHO}: {name} must be finite and >= 0, got {float(flat[i])!r}{where}")
    if np.all(flat == flat[0]):
        return float(flat[0])
    return np.broadcast_to(a.astype(np.float64), varshape).ravel()


def _dt_ms() -> float:
    """brainstate.environ's dt in ms, a static number."""
    dt = brainstate.environ.get_dt()
    mantissa = _to_library_unit(dt, "dt (brainstate.environ)", u.ms)
    if _is_traced(mantissa):
        raise TypeError(
            f"{_WHO}: dt (brainstate.environ) must be a static number, got a traced value; set it with "
            "brainstate.environ.set(dt=...) or context(dt=...) outside the traced function's arguments"
        )
    return mantissa


def _float_dtype(a: Any) -> np.dtype | None:
    """The dtype an initial value asks for, or None when it is a plain number or weakly typed."""
    if isinstance(a, (bool, int, float)) or getattr(a, "weak_type", False):
        return None
    dt = getattr(a, "dtype", None)
    if dt is None:
        dt = np.asarray(a).dtype
    dt = np.dtype(dt)
    return dt if dt.kind == "f" else None


def _spikes(pre_spike: Any) -> jax.Array:
    """pre_spike as a bool array: non-zero = a spike (as BrainPy's where(pre_spike, t, ...))."""
    if isinstance(pre_spike, brainevent.EventRepresentation):  # BinaryArray, MaskedFloat from projections
        pre_spike = pre_spike.value
    if isinstance(pre_spike, u.Quantity):
        if not u.get_unit(pre_spike).is_unitless:
            raise ValueError(f"{_WHO}: pre_spike must be dimensionless, got unit {u.get_unit(pre_spike)}")
        pre_spike = u.get_mantissa(pre_spike)
    if pre_spike is None:
        raise TypeError(f"{_WHO}: update needs pre_spike (the presynaptic spikes), got None")
    a = jnp.asarray(pre_spike)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{_WHO}: pre_spike must be bool or numeric, got {a.dtype}")
    return a if a.dtype == jnp.bool_ else a != 0


class BioNMDA(brainpy.state.Synapse):
    r"""BrainPy's ``brainpy.state.BioNMDA`` (same arguments, states and methods), stepped by the library.

    .. math::

        \frac{dx}{dt} = \alpha_2 [T](t) (1 - x) - \beta_2 x, \qquad
        \frac{dg}{dt} = \alpha_1 x (1 - g) - \beta_1 g

    x first, then g with the new x, each by exponential Euler (docs/model.md);
    ``[T]`` is ``T`` for n = T_dur/dt steps after each spike (a spike during a
    pulse restarts it).

    Args:
        in_size: size of the population (int or tuple), as BrainPy's.
        name: module name.
        alpha1: g opening rate [1/ms] (default 2.0/ms). Every parameter is a number or an array
            that broadcasts to in_size (one value per neuron), a brainunit quantity or plain numbers.
        beta1: g closing rate [1/ms] (default 0.01/ms).
        alpha2: x activation rate per mM of transmitter [1/(ms*mM)] (default 1.0/(ms*mM)).
        beta2: x inactivation rate [1/ms] (default 0.5/ms).
        T: transmitter concentration during a pulse [mM] (default 1.0 mM).
        T_dur: pulse duration [ms] (default 0.5 ms).
        g_initializer: initial g (value or braintools initializer); default 0 mS as in BrainPy.
        x_initializer: initial x (dimensionless); default 0.

    Attributes:
        g, x: ``brainstate.HiddenState`` (after ``init_state``), shape ``varshape`` or ``(batch,) + varshape``.
        countdown: ``brainstate.ShortTermState``, uint16, pulse steps left per element.
        alpha1, beta1, alpha2, beta2, T, T_duration: the parameters as given (BrainPy's attributes).
        params: :class:`bionmda.jax.Params`, the parameters in the library's units: numbers, or
            arrays of prod(in_size) values (in_size flattened) where values differ per neuron.

    Raises:
        TypeError, ValueError: a bad argument, named (see the module's doc).
    """

    def __init__(
        self,
        in_size: brainstate.typing.Size,
        name: str | None = None,
        alpha1: Any = 2.0 / u.ms,
        beta1: Any = 0.01 / u.ms,
        alpha2: Any = 1.0 / (u.ms * u.mM),
        beta2: Any = 0.5 / u.ms,
        T: Any = 1.0 * u.mM,
        T_dur: Any = 0.5 * u.ms,
        g_initializer: Any | Callable = braintools.init.Constant(0.0 * u.mS),
        x_initializer: Any | Callable = braintools.init.Constant(0.0),
    ):
        super().__init__(name=name, in_size=in_size)
        given = dict(alpha1=alpha1, beta1=beta1, alpha2=alpha2, beta2=beta2, T=T, T_dur=T_dur)
        values = {}
        library = {}  # in the library's units: numbers, or per-unit arrays
        for k, v in given.items():
            library[k] = _parameter(v, k, tuple(self.varshape))  # names a bad shape or value first
            try:
                values[k] = braintools.init.param(v, self.varshape)
            except (ValueError, TypeError) as e:
                raise ValueError(f"{_WHO}: {k} does not fit in_size {self.varshape}: {e}") from e
        # BrainPy's attributes, as BrainPy stores them.
        self.alpha1 = values["alpha1"]
        self.beta1 = values["beta1"]
        self.alpha2 = values["alpha2"]
        self.beta2 = values["beta2"]
        self.T = values["T"]
        self.T_duration = values["T_dur"]
        self.params = _bj.Params(**library)
        self.g_initializer = g_initializer
        self.x_initializer = x_initializer

    def _initial_values(self, batch_size: int | None) -> tuple[Any, jax.Array, jax.Array]:
        shape = tuple(self.varshape) if batch_size is None else (int(batch_size),) + tuple(self.varshape)
        try:
            g = braintools.init.param(self.g_initializer, self.varshape, batch_size)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{_WHO}: g_initializer does not fit the state's shape {shape}: {e}") from e
        try:
            x = braintools.init.param(self.x_initializer, self.varshape, batch_size)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{_WHO}: x_initializer does not fit the state's shape {shape}: {e}") from e
        g_unit = u.get_unit(g)
        if not u.get_unit(x).is_unitless:
            raise ValueError(f"{_WHO}: x_initializer must be dimensionless, got unit {u.get_unit(x)}")
        gm, xm = u.get_mantissa(g), u.get_mantissa(x)

        asked = [d for d in (_float_dtype(gm), _float_dtype(xm)) if d is not None]
        dtype = np.result_type(*asked) if asked else np.dtype(brainstate.environ.dftype())
        if dtype == np.float64 and not jax.config.jax_enable_x64:
            dtype = np.dtype(np.float32)  # what JAX makes of it anyway
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"{_WHO}: states must be float32 or float64, the initializers give {dtype}")

        arrays = []
        for name, m in (("g_initializer", gm), ("x_initializer", xm)):
            if not _is_traced(m):
                a = np.asarray(m, dtype=np.float64)
                bad = ~np.isfinite(a) | (a < 0) | (a > 1)
                if bad.any():
                    raise ValueError(
                        f"{_WHO}: {name} must give values in [0, 1], got {a.ravel()[int(np.argmax(bad.ravel()))]!r}"
                    )
            try:
                arrays.append(jnp.broadcast_to(jnp.asarray(m, dtype=dtype), shape))
            except ValueError as e:
                raise ValueError(f"{_WHO}: {name} gives shape {np.shape(m)}, which does not fit {shape}") from e
        g_state = arrays[0] if g_unit.is_unitless else u.Quantity(arrays[0], unit=g_unit)
        return g_state, arrays[1], jnp.zeros(shape, jnp.uint16)

    def init_state(self, batch_size: int | None = None, **kwargs):
        """Creates the states g, x (HiddenState) and countdown (ShortTermState, no pulse)."""
        g, x, countdown = self._initial_values(batch_size)
        self.g = brainstate.HiddenState(g)
        self.x = brainstate.HiddenState(x)
        self.countdown = brainstate.ShortTermState(countdown)

    def reset_state(self, batch_size: int | None = None, **kwargs):
        """Sets g, x to their initial values and ends every pulse."""
        g, x, countdown = self._initial_values(batch_size)
        self.g.value = g
        self.x.value = x
        self.countdown.value = countdown

    def update(self, pre_spike: Any):
        """One step of dt (``brainstate.environ``): spikes gate the pulse, then x, then g. Returns the new g.

        Args:
            pre_spike: presynaptic spikes, broadcastable to the state's shape; non-zero = a spike
                (bool, 0/1 floats, or brainevent arrays as BrainPy's projections pass them).
        """
        g = self.g.value
        g_unit = u.get_unit(g)
        gm = u.get_mantissa(g)
        xm = u.get_mantissa(self.x.value)
        countdown = self.countdown.value
        shape = jnp.shape(gm)
        spikes = _spikes(pre_spike)
        try:
            spikes = jnp.broadcast_to(spikes, shape)
        except ValueError:
            raise ValueError(
                f"{_WHO}: pre_spike has shape {spikes.shape}, which does not broadcast to the state's {shape}"
            ) from None
        flat = (1,) if len(shape) == 0 else shape  # bionmda.jax needs a unit axis
        if any(isinstance(v, np.ndarray) for v in self.params):
            # Per-neuron parameters: the in_size axes are the unit axis, the rest batch.
            varshape = tuple(self.varshape)
            if shape[len(shape) - len(varshape):] != varshape:
                raise ValueError(
                    f"{_WHO}: the state has shape {shape}, which does not end with in_size {varshape}; "
                    "per-neuron parameters need it"
                )
            flat = shape[:len(shape) - len(varshape)] + (int(np.prod(varshape)),)
        g2, x2, c2 = _bj.step(
            jnp.reshape(gm, flat), jnp.reshape(xm, flat), jnp.reshape(countdown, flat),
            jnp.reshape(spikes, flat), params=self.params, dt=_dt_ms(),
        )
        g2, x2, c2 = (jnp.reshape(a, shape) for a in (g2, x2, c2))
        self.x.value = x2
        self.countdown.value = c2
        self.g.value = g2 if g_unit.is_unitless else u.Quantity(g2, unit=g_unit)
        return self.g.value

