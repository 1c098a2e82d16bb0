"""bionmda.jax with per-unit parameters (arrays of one value per unit): the
FFI step and window against bionmda.Population built with the same arrays
(bit for bit, CPU backend), vmap and scan, the scalar path left as it was, and
every bad input (named, raised at trace time)."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import bionmda  # noqa: E402
import bionmda.jax as bj  # noqa: E402

jax.config.update("jax_enable_x64", True)

DTYPE = {"float32": np.float32, "float64": np.float64}
DT = 0.25  # divides every T_dur below exactly: pulses of 0, 1, 2, 3 and 8 steps


def unit_params(n, seed=7):
    """Per-unit alpha1, beta1, T and T_dur (zeros and non-zeros mixed); alpha2 one number; beta2 a (1,) array."""
    rng = np.random.default_rng(seed)
    T_dur = rng.choice([0.0, 0.25, 0.5, 0.75, 2.0], n)
    T_dur[: min(n, 2)] = [0.0, 0.75][: min(n, 2)]  # both kinds present whatever the draw
    return bj.Params(alpha1=rng.uniform(0.5, 3.0, n), beta1=rng.uniform(0.005, 0.05, n), alpha2=1.3,
                     beta2=np.array([0.45]), T=rng.uniform(0.5, 2.0, n), T_dur=T_dur)


def population_kwargs(params, n):
    """The same parameters as bionmda.Population takes them: numbers, or arrays of N values."""
    return {k: (np.broadcast_to(np.asarray(v, np.float64), (n,)).copy() if np.ndim(v) else float(v))
            for k, v in params._asdict().items()}


def initial(shape, precision, seed=3):
    rng = np.random.default_rng(seed)
    d = DTYPE[precision]
    return (rng.uniform(0, 0.6, shape).astype(d), rng.uniform(0, 0.6, shape).astype(d),
            np.zeros(shape, np.uint16))


def spike_train(steps, shape, seed=5, p=0.15):
    return np.random.default_rng(seed).random((steps,) + tuple(shape)) < p


def population_like(g, x, precision, params, dt=DT):
    n = g.shape[-1]
    b = int(np.prod(g.shape[:-1], dtype=np.int64)) if g.ndim > 1 else 1
    return bionmda.Population(n, b, dt, precision, "cpu", g0=np.asarray(g, np.float64).reshape(b, n),
                              x0=np.asarray(x, np.float64).reshape(b, n), **population_kwargs(params, n))


def assert_same_bits(state, pop, shape):
    for name, got, want in zip(("g", "x", "countdown"), state, (pop.g, pop.x, pop.countdown)):
        got = np.ascontiguousarray(np.asarray(got))
        want = np.ascontiguousarray(np.asarray(want).reshape(shape))
        assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} vs {want.dtype}"
        as_bits = np.dtype(f"u{got.itemsize}")
        bad = np.flatnonzero(got.reshape(-1).view(as_bits) != want.reshape(-1).view(as_bits))
        if bad.size:
            k = bad[0]
            raise AssertionError(f"{name}[{k}] = {got.reshape(-1)[k]!r}, Population has {want.reshape(-1)[k]!r} "
                                 f"({bad.size} elements differ)")


def first_unit_params(params):
    """Every parameter as unit 0's value: what a handler that ignored the arrays would use."""
    return bj.Params(**{k: float(np.ravel(v)[0]) for k, v in params._asdict().items()})


# --- Bits: per-unit parameters give the library's own results ------------------


@pytest.mark.parametrize("shape", [(37,), (3, 37), (2, 3, 5)])
def test_step_equals_population_bit_for_bit(precision, shape):
    params = unit_params(shape[-1])
    g, x, c = initial(shape, precision)
    pop = population_like(g, x, precision, params)
    state = (g, x, c)
    stepper = jax.jit(lambda g, x, c, s: bj.step(g, x, c, s, params, DT))
    for spikes in spike_train(30, shape):
        state = stepper(*state, spikes)
        pop.step(spikes.reshape(pop.batch, pop.units).astype(np.uint8))
    assert_same_bits(state, pop, shape)
    # The arrays mattered: unit 0's values for every unit give other results.
    other = initial(shape, precision)
    for spikes in spike_train(30, shape):
        other = bj.step(*other, spikes, first_unit_params(params), DT)
    assert not np.array_equal(np.asarray(other[0]), np.asarray(state[0]))


