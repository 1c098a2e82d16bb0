"""bionmda.jax: the XLA FFI step and window against bionmda.Population (bit for
bit, same backend), the float64 reference, the JAX transformations, and every
bad input."""

import os

# Two CPU devices for the shard_map test; only takes effect if JAX has not
# started yet in this process (the test skips otherwise).
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import bionmda  # noqa: E402
import bionmda.jax as bj  # noqa: E402
from conftest import TOL, Reference, assert_close  # noqa: E402

jax.config.update("jax_enable_x64", True)

DTYPE = {"float32": np.float32, "float64": np.float64}
# Not BrainPy's defaults, so a parameter that did not arrive would show; dt
# divides T_dur exactly (a 3-step pulse).
PARAMS = bj.Params(alpha1=1.7, beta1=0.03, alpha2=1.3, beta2=0.45, T=1.2, T_dur=0.75)
DT = 0.25


def initial(shape, precision, seed=3):
    """Random g, x in [0, 0.6) (never all zero: that would hide unwritten outputs) and zero countdown."""
    rng = np.random.default_rng(seed)
    d = DTYPE[precision]
    return (rng.uniform(0, 0.6, shape).astype(d), rng.uniform(0, 0.6, shape).astype(d),
            np.zeros(shape, np.uint16))


def spike_train(steps, shape, seed=5, p=0.15):
    return np.random.default_rng(seed).random((steps,) + tuple(shape)) < p


def population_like(g, x, precision, backend="cpu"):
    """A Population with the state g, x (shape (..., N), flattened to [B][N]) and PARAMS."""
    n = g.shape[-1]
    b = int(np.prod(g.shape[:-1], dtype=np.int64)) if g.ndim > 1 else 1
    return bionmda.Population(n, b, DT, precision, backend, g0=np.asarray(g, np.float64).reshape(b, n),
                              x0=np.asarray(x, np.float64).reshape(b, n), **PARAMS._asdict())


def assert_same_bits(state, pop, shape):
    """g, x and countdown equal the Population's bit for bit (compared as unsigned integers)."""
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


# --- Bits: the FFI step and window are the library's --------------------------


@pytest.mark.parametrize("shape", [(37,), (3, 37), (2, 3, 5)])
def test_step_equals_population_bit_for_bit(precision, shape):
    g, x, c = initial(shape, precision)
    pop = population_like(g, x, precision)
    state = (g, x, c)
    train = spike_train(30, shape)
    stepper = jax.jit(lambda g, x, c, s: bj.step(g, x, c, s, PARAMS, DT))
    for k, spikes in enumerate(train):
        s = spikes if k % 2 else spikes.astype(np.uint8)  # bool and uint8 masks
        state = stepper(*state, s)
        pop.step(spikes.reshape(pop.batch, pop.units).astype(np.uint8))
    assert np.count_nonzero(np.asarray(state[2])) > 0, "pulses under way: the countdown path is exercised"
    assert_same_bits(state, pop, shape)


def test_step_eager_without_jit(precision):
    shape = (4, 9)
    g, x, c = initial(shape, precision)
    pop = population_like(g, x, precision)
    state = (jnp.asarray(g), jnp.asarray(x), jnp.asarray(c))
    for spikes in spike_train(6, shape):
        state = bj.step(*state, spikes, PARAMS, DT)
        pop.step(spikes.astype(np.uint8))
    assert_same_bits(state, pop, shape)


def test_float64_matches_the_reference_transcription():
    shape = (2, 23)
    g, x, c = initial(shape, "float64")
    ref = Reference(23, batch=2, dt=DT, g0=g, x0=x, **PARAMS._asdict())
    state = (g, x, c)
    for spikes in spike_train(40, shape, seed=9):
        state = bj.step(*state, spikes, PARAMS, DT)
        ref.step(spikes)
    assert_close(state[0], ref.g, TOL["float64"], "g")
    assert_close(state[1], ref.x, TOL["float64"], "x")
    np.testing.assert_array_equal(np.asarray(state[2]), ref.countdown)


