"""bionmda.brainpy.BioNMDA against the real brainpy.state.BioNMDA (BrainPy 2.9).

Both models run side by side in ONE ``brainstate.transform.for_loop`` (a
jitted ``lax.scan``), on the same spikes, and every step's g and x are
compared: float64 within 1e-12, float32 within 2e-6 (docs/validation.md's
float32 tolerance: a few dozen float32 roundings of values <= 1; both sides
evaluate the same exponential-Euler formulas).

Pulse convention: BrainPy gates the transmitter with float times,
``(t - t_spike) < T_dur``; the library counts n = round(T_dur/dt) steps
(docs/MODEL.md). They agree when dt divides T_dur exactly in binary, so every
scenario uses dt = 0.125 or 0.25 ms with T_dur a multiple of it. The time t is
precomputed on the host (``ts = arange(n) * dt``, exact in binary) and fed to
the loop as data, so BrainPy's ``t - t_spike`` never depends on how XLA fuses
or contracts (FMA) an in-loop ``i * dt``; the drop-in does not read t at all.

Skipped, with the reason, when brainpy/brainstate/braintools/brainunit are
not importable (BrainPy 2.9 needs Python >= 3.12).
"""

import importlib
import zlib

import jax
import numpy as np
import pytest

# Before brainstate is imported: brainstate reads its base precision from this
# flag once, at import, and every precision context it exits restores it
# process-wide (jax_enable_x64), which the other test modules rely on.
jax.config.update("jax_enable_x64", True)

_missing = []
for _name in ("brainpy", "brainstate", "braintools", "brainunit", "brainevent"):
    try:
        importlib.import_module(_name)
    except ImportError as _e:  # pragma: no cover - depends on the environment
        _missing.append(f"{_name} ({_e})")
if _missing:  # pragma: no cover
    pytest.skip("bionmda.brainpy needs " + ", ".join(_missing) + "; pip install './python[test]' on Python >= 3.12",
                allow_module_level=True)

import brainpy  # noqa: E402
import brainstate  # noqa: E402
import braintools  # noqa: E402
import brainunit as u  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import bionmda.brainpy as bb  # noqa: E402

@pytest.fixture(autouse=True)
def _keep_x64():
    """brainstate's precision contexts switch jax_enable_x64 process-wide; leave it as the other modules expect."""
    yield
    jax.config.update("jax_enable_x64", True)


# float64: the same formulas on both sides (measured: 0 or 1 ulp); float32:
# docs/validation.md's tolerance for float32 against BrainPy.
TOL = {64: 1e-12, 32: 2e-6}


def _mantissa(a):
    return np.asarray(u.get_mantissa(a), dtype=np.float64)


def _in_precision(v, precision):
    """A parameter array in the run's float type: BrainPy's float32 update refuses float64 arrays."""
    if precision != 32:
        return v
    if isinstance(v, u.Quantity) and np.ndim(v.mantissa) > 0:
        return u.Quantity(np.asarray(v.mantissa, np.float32), unit=v.unit)
    if isinstance(v, np.ndarray) and v.dtype == np.float64:
        return v.astype(np.float32)
    return v


def _run_side_by_side(n_units, steps, dt, spikes, precision, batch_size=None, reset_at=None, **kwargs):
    """BrainPy's BioNMDA and the drop-in in one for_loop; returns (g, x) traces of both [steps, ...]."""
    kwargs = {k: _in_precision(v, precision) for k, v in kwargs.items()}
    with brainstate.environ.context(dt=dt * u.ms, precision=precision):
        ref = brainpy.state.BioNMDA(n_units, **kwargs)
        new = bb.BioNMDA(n_units, **kwargs)
        ref.init_state(batch_size)
        new.init_state(batch_size)
        ts = np.arange(steps, dtype=np.float64) * dt  # exact: dt is a power of two

        def step(t, spk):
            with brainstate.environ.context(t=t * u.ms):
                g_ref = ref.update(spk)
                g_new = new.update(spk)
            return g_ref, ref.x.value, g_new, new.x.value

        segments = [(0, steps)] if reset_at is None else [(0, reset_at), (reset_at, steps)]
        out = []
        for k, (a, b) in enumerate(segments):
            if k > 0:
                ref.reset_state(batch_size)
                new.reset_state(batch_size)
            out.append(brainstate.transform.for_loop(step, ts[a:b], spikes[a:b]))
        g_ref, x_ref, g_new, x_new = (np.concatenate([_mantissa(o[i]) for o in out]) for i in range(4))
        # The drop-in's g keeps BrainPy's unit (mS by default) and dtype.
        assert u.get_unit(new.g.value) == u.get_unit(ref.g.value)
        assert u.get_mantissa(new.g.value).dtype == u.get_mantissa(ref.g.value).dtype
        return g_ref, x_ref, g_new, x_new