def test_pulse_lengths_follow_each_units_T_dur():
    n = 6
    params = bj.Params(T_dur=np.array([0.0, 0.25, 0.5, 0.0, 2.0, 0.75]))
    g, x, c = bj.zeros_state((2, n))
    g, x, c = bj.step(g, x, c, np.ones((2, n), bool), params, DT)
    # After the spike's own step: n - 1 steps left; T_dur = 0: no pulse, no x.
    np.testing.assert_array_equal(np.asarray(c), np.tile([0, 0, 1, 0, 7, 2], (2, 1)))
    assert np.all(np.asarray(x)[:, [0, 3]] == 0) and np.all(np.asarray(x)[:, [1, 2, 4, 5]] > 0)


@pytest.mark.parametrize("K", [1, 7])
def test_window_equals_population_window_and_steps(precision, K):
    shape = (3, 29)
    params = unit_params(shape[-1], seed=11)
    g, x, c = initial(shape, precision)
    train = spike_train(K, shape, seed=9, p=0.3)
    out = jax.jit(lambda g, x, c, s: bj.window(g, x, c, s, params, DT))(g, x, c, train)
    pop = population_like(g, x, precision, params)
    pop.step_window(K, train.reshape(K, pop.batch, pop.units).astype(np.uint8))
    assert_same_bits(out, pop, shape)
    stepped = (g, x, c)
    for s in train:
        stepped = bj.step(*stepped, s, params, DT)
    for a, b in zip(out, stepped):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_one_unit():
    # N = 1: one value is both "for all units" and "per unit".
    params = bj.Params(alpha1=np.array([1.1]), T_dur=0.5)
    g, x, c = initial((4, 1), "float64")
    pop = population_like(g, x, "float64", params)
    state = (g, x, c)
    for s in spike_train(20, (4, 1), p=0.3):
        state = bj.step(*state, s, params, DT)
        pop.step(s.reshape(4, 1).astype(np.uint8))
    assert_same_bits(state, pop, (4, 1))


def test_two_parameter_sets_in_one_program_stay_apart():
    """Two call sites, same shape and dt, other values: each its own population (the cache's key)."""
    shape = (2, 16)
    pa, pb = unit_params(16, seed=1), unit_params(16, seed=2)
    g, x, c = initial(shape, "float32")
    train = spike_train(12, shape, seed=3)

    @jax.jit
    def both(sa, sb, s):
        return bj.step(*sa, s, pa, DT), bj.step(*sb, s, pb, DT)

    sa = sb = (g, x, c)
    pop_a, pop_b = population_like(g, x, "float32", pa), population_like(g, x, "float32", pb)
    for s in train:
        sa, sb = both(sa, sb, s)
        pop_a.step(s.astype(np.uint8))
        pop_b.step(s.astype(np.uint8))
    assert_same_bits(sa, pop_a, shape)
    assert_same_bits(sb, pop_b, shape)


def test_arrays_are_read_at_each_call():
    """An array changed in place between eager calls is used as it is at the call (no stale cache)."""
    n = 9
    alpha1 = np.full(n, 2.0)
    alpha1[3] = 0.7
    g, x, c = initial((n,), "float64")
    s = np.ones(n, bool)
    first = bj.step(g, x, c, s, {"alpha1": alpha1}, DT)
    alpha1[3] = 2.9
    second = bj.step(g, x, c, s, {"alpha1": alpha1}, DT)
    for state, value in ((first, 0.7), (second, 2.9)):
        a = alpha1.copy()
        a[3] = value
        pop = population_like(g, x, "float64", bj.Params(alpha1=a))
        pop.step(s.astype(np.uint8))
        assert_same_bits(state, pop, (n,))


def test_scalars_keep_the_scalar_target_and_arrays_take_the_per_unit_one():
    g, x, c = initial((2, 5), "float32")
    s = np.zeros((2, 5), bool)
    for params, target in ((bj.Params(), "@bionmda_step("), (bj.Params(beta1=np.linspace(0, 1, 5)), "@bionmda_step_units(")):
        text = jax.jit(lambda g, x, c, s: bj.step(g, x, c, s, params, DT)).lower(g, x, c, s).as_text()
        assert target in text, text
    text = jax.jit(lambda g, x, c, s: bj.step(g, x, c, s, bj.Params(), DT)).lower(g, x, c, s).as_text()
    assert "bionmda_step_units" not in text and "params_key" not in text