def test_default_params_are_brainpys():
    shape = (5,)
    g, x, c = initial(shape, "float64")
    ref = Reference(5, dt=0.1, g0=g, x0=x)
    spikes = np.array([1, 0, 1, 0, 1], bool)
    state = bj.step(g, x, c, spikes)  # params=None, dt=0.1
    ref.step(spikes)
    assert_close(state[0], ref.g[0], TOL["float64"], "g")


@pytest.mark.parametrize("K", [1, 7])
def test_window_equals_population_window_and_steps(precision, K):
    shape = (3, 41)
    g, x, c = initial(shape, precision)
    train = spike_train(2 * K, shape, seed=K)
    pop = population_like(g, x, precision)
    win = jax.jit(lambda g, x, c, s: bj.window(g, x, c, s, PARAMS, DT))
    state = (g, x, c)
    for w in (train[:K], train[K:]):
        state = win(*state, w)
        pop.step_window(K, w.astype(np.uint8))
    assert_same_bits(state, pop, shape)
    # And K single steps of the FFI give the same bits.
    single = (g, x, c)
    for s in train:
        single = bj.step(*single, s, PARAMS, DT)
    for a, b in zip(state, single):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_window_of_zero_steps_returns_the_state():
    g, x, c = initial((2, 6), "float32")
    out = bj.window(g, x, c, np.zeros((0, 2, 6), bool), PARAMS, DT)
    for a, b in zip(out, (g, x, c)):
        np.testing.assert_array_equal(np.asarray(a), b)


def test_empty_state_is_fine():
    g, x, c = bj.zeros_state((3, 0))
    out = bj.step(g, x, c, np.zeros((3, 0), bool))
    assert all(a.shape == (3, 0) for a in out)


# --- Transformations ----------------------------------------------------------


def count_ffi_calls(jaxpr):
    text = str(jaxpr)
    return text.count("ffi_call")


@pytest.mark.parametrize("spikes_axis", [0, None])
def test_vmap_step_equals_a_loop_and_is_one_call(precision, spikes_axis):
    V, shape = 4, (3, 11)
    g, x, c = initial((V,) + shape, precision)
    train = spike_train(3, (V,) + shape, seed=2)
    f = jax.jit(jax.vmap(lambda g, x, c, s: bj.step(g, x, c, s, PARAMS, DT), in_axes=(0, 0, 0, spikes_axis)))
    looped = [tuple(a[v] for a in (g, x, c)) for v in range(V)]
    batched = (g, x, c)
    for spikes in train:
        s = spikes if spikes_axis == 0 else spikes[0]
        batched = f(*batched, s)
        looped = [bj.step(*looped[v], spikes[v] if spikes_axis == 0 else spikes[0], PARAMS, DT) for v in range(V)]
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(batched[i]), np.stack([np.asarray(l[i]) for l in looped]))
    jaxpr = jax.make_jaxpr(jax.vmap(lambda g, x, c, s: bj.step(g, x, c, s, PARAMS, DT),
                                    in_axes=(0, 0, 0, spikes_axis)))(g, x, c, s)
    assert count_ffi_calls(jaxpr) == 1, jaxpr


@pytest.mark.parametrize("spikes_axis", [0, 1, None])
def test_vmap_window_equals_a_loop_and_is_one_call(spikes_axis):
    V, K, shape = 3, 4, (2, 13)
    g, x, c = initial((V,) + shape, "float32")
    train = spike_train(K, (V,) + shape, seed=4)  # [K][V]...
    if spikes_axis == 0:
        s_in = np.moveaxis(train, 1, 0)  # [V][K]...
    elif spikes_axis == 1:
        s_in = train  # [K][V]...
    else:
        s_in = train[:, 0]
    fn = jax.vmap(lambda g, x, c, s: bj.window(g, x, c, s, PARAMS, DT), in_axes=(0, 0, 0, spikes_axis))
    out = jax.jit(fn)(g, x, c, s_in)
    for v in range(V):
        s_v = train[:, v] if spikes_axis is not None else train[:, 0]
        ref = bj.window(g[v], x[v], c[v], s_v, PARAMS, DT)
        for i in range(3):
            np.testing.assert_array_equal(np.asarray(out[i][v]), np.asarray(ref[i]), err_msg=f"batch {v}, output {i}")
    assert count_ffi_calls(jax.make_jaxpr(fn)(g, x, c, s_in)) == 1