def _assert_close(actual, expected, tol, what):
    err = np.abs(actual - expected)
    if err.max() > tol:
        i = np.unravel_index(np.argmax(err), err.shape)
        raise AssertionError(f"{what}[{i}] = {actual[i]!r}, BrainPy {expected[i]!r} (|diff| {err[i]:.3g} > {tol})")


def _spikes(seed, shape, p):
    return np.random.default_rng(seed).random(shape) < p


_RNG = np.random.default_rng(12)
_G0 = _RNG.uniform(0.0, 1.0, 12)
_X0 = _RNG.uniform(0.0, 1.0, 12)
# Per-neuron parameters (BrainPy takes arrays of in_size): rates, T and pulse
# lengths differing per neuron, T_dur zeros among non-zeros, every T_dur a
# multiple of the scenario's dt.
_A1 = _RNG.uniform(0.5, 3.0, 12)
_B1 = _RNG.uniform(0.005, 0.05, 12)
_TC = _RNG.uniform(0.5, 2.0, 12)
_TD = np.array([0.0, 0.5, 0.125, 1.0, 0.0, 0.25, 2.0, 0.5, 0.0, 0.375, 0.75, 0.125])
_A2_2x5 = _RNG.uniform(0.5, 1.5, (2, 5))

# name: (in_size, batch_size, steps, dt [ms], spike probability, reset_at, constructor kwargs)
SCENARIOS = {
    "defaults": (16, None, 1600, 0.125, 0.02, None, {}),
    "parameters_with_other_units": (
        12, None, 1200, 0.25, 0.03, None,
        dict(alpha1=1.5 / u.ms, beta1=20.0 * u.Hz, alpha2=800.0 / (u.second * u.mM), beta2=0.3 / u.ms,
             T=1.5 * u.mM, T_dur=1000.0 * u.us),
    ),
    "batch3_in_size_2x5": ((2, 5), 3, 1200, 0.125, 0.03, None, {}),
    "nonzero_initial_state": (
        12, None, 1000, 0.125, 0.02, None,
        dict(g_initializer=_G0 * u.mS, x_initializer=braintools.init.Constant(_X0)),
    ),
    "high_rate_respikes": (12, 2, 1000, 0.125, 0.3, None, dict(T_dur=1.0 * u.ms)),
    "reset_mid_run": (8, 2, 1200, 0.125, 0.05, 600, dict(g_initializer=braintools.init.Constant(0.25 * u.mS))),
    "tdur_zero": (8, None, 400, 0.25, 0.2, None, dict(T_dur=0.0 * u.ms, g_initializer=braintools.init.Constant(0.5 * u.mS),
                                                     x_initializer=braintools.init.Constant(0.7))),
    "per_neuron_parameters": (
        12, 2, 1200, 0.125, 0.03, None,
        dict(alpha1=_A1 / u.ms, beta1=_B1 / u.ms, T=_TC * u.mM, T_dur=_TD * u.ms, beta2=0.3 / u.ms),
    ),
    "per_neuron_other_units_dt_1_16": (
        12, None, 1600, 0.0625, 0.03, None,
        dict(alpha1=_A1 * 1000.0 / u.second, beta2=_B1 * 20.0 * u.kHz, T_dur=(_TD + 0.0625) * 1000.0 * u.us),
    ),
    "per_neuron_in_size_2x5_broadcast": (
        (2, 5), 3, 1200, 0.125, 0.03, None,
        # (2, 5) per neuron; (5,) broadcast over the first axis; (2, 1) over the second.
        dict(alpha2=_A2_2x5 / (u.ms * u.mM), T_dur=np.array([0.0, 0.25, 0.5, 1.0, 0.125]) * u.ms,
             beta1=np.array([[0.01], [0.04]]) / u.ms),
    ),
    "per_neuron_reset_mid_run": (
        12, 2, 1200, 0.125, 0.05, 600, dict(T_dur=_TD * u.ms, g_initializer=braintools.init.Constant(0.25 * u.mS)),
    ),
}