# --- Transformations -------------------------------------------------------------


def count_ffi_calls(jaxpr):
    return str(jaxpr).count("ffi_call")


@pytest.mark.parametrize("spikes_axis", [0, None])
def test_vmap_step_equals_a_loop_and_is_one_call(precision, spikes_axis):
    V, shape = 4, (3, 11)
    params = unit_params(shape[-1], seed=4)
    g, x, c = initial((V,) + shape, precision)
    train = spike_train(5, (V,) + shape, seed=2)
    fn = jax.vmap(lambda g, x, c, s: bj.step(g, x, c, s, params, DT), in_axes=(0, 0, 0, spikes_axis))
    f = jax.jit(fn)
    looped = [tuple(a[v] for a in (g, x, c)) for v in range(V)]
    batched = (g, x, c)
    for spikes in train:
        batched = f(*batched, spikes if spikes_axis == 0 else spikes[0])
        looped = [bj.step(*looped[v], spikes[v] if spikes_axis == 0 else spikes[0], params, DT) for v in range(V)]
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(batched[i]), np.stack([np.asarray(l[i]) for l in looped]))
    assert count_ffi_calls(jax.make_jaxpr(fn)(g, x, c, train[0] if spikes_axis == 0 else train[0][0])) == 1
    # And the loop is the library's.
    pop = population_like(g, x, precision, params)
    for spikes in train:
        s = spikes if spikes_axis == 0 else np.broadcast_to(spikes[0], spikes.shape)
        pop.step(s.reshape(pop.batch, pop.units).astype(np.uint8))
    assert_same_bits(batched, pop, (V,) + shape)


@pytest.mark.parametrize("spikes_axis", [0, 1])
def test_vmap_window_equals_a_loop_and_is_one_call(spikes_axis):
    V, K, shape = 3, 4, (2, 13)
    params = unit_params(shape[-1], seed=8)
    g, x, c = initial((V,) + shape, "float32")
    train = spike_train(K, (V,) + shape, seed=4, p=0.3)  # [K][V]...
    s_in = np.moveaxis(train, 1, 0) if spikes_axis == 0 else train
    fn = jax.vmap(lambda g, x, c, s: bj.window(g, x, c, s, params, DT), in_axes=(0, 0, 0, spikes_axis))
    out = jax.jit(fn)(g, x, c, s_in)
    for v in range(V):
        ref = bj.window(g[v], x[v], c[v], train[:, v], params, DT)
        for i in range(3):
            np.testing.assert_array_equal(np.asarray(out[i][v]), np.asarray(ref[i]), err_msg=f"batch {v}, output {i}")
    assert count_ffi_calls(jax.make_jaxpr(fn)(g, x, c, s_in)) == 1


def test_scan_equals_population(precision):
    shape, K = (3, 17), 40
    params = unit_params(shape[-1], seed=5)
    g, x, c = initial(shape, precision)
    train = spike_train(K, shape, seed=6)
    body = lambda st, s: (bj.step(*st, s, params, DT), None)  # noqa: E731
    out, _ = jax.jit(lambda st, t: lax.scan(body, st, t))((g, x, c), train)
    pop = population_like(g, x, precision, params)
    for s in train:
        pop.step(s.reshape(pop.batch, pop.units).astype(np.uint8))
    assert_same_bits(out, pop, shape)


# --- Bad input: named, raised at trace time, before anything runs ------------------


def good(shape=(2, 5), precision="float32"):
    g, x, c = initial(shape, precision)
    return g, x, c