def test_nested_vmap():
    shape = (2, 3, 7)
    g, x, c = initial(shape, "float32")
    spikes = spike_train(1, shape)[0]
    f = jax.vmap(jax.vmap(lambda g, x, c, s: bj.step(g, x, c, s, PARAMS, DT)))
    out = f(g, x, c, spikes)
    ref = bj.step(g, x, c, spikes, PARAMS, DT)  # the same elements, one flat batch
    for a, b in zip(out, ref):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_scan_equals_window_and_population(precision):
    shape, K = (3, 17), 12
    g, x, c = initial(shape, precision)
    train = spike_train(K, shape, seed=8)

    def body(state, spikes):
        state = bj.step(*state, spikes, PARAMS, DT)
        return state, state[0]

    final, trace = jax.jit(lambda s0, t: lax.scan(body, s0, t))((g, x, c), train)
    pop = population_like(g, x, precision)
    for k, s in enumerate(train):
        pop.step(s.astype(np.uint8))
        np.testing.assert_array_equal(np.asarray(trace[k]), pop.g.reshape(shape), err_msg=f"step {k}")
    assert_same_bits(final, pop, shape)
    win = bj.window(g, x, c, train, PARAMS, DT)
    for a, b in zip(final, win):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_donated_state_is_updated_in_place():
    shape = (4, 64)
    g, x, c = (jnp.asarray(a) for a in initial(shape, "float32"))
    expected = bj.step(g, x, c, spike_train(1, shape)[0], PARAMS, DT)
    f = jax.jit(lambda g, x, c, s: bj.step(g, x, c, s, PARAMS, DT), donate_argnums=(0, 1, 2))
    ptr = g.unsafe_buffer_pointer()
    out = f(g, x, c, spike_train(1, shape)[0])
    for a, b in zip(out, expected):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert out[0].unsafe_buffer_pointer() == ptr, "the output g is the donated input's buffer"


def test_unaliased_outputs_are_copied_in_first():
    # A direct call of the target without input_output_aliases: XLA gives
    # fresh output buffers, the handler copies the state in, then steps there.
    shape = (3, 10)
    g, x, c = initial(shape, "float32")
    spikes = spike_train(1, shape)[0]
    out_types = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in (g, x, c))
    attrs = {k: np.float64(v) for k, v in zip(bj.Params._fields + ("dt",), tuple(PARAMS) + (DT,))}
    out = jax.ffi.ffi_call("bionmda_step", out_types)(g, x, c, spikes, **attrs)
    ref = bj.step(g, x, c, spikes, PARAMS, DT)
    for a, b in zip(out, ref):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    pop = population_like(g, x, "float32")
    pop.step(spikes.astype(np.uint8))
    assert_same_bits(out, pop, shape)


def test_shard_map_steps_each_shard():
    devices = jax.devices("cpu")
    if len(devices) < 2:
        pytest.skip("needs 2 CPU devices (XLA_FLAGS was set after JAX started)")
    from jax.sharding import Mesh, PartitionSpec as P

    try:
        shard_map = jax.shard_map
    except AttributeError:  # older JAX
        from jax.experimental.shard_map import shard_map
    mesh = Mesh(np.array(devices[:2]), ("b",))
    shape = (4, 21)
    g, x, c = initial(shape, "float32")
    train = spike_train(5, shape, seed=12)
    f = jax.jit(shard_map(lambda g, x, c, s: bj.window(g, x, c, s, PARAMS, DT), mesh=mesh,
                          in_specs=(P("b"), P("b"), P("b"), P(None, "b")), out_specs=(P("b"), P("b"), P("b"))))
    out = f(g, x, c, train)
    pop = population_like(g, x, "float32")
    pop.step_window(5, train.astype(np.uint8))
    assert_same_bits(out, pop, shape)