@pytest.mark.parametrize("precision", [64, 32])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_traces_as_brainpy_in_one_jitted_scan(name, precision):
    """Every step's g and x equal BrainPy's (same loop, same spikes; pulse lengths agree by the choice of dt)."""
    units, batch, steps, dt, p, reset_at, kwargs = SCENARIOS[name]
    shape = (steps,) + (() if batch is None else (batch,)) + (units if isinstance(units, tuple) else (units,))
    spikes = _spikes(zlib.crc32(name.encode()), shape, p)  # a fixed seed per scenario
    if reset_at is not None:
        spikes[reset_at - 1] = True  # pulses are on at the reset: reset_state must end them
    g_ref, x_ref, g_new, x_new = _run_side_by_side(units, steps, dt, spikes, precision, batch, reset_at, **kwargs)
    assert g_new.shape == shape
    # Not trivially zero: the scenario opens receptors (or, for T_dur = 0, decays a nonzero start).
    assert g_ref.max() > 0.05
    _assert_close(x_new, x_ref, TOL[precision], f"{name} float{precision} x")
    _assert_close(g_new, g_ref, TOL[precision], f"{name} float{precision} g")


def test_reset_state_ends_pulses_and_restores_initial_values():
    with brainstate.environ.context(dt=0.125 * u.ms, precision=64):
        syn = bb.BioNMDA(4, g_initializer=0.2 * u.mS, x_initializer=0.1)
        syn.init_state(batch_size=2)
        syn.update(np.ones((2, 4), bool))
        assert int(syn.countdown.value.max()) == 3  # 4 steps of 0.125 ms, one used
        syn.reset_state(batch_size=2)
        np.testing.assert_array_equal(syn.countdown.value, 0)
        np.testing.assert_array_equal(_mantissa(syn.g.value), 0.2)
        np.testing.assert_array_equal(syn.x.value, 0.1)


def test_vmap_over_a_batch_equals_brainpy():
    """brainstate's vmap (states created per lane, then stepped per lane) gives BrainPy's traces."""
    def run(cls):
        with brainstate.environ.context(dt=0.125 * u.ms, precision=64):
            syn = cls(5)
            brainstate.transform.vmap_new_states(lambda: syn.init_state(), axis_size=3)()
            states = syn.states()

            @brainstate.transform.vmap(in_axes=(None, 0), in_states=states, out_states=states)
            def one(t, s):
                with brainstate.environ.context(t=t * u.ms):
                    return syn.update(s)

            ts = np.arange(400) * 0.125
            return _mantissa(brainstate.transform.for_loop(one, ts, _spikes(5, (400, 3, 5), 0.1)))

    g_ref, g_new = run(brainpy.state.BioNMDA), run(bb.BioNMDA)
    assert g_new.shape == (400, 3, 5) and g_ref.max() > 0.05
    _assert_close(g_new, g_ref, TOL[64], "vmap g")


def test_plain_numbers_are_the_library_units():
    """Quantities are converted to ms, 1/ms, 1/(mM*ms), mM; plain numbers mean those units (bit-equal runs)."""
    spikes = _spikes(3, (300, 6), 0.1)

    def run(**kw):
        with brainstate.environ.context(dt=0.125 * u.ms, precision=64):
            syn = bb.BioNMDA(6, **kw)
            syn.init_state()
            return _mantissa(brainstate.transform.for_loop(syn.update, spikes)), syn.params

    g_q, p_q = run(alpha1=1.5 / u.ms, beta1=0.02 / u.ms, alpha2=0.8 / (u.ms * u.mM), beta2=0.3 / u.ms,
                   T=1.5 * u.mM, T_dur=1.0 * u.ms)
    g_f, p_f = run(alpha1=1.5, beta1=0.02, alpha2=0.8, beta2=0.3, T=1.5, T_dur=1.0)
    assert p_q == p_f == bb._bj.Params(1.5, 0.02, 0.8, 0.3, 1.5, 1.0)
    np.testing.assert_array_equal(g_q, g_f)
    # An array of one value per unit, all equal, is that value.
    assert bb.BioNMDA(6, alpha1=np.full(6, 1.5) / u.ms).params.alpha1 == 1.5