@pytest.mark.parametrize(
    "params, dt, error, needle",
    [
        ({"alpha1": np.ones(4)}, 0.25, ValueError,
         "params.alpha1 has shape (4,), which does not broadcast to one value per unit, (5,)"),
        ({"beta1": np.ones((2, 5))}, 0.25, ValueError, "params.beta1 has shape (2, 5), which does not broadcast"),
        ({"T": np.ones((5, 1))}, 0.25, ValueError, "params.T has shape (5, 1)"),
        ({"alpha2": np.array([1.0, 1.0, np.nan, 1.0, 1.0])}, 0.25, ValueError,
         "parameter alpha2[2] must be finite and >= 0, got nan"),
        ({"beta2": np.array([0.5, np.inf, 0.5, 0.5, 0.5])}, 0.25, ValueError,
         "parameter beta2[1] must be finite and >= 0, got inf"),
        ({"T": np.array([1.0, 1.0, 1.0, -1.0, 1.0])}, 0.25, ValueError, "parameter T[3] must be finite and >= 0, got -1"),
        ({"T_dur": np.array([0.5, 0.0, 0.5, 0.5, -0.25])}, 0.25, ValueError,
         "parameter T_dur[4] must be finite and >= 0, got -0.25"),
        ({"T_dur": np.array([0.5, 0.0, 0.5, 1e5, 0.5])}, 0.25, ValueError, "(parameter T_dur[3])"),
        ({"alpha1": np.linspace(1, 2, 5)}, float("nan"), ValueError, "dt must be finite and > 0 ms, got nan"),
        ({"alpha1": np.ones(5, complex)}, 0.25, TypeError, "params.alpha1 must be real"),
    ],
)
def test_bad_unit_parameters_are_named(params, dt, error, needle):
    for fn, spikes in ((bj.step, np.zeros((2, 5), bool)), (bj.window, np.zeros((3, 2, 5), bool))):
        g, x, c = good()
        with pytest.raises(error) as info:
            fn(g, x, c, spikes, params, dt)
        assert needle in str(info.value), str(info.value)
        with pytest.raises(error):  # while tracing, before anything runs
            jax.jit(lambda g, x, c, s: fn(g, x, c, s, params, dt))(g, x, c, spikes)


def test_pulse_longer_than_65535_steps_in_one_unit():
    g, x, c = good()
    T_dur = np.array([0.5, 0.5, 0.25 * 65535, 0.25 * 65536, 0.5])  # unit 2 fits exactly, unit 3 does not
    with pytest.raises(ValueError) as info:
        bj.step(g, x, c, np.zeros((2, 5), bool), {"T_dur": T_dur}, 0.25)
    assert "at most 65535" in str(info.value) and "T_dur[3]" in str(info.value), str(info.value)
    T_dur[3] = 0.5
    bj.step(g, x, c, np.zeros((2, 5), bool), {"T_dur": T_dur}, 0.25)  # 65535 steps: accepted


def test_traced_arrays_are_refused():
    g, x, c = good()
    s = np.zeros((2, 5), bool)
    with pytest.raises(TypeError, match="params.T_dur must be a static number or a concrete array"):
        jax.jit(lambda a: bj.step(g, x, c, s, {"T_dur": a}, DT))(jnp.full(5, 0.5))
    with pytest.raises(TypeError, match="params.beta1 must be a static number or a concrete array"):
        jax.jit(lambda a: bj.window(g, x, c, s[None], {"beta1": a}, DT))(jnp.full(5, 0.5))


def test_the_handler_checks_a_direct_call_too():
    """Past the wrapper: a wrong number of values, and a key that belongs to other values, are refused."""
    g, x, c = good(shape=(2, 5))
    s = np.zeros((2, 5), bool)
    out_types = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in (g, x, c))
    call = jax.ffi.ffi_call("bionmda_step_units", out_types)
    p = bj._unit_params(bj._params(bj.Params(alpha1=np.linspace(1, 2, 5)), DT), 5)
    attrs = p.attributes()
    call(g, x, c, s, **attrs)  # builds the population for this key
    with pytest.raises(Exception, match=r"bionmda.jax: alpha1 has 3 values; expected 1 or one per unit, N = 5"):
        call(g, x, c, s, **dict(attrs, alpha1=np.ones(3)))
    other = dict(attrs, alpha1=np.linspace(1, 3, 5))  # other values under the first values' key
    with pytest.raises(Exception, match="belongs to other parameter values"):
        call(g, x, c, s, **other)
    with pytest.raises(Exception, match="parameter beta1\\[1\\] must be finite and >= 0, got -1"):
        call(g, x, c, s, **dict(attrs, beta1=np.array([0.1, -1.0, 0.1, 0.1, 0.1]), params_key=np.int64(12345)))