# --- Bad input: a clear error naming the argument, raised at trace time -------


def good(shape=(2, 5), precision="float32"):
    g, x, c = initial(shape, precision)
    return g, x, c, np.zeros(shape, bool)


@pytest.mark.parametrize(
    "change, error, needle",
    [
        (lambda a: (a[0].astype(np.int32),) + a[1:], TypeError, "g must be float32 or float64, got int32"),
        (lambda a: (a[0].astype(np.float16),) + a[1:], TypeError, "g must be float32 or float64, got float16"),
        (lambda a: (a[0], a[1].astype(np.float64)) + a[2:], TypeError, "x must have g's dtype float32, got float64"),
        (lambda a: a[:2] + (a[2].astype(np.int32), a[3]), TypeError, "countdown must be uint16, got int32"),
        (lambda a: a[:3] + (a[3].astype(np.float32),), TypeError, "spikes must be bool or uint8, got float32"),
        (lambda a: a[:3] + (a[3].astype(np.int8),), TypeError, "spikes must be bool or uint8, got int8"),
        (lambda a: (a[0], a[1][:, :4]) + a[2:], ValueError, "x has shape (2, 4); g has (2, 5)"),
        (lambda a: a[:2] + (a[2].T, a[3]), ValueError, "countdown has shape (5, 2); g has (2, 5)"),
        (lambda a: a[:3] + (a[3][None],), ValueError, "spikes have shape (1, 2, 5)"),
        (lambda a: (np.float32(0.5), np.float32(0.5), np.uint16(0), np.bool_(False)), ValueError, "at least one axis"),
        (lambda a: (list(a[0]),) + a[1:], TypeError, "g must be an array, got list"),
    ],
)
def test_bad_arrays_are_named(change, error, needle):
    args = change(good())
    with pytest.raises(error, match=None) as info:
        bj.step(*args, PARAMS, DT)
    assert needle in str(info.value), str(info.value)
    with pytest.raises(error):  # and while tracing, before anything runs
        jax.jit(lambda *a: bj.step(*a, PARAMS, DT))(*args)


def test_bad_window_shape():
    g, x, c, s = good()
    for spikes, needle in ((np.zeros((2, 5), bool), "window spikes have shape (2, 5)"),
                           (np.zeros((3, 2, 4), bool), "window spikes have shape (3, 2, 4)")):
        with pytest.raises(ValueError) as info:
            bj.window(g, x, c, spikes, PARAMS, DT)
        assert needle in str(info.value)


@pytest.mark.parametrize(
    "params, dt, needle",
    [
        ({"alpha1": float("nan")}, 0.1, "parameter alpha1 must be finite and >= 0, got nan"),
        ({"beta1": float("inf")}, 0.1, "parameter beta1 must be finite and >= 0, got inf"),
        ({"alpha2": -1.0}, 0.1, "parameter alpha2 must be finite and >= 0, got -1"),
        ({"beta2": -0.5}, 0.1, "parameter beta2 must be finite and >= 0, got -0.5"),
        ({"T": float("nan")}, 0.1, "parameter T must be finite and >= 0, got nan"),
        ({"T_dur": -0.5}, 0.1, "parameter T_dur must be finite and >= 0, got -0.5"),
        ({"T_dur": 1e9}, 0.1, "at most 65535 are supported"),
        ({}, 0.0, "dt must be finite and > 0 ms, got 0"),
        ({}, -0.1, "dt must be finite and > 0 ms, got -0.1"),
        ({}, float("nan"), "dt must be finite and > 0 ms, got nan"),
        ({"gamma": 1.0}, 0.1, "unknown parameter 'gamma'"),
        ({"alpha1": np.ones(4)}, 0.1, "params.alpha1 has shape (4,), which does not broadcast to one value per unit"),
    ],
)
def test_bad_parameters_are_named(params, dt, needle):
    for fn, spikes in ((bj.step, np.zeros((2, 5), bool)), (bj.window, np.zeros((3, 2, 5), bool))):
        g, x, c, _ = good()
        with pytest.raises(ValueError) as info:
            fn(g, x, c, spikes, params, dt)
        assert needle in str(info.value), str(info.value)