def test_per_neuron_parameters_reach_bionmda_jax_per_unit():
    """Arrays of differing values become per-unit arrays of bionmda.jax (in_size flattened), in the library's units."""
    syn = bb.BioNMDA((2, 3), alpha1=np.array([1.0, 2.0, 3.0]) / u.second, T_dur=np.array([[0.5], [1.0]]) * u.ms)
    np.testing.assert_array_equal(syn.params.alpha1, np.tile([0.001, 0.002, 0.003], 2))
    np.testing.assert_array_equal(syn.params.T_dur, [0.5, 0.5, 0.5, 1.0, 1.0, 1.0])
    assert syn.params.beta1 == 0.01  # the others stay numbers
    # The drop-in steps each neuron with its own values: a spike on every neuron
    # leaves pulses of T_dur/dt - 1 steps after its own step.
    with brainstate.environ.context(dt=0.25 * u.ms, precision=64):
        syn.init_state(batch_size=2)
        syn.update(np.ones((2, 2, 3), bool))
        np.testing.assert_array_equal(syn.countdown.value, np.broadcast_to([[[1], [3]]], (2, 2, 3)))


def test_is_a_brainpy_synapse_with_brainpys_states():
    syn = bb.BioNMDA.desc(7)()  # BrainPy's describer works
    assert isinstance(syn, brainpy.state.Synapse)
    with brainstate.environ.context(precision=32):
        syn.init_state()
    assert isinstance(syn.g, brainstate.HiddenState) and isinstance(syn.x, brainstate.HiddenState)
    assert isinstance(syn.countdown, brainstate.ShortTermState)
    assert syn.countdown.value.dtype == jnp.uint16 and syn.x.value.dtype == jnp.float32
    assert u.get_unit(syn.g.value) == u.mS  # BrainPy's default g_initializer is 0 mS
    assert {id(s) for s in syn.states().values()} == {id(syn.g), id(syn.x), id(syn.countdown)}
    assert syn.T_duration == 0.5 * u.ms and syn.alpha1 == 2.0 / u.ms  # BrainPy's attribute names


# ---------------------------------------------------------------------------------------------
# Inside BrainPy's own networks


class _EINet(brainstate.nn.Module):
    """A small E/I network as BrainPy's docs build one: LIFRef populations, AMPA- and GABA-like
    Expon synapses through AlignPostProj with COBA output, and NMDA aligned on the presynaptic
    population (``E.align_pre(BioNMDA.desc(...)).prefetch('g')``) through a CurrentProj with
    MgBlock output. Dense Linear weights keep it free of brainevent's optional numba kernels."""

    def __init__(self, nmda, n_exc=80, n_inh=20, w_nmda=0.3):
        super().__init__()
        lif = dict(V_rest=-60. * u.mV, V_th=-50. * u.mV, V_reset=-60. * u.mV, tau=20. * u.ms, tau_ref=5. * u.ms,
                   V_initializer=braintools.init.Normal(-55. * u.mV, 2. * u.mV))
        self.E = brainpy.state.LIFRef(n_exc, **lif)
        self.I = brainpy.state.LIFRef(n_inh, **lif)

        def expon(pre_n, post, n, w, tau, E):
            return brainpy.state.AlignPostProj(
                comm=brainstate.nn.Linear(pre_n, n, w_init=braintools.init.Uniform(0. * u.mS, w * u.mS), b_init=None),
                syn=brainpy.state.Expon.desc(n, tau=tau), out=brainpy.state.COBA.desc(E=E), post=post)

        def nmda_to(post, n):
            return brainpy.state.CurrentProj(
                self.E.align_pre(nmda.desc(n_exc)).prefetch('g'),
                comm=brainstate.nn.Linear(n_exc, n, w_init=braintools.init.Uniform(0., w_nmda), b_init=None),
                out=brainpy.state.MgBlock(E=0. * u.mV, cc_Mg=1.2 * u.mM, alpha=0.062 / u.mV, beta=3.57 * u.mM,
                                          V_offset=0. * u.mV),
                post=post)

        self.E2E = expon(n_exc, self.E, n_exc, 0.12, 5. * u.ms, 0. * u.mV)
        self.E2I = expon(n_exc, self.I, n_inh, 0.12, 5. * u.ms, 0. * u.mV)
        self.I2E = expon(n_inh, self.E, n_exc, 1.34, 10. * u.ms, -80. * u.mV)
        self.I2I = expon(n_inh, self.I, n_inh, 1.34, 10. * u.ms, -80. * u.mV)
        self.N2E = nmda_to(self.E, n_exc)
        self.N2I = nmda_to(self.I, n_inh)

    def update(self, t, inp):
        with brainstate.environ.context(t=t):
            e, i = self.E.get_spike(), self.I.get_spike()
            self.E2E(e), self.E2I(e), self.I2E(i), self.I2I(i), self.N2E(), self.N2I()
            self.E(inp)
            self.I(inp)
            return self.E.get_spike(), self.I.get_spike(), self.E.V.value