def test_traced_parameters_are_refused():
    g, x, c, s = good()
    with pytest.raises(TypeError, match="params.alpha1 must be a static number"):
        jax.jit(lambda a: bj.step(g, x, c, s, {"alpha1": a}, DT))(1.0)
    with pytest.raises(TypeError, match="dt must be a static number"):
        jax.jit(lambda d: bj.step(g, x, c, s, PARAMS, d))(0.1)
    with pytest.raises(TypeError, match="params must be a bionmda.jax.Params or a mapping"):
        bj.step(g, x, c, s, [1.0, 2.0], DT)


def test_float64_needs_x64():
    g, x, c, s = good(precision="float64")
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(TypeError, match="jax_enable_x64"):
            bj.step(g, x, c, s, PARAMS, DT)
    finally:
        jax.config.update("jax_enable_x64", True)


def test_the_handler_checks_a_direct_call_too():
    # Past the wrapper (a direct ffi_call), the C++ handler refuses a mismatch
    # before stepping, naming it.
    g, x, c, s = good()
    out_types = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in (g, x, c))
    attrs = {k: np.float64(v) for k, v in zip(bj.Params._fields + ("dt",), tuple(PARAMS) + (DT,))}
    call = jax.ffi.ffi_call("bionmda_step", out_types)
    with pytest.raises(Exception, match="bionmda.jax: countdown must be uint16, got int32"):
        call(g, x, c.astype(np.int32), s, **attrs)
    with pytest.raises(Exception, match=r"bionmda.jax: spikes have shape \(2, 4\); g has \(2, 5\)"):
        call(g, x, c, s[:, :4], **attrs)
    bad = dict(attrs, alpha1=np.float64(-1.0))
    with pytest.raises(Exception, match="parameter alpha1 must be finite and >= 0, got -1"):
        call(g, x, c, s, **bad)


# --- CUDA: the same bits as the CUDA backend ----------------------------------


def gpu_device():
    if not bj.cuda_compiled():
        pytest.skip("bionmda was built without CUDA: no CUDA FFI handler")
    if not bionmda.cuda_available():
        pytest.skip(f"no usable CUDA device: {bionmda.cuda_unavailable_reason()}")
    try:
        return jax.devices("cuda")[0]
    except RuntimeError as e:
        pytest.skip(f"JAX has no CUDA platform (install jax[cuda12] for GPU tests): {e}")


@pytest.mark.parametrize("shape", [(1000,), (3, 1001)])
def test_cuda_step_and_window_equal_the_cuda_backend(precision, shape):
    dev = gpu_device()
    g, x, c = initial(shape, precision)
    train = spike_train(12, shape, seed=21)
    state = tuple(jax.device_put(a, dev) for a in (g, x, c))
    step = jax.jit(lambda g, x, c, s: bj.step(g, x, c, s, PARAMS, DT))
    win = jax.jit(lambda g, x, c, s: bj.window(g, x, c, s, PARAMS, DT))
    pop = population_like(g, x, precision, backend="cuda")
    for s in train[:6]:
        state = step(*state, jax.device_put(s, dev))
        pop.step(s.astype(np.uint8))
    state = win(*state, jax.device_put(train[6:], dev))
    pop.step_window(6, train[6:].astype(np.uint8))
    assert_same_bits(state, pop, shape)
    # vmap and scan on the GPU too.
    body = lambda st, s: (bj.step(*st, s, PARAMS, DT), None)  # noqa: E731
    scanned, _ = jax.jit(lambda st, t: lax.scan(body, st, t))(tuple(jax.device_put(a, dev) for a in (g, x, c)),
                                                            jax.device_put(train, dev))
    for a, b in zip(scanned, state):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