def _run_network(nmda, precision, steps=2000, dt=0.125, w_nmda=0.3):
    with brainstate.environ.context(dt=dt * u.ms, precision=precision):
        brainstate.random.seed(2024)  # same weights and initial V for both synapse classes
        net = _EINet(nmda, w_nmda=w_nmda)
        brainstate.nn.init_all_states(net)
        ts = np.arange(steps, dtype=np.float64) * dt * u.ms
        e, i, v = brainstate.transform.for_loop(lambda t: net.update(t, 20. * u.mA), ts)
        return np.asarray(e) != 0, np.asarray(i) != 0, _mantissa(v)


@pytest.mark.parametrize("precision", [64, 32])
def test_ei_network_spikes_identical_to_brainpy(precision):
    """The E/I network with the drop-in spikes exactly as with BrainPy's BioNMDA (2000 steps of 0.125 ms)."""
    e_ref, i_ref, v_ref = _run_network(brainpy.state.BioNMDA, precision)
    e_new, i_new, v_new = _run_network(bb.BioNMDA, precision)
    assert e_ref.sum() > 100 and i_ref.sum() > 20  # the network is active
    np.testing.assert_array_equal(e_new, e_ref)
    np.testing.assert_array_equal(i_new, i_ref)
    _assert_close(v_new, v_ref, 1e-9 if precision == 64 else 1e-3, f"float{precision} V [mV]")
    # NMDA matters in this network: with (almost) no NMDA weight the spikes differ.
    e_off, _, _ = _run_network(bb.BioNMDA, precision, w_nmda=1e-12)
    assert (e_off != e_new).any()


class _UnwrappingBioNMDA(brainpy.state.BioNMDA):
    """BrainPy 2.9's BioNMDA cannot read the brainevent.BinaryArray that align_pre_projection passes
    (jnp.where refuses it); this reference unwraps it and is otherwise BrainPy's model."""

    def update(self, pre_spike):
        return super().update(pre_spike.value)


def test_align_pre_projection_with_mgblock_output():
    """The drop-in as the syn of brainpy.state.align_pre_projection (brainevent spikes) with MgBlock output."""
    def run(cls):
        with brainstate.environ.context(dt=0.25 * u.ms, precision=64):
            brainstate.random.seed(7)
            post = brainpy.state.LIF(20, V_rest=-65. * u.mV, V_th=-50. * u.mV, V_reset=-65. * u.mV, tau=10. * u.ms,
                                     V_initializer=braintools.init.Constant(-65. * u.mV))
            proj = brainpy.state.align_pre_projection(
                syn=cls(30), comm=brainstate.nn.Linear(30, 20, w_init=braintools.init.Uniform(0., 60.), b_init=None),
                out=brainpy.state.MgBlock(E=0. * u.mV, alpha=0.062 / u.mV, beta=3.57 * u.mM, cc_Mg=1.2 * u.mM,
                                          V_offset=0. * u.mV),
                post=post)
            brainstate.nn.init_all_states(proj)
            post.init_state()

            def step(t, spk):
                with brainstate.environ.context(t=t * u.ms):
                    proj(spk)
                    post(14. * u.mA)  # just below threshold: NMDA current decides the spikes
                    return post.V.value, post.get_spike()

            ts = np.arange(800) * 0.25
            v, s = brainstate.transform.for_loop(step, ts, _spikes(9, (800, 30), 0.05))
            return _mantissa(v), np.asarray(s) != 0

    v_ref, s_ref = run(_UnwrappingBioNMDA)
    v_new, s_new = run(bb.BioNMDA)
    assert s_ref.sum() > 20  # NMDA current makes the neurons fire
    np.testing.assert_array_equal(s_new, s_ref)
    _assert_close(v_new, v_ref, 1e-9, "align_pre_projection V [mV]")


# ---------------------------------------------------------------------------------------------
# Bad input: each raises before anything runs, naming the argument.


@pytest.mark.parametrize("kwargs, error, needle", [
    (dict(alpha1=2.0 * u.mV), ValueError, "alpha1"),
    (dict(T=1.0 * u.ms), ValueError, "T = "),
    (dict(T_dur=0.5 / u.ms), ValueError, "T_dur"),
    (dict(beta2=-0.5 / u.ms), ValueError, "beta2"),
    (dict(beta1=float("nan")), ValueError, "beta1"),
    (dict(alpha2=np.inf), ValueError, "alpha2"),
    (dict(beta1=np.ones(3)), ValueError, r"beta1 has shape \(3,\), which does not broadcast to in_size \(5,\)"),
    (dict(alpha1=np.ones((2, 5)) / u.ms), ValueError, r"alpha1 has shape \(2, 5\), which does not broadcast to in_size"),
    (dict(T=np.ones((5, 1)) * u.mM), ValueError, r"T has shape \(5, 1\), which does not broadcast to in_size \(5,\)"),
    (dict(alpha2=np.array([1.0, 1.0, np.nan, 1.0, 1.0])), ValueError, r"alpha2 must be finite and >= 0, got nan \(element \(2,\)\)"),
    (dict(beta2=np.array([0.5, 0.5, 0.5, -0.5, 0.5]) / u.ms), ValueError, r"beta2 must be finite and >= 0, got -0.5 \(element \(3,\)\)"),
    (dict(T_dur=np.array([0.5, np.inf, 0.5, 0.5, 0.5]) * u.ms), ValueError, "T_dur must be finite"),
    (dict(T_dur=np.linspace(0.1, 0.5, 5) * u.mV), ValueError, "T_dur = "),
    (dict(alpha1=np.ones(5, complex)), TypeError, "alpha1 must be a real number or array"),
    (dict(T="1 mM"), TypeError, "T"),
])
def test_bad_parameters_are_named(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        bb.BioNMDA(5, **kwargs)


def test_traced_parameter_is_refused():
    @jax.jit
    def make(a):
        bb.BioNMDA(3, alpha1=a / u.ms)
        return a

    with pytest.raises(TypeError, match="alpha1 must be a concrete value"):
        make(2.0)
    with pytest.raises(TypeError, match="alpha1 must be a concrete value"):
        make(jnp.linspace(1.0, 2.0, 3))


def test_per_neuron_pulse_over_65535_steps_is_named_at_the_first_update():
    syn = bb.BioNMDA(4, T_dur=np.array([0.5, 0.5, 10000.0, 0.25]) * u.ms)
    syn.init_state()
    with brainstate.environ.context(dt=0.125 * u.ms):  # unit 2: 80000 steps
        with pytest.raises(ValueError, match=r"at most 65535.*T_dur\[2\]"):
            syn.update(np.ones(4, bool))
    np.testing.assert_array_equal(_mantissa(syn.g.value), 0)  # nothing ran
    np.testing.assert_array_equal(syn.countdown.value, 0)


@pytest.mark.parametrize("kwargs, needle", [
    (dict(g_initializer=1.5 * u.mS), "g_initializer must give values in"),
    (dict(x_initializer=-0.1), "x_initializer must give values in"),
    (dict(x_initializer=0.5 * u.mV), "x_initializer must be dimensionless"),
    (dict(g_initializer=np.zeros(4) * u.mS), "g_initializer does not fit"),
])
def test_bad_initial_values_are_named(kwargs, needle):
    syn = bb.BioNMDA(5, **kwargs)
    with pytest.raises(ValueError, match=needle):
        syn.init_state()


def test_bad_update_inputs_are_named():
    syn = bb.BioNMDA(5)
    syn.init_state(batch_size=2)
    with brainstate.environ.context(dt=0.125 * u.ms):
        with pytest.raises(ValueError, match="pre_spike has shape"):
            syn.update(np.ones(4, bool))
        with pytest.raises(ValueError, match="pre_spike must be dimensionless"):
            syn.update(np.ones(5) * u.mV)
        with pytest.raises(TypeError, match="pre_spike"):
            syn.update(None)
    with brainstate.environ.context(dt=0.125 * u.mV):
        with pytest.raises(ValueError, match="dt"):
            syn.update(np.ones(5, bool))
    with brainstate.environ.context(dt=1e-6 * u.ms):  # T_dur/dt = 500000 steps > 65535
        with pytest.raises(ValueError, match="T_dur"):
            syn.update(np.ones(5, bool))
    np.testing.assert_array_equal(_mantissa(syn.g.value), 0)  # nothing ran
