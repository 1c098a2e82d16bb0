"""Every bad input raises the right Python exception with the library's
message, before any state changes.

The messages below are the C++ library's own (BIONMDA_EXPECTS in src/host),
passed through unchanged; the few the binding adds itself (array shapes and
dtypes, which the library cannot see) are marked "binding".
"""

import math
import re

import numpy as np
import pytest

import bionmda
from conftest import cpu_population

INT64_MAX = 2**63 - 1


def snapshot(pop):
    return pop.g.copy(), pop.x.copy(), pop.countdown.copy(), pop.step_count


def stepped_population(N=5, B=2, **kw):
    """A population with non-trivial state, so an unwritten or partly written output would show."""
    pop = cpu_population(N, batch=B, **kw)
    pop.set_presynaptic_sources(np.arange(N, dtype=np.int32) % 3, 3)
    pop.step(np.eye(B, N, dtype=np.uint8))
    pop.step()
    return pop


def assert_refused(pop, call, exc, message):
    before = snapshot(pop)
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == message
    after = snapshot(pop)
    for a, b, name in zip(before, after, ("g", "x", "countdown", "step_count")):
        assert np.array_equal(a, b), f"{name} changed by a refused call"


# --- Construction ------------------------------------------------------------

CONSTRUCTION = [
    (dict(units=-1), ValueError, "bionmda: units (N) must be >= 0, got -1"),
    (dict(units=3, batch=0), ValueError, "bionmda: batch (B) must be >= 1, got 0"),
    (dict(units=3, dt=0.0), ValueError, "bionmda: dt must be finite and > 0 ms, got 0"),
    (dict(units=3, dt=math.nan), ValueError, "bionmda: dt must be finite and > 0 ms, got nan"),
    (dict(units=3, precision="f16"), ValueError, "bionmda: precision must be float32 or float64, got 'f16'"),
    (dict(units=3, backend="gpu"), ValueError, "bionmda: backend must be auto, cpu or cuda, got 'gpu'"),
    (dict(units=3, alpha1=-1.0), ValueError, "bionmda: parameter alpha1 must be finite and >= 0, got -1"),
    (dict(units=3, alpha1=[1.0, 1.0, -1.0]), ValueError,
     "bionmda: parameter alpha1[2] must be finite and >= 0, got -1"),
    (dict(units=3, beta2=np.array([1.0, 2.0])), ValueError,
     "bionmda: parameter beta2 has 2 per-unit values but the population has 3 units"),
    (dict(units=3, T=math.nan), ValueError, "bionmda: parameter T must be finite and >= 0, got nan"),
    (dict(units=3, T_dur=math.inf), ValueError, "bionmda: parameter T_dur must be finite and >= 0, got inf"),
    (dict(units=3, g0=1.5), ValueError, "bionmda: initial g must be finite and in [0, 1], got 1.5"),
    (dict(units=3, x0=[0.1, 0.2]), ValueError, "bionmda: initial x has 2 values; expected N = 3 or N*B = 3"),
    (dict(units=3, x0=[0.1, -0.25, 0.0]), ValueError,
     "bionmda: initial x[1] must be finite and in [0, 1], got -0.25"),
    # binding: shapes the library cannot see
    (dict(units=3, alpha1=np.ones((3, 1))), ValueError,
     "bionmda: parameter alpha1 must be a number or a 1-D array of one value per unit; got shape (3, 1)"),
    (dict(units=3, batch=2, g0=np.zeros((3, 2))), ValueError,
     "bionmda: g0 has shape (3, 2); expected (2, 3) or a flat array of 6 elements"),
]


@pytest.mark.parametrize("kwargs,exc,message", CONSTRUCTION)
def test_construction_refused(kwargs, exc, message):
    kwargs = dict(kwargs)
    kwargs.setdefault("backend", "cpu")
    with pytest.raises(exc) as info:
        bionmda.Population(**kwargs)
    assert str(info.value) == message


def test_out_of_memory_is_memory_error():
    with pytest.raises(MemoryError, match=r"^bionmda: the CPU backend's state of 1099511627776 units"):
        cpu_population(1 << 40, batch=1 << 20)


@pytest.mark.skipif(bionmda.cuda_available(), reason="a CUDA device is usable here")
def test_cuda_unavailable_is_runtime_error():
    with pytest.raises(RuntimeError, match=r"^bionmda: the cuda backend was requested but no CUDA device is usable"):
        bionmda.Population(3, backend="cuda")


# --- Steps, windows and state ------------------------------------------------

def u8(*shape):
    return np.zeros(shape, np.uint8)


REFUSED = [
    ("dense size", lambda p: p.step(u8(3)), ValueError, "bionmda: spike mask [B][N] has 3 elements; expected 10"),
    ("dense shape", lambda p: p.step(u8(5, 2)), ValueError,  # binding
     "bionmda: spikes has shape (5, 2); expected (2, 5) or a flat array of 10 elements"),
    ("dense dtype", lambda p: p.step(np.zeros((2, 5), np.int64)), TypeError,  # binding
     "bionmda: spikes must have one byte per element (uint8 or bool); got int64"),
    ("event range", lambda p: p.step_events([0, 10]), ValueError,
     "bionmda: spike event [1] = 10 is out of range [0, 10) (element b * N + i)"),
    ("event negative", lambda p: p.step_events([-1]), ValueError,
     "bionmda: spike event [0] = -1 is out of range [0, 10) (element b * N + i)"),
    ("event dtype", lambda p: p.step_events([0.5]), TypeError, "bionmda: events must be integers; got float64"),
    ("poisson rate", lambda p: p.step_poisson(-1.0), ValueError,
     "bionmda: Poisson rate must be finite and >= 0 Hz, got -1"),
    ("presynaptic size", lambda p: p.step_presynaptic(u8(2, 4)), ValueError,
     "bionmda: presynaptic spike mask [B][N_pre] has 8 elements; expected 6"),
    ("sources range", lambda p: p.set_presynaptic_sources([0, 1, 5, 0, 0], 3), ValueError,
     "bionmda: presynaptic source[2] = 5 is out of range [0, 3)"),
    ("sources count", lambda p: p.set_presynaptic_sources([0, 1], 3), ValueError,
     "bionmda: presynaptic sources has 2 entries; expected N = 5"),
    ("window steps", lambda p: p.step_window(-1), ValueError, "bionmda: a window needs steps >= 0, got -1"),
    ("window size", lambda p: p.step_window(2, u8(2, 2, 4)), ValueError,
     "bionmda: window spike mask [K][B][N] has 16 elements; expected 20"),
    ("window words", lambda p: p.step_window(2, np.zeros((2, 2, 2), np.uint32)), ValueError,
     "bionmda: window bit mask [K][B][ceil(N/32)] has 8 elements; expected 4"),
    ("window dtype", lambda p: p.step_window(2, np.zeros((2, 2, 5), np.float32)), TypeError,  # binding
     "bionmda: spikes must be bytes (uint8 or bool, one per element) or uint32 bit words; got float32"),
    ("window shape", lambda p: p.step_window(2, u8(2, 5, 2)), ValueError,  # binding
     "bionmda: spikes has shape (2, 5, 2); expected (2, 2, 5) or a flat array of 20 elements"),
    ("window events offsets", lambda p: p.step_window_events(2, [1, 1, 2], [0, 1]), ValueError,
     "bionmda: window event step_offsets[0] must be 0, got 1"),
    ("window events range", lambda p: p.step_window_events(2, [0, 1, 2], [0, 10]), ValueError,
     "bionmda: window event [1] = 10 is out of range [0, 10) (element b * N + i)"),
    ("window poisson", lambda p: p.step_window_poisson(2, math.nan), ValueError,
     "bionmda: Poisson rate must be finite and >= 0 Hz, got nan"),
    ("window presynaptic", lambda p: p.step_window_presynaptic(2, u8(2, 2, 4)), ValueError,
     "bionmda: presynaptic window mask [K][B][N_pre] has 16 elements; expected 12"),
    ("recorded range", lambda p: p.set_recorded_elements([10]), ValueError,
     "bionmda: recorded element [0] = 10 is out of range [0, 10) (element b * N + i)"),
    ("set_g value", lambda p: p.set_g([2.0] * 10), ValueError, "bionmda: g[0] must be finite and in [0, 1], got 2"),
    ("set_x count", lambda p: p.set_x([0.1] * 3), ValueError, "bionmda: x has 3 values; expected N = 5 or N*B = 10"),
    ("step_count", lambda p: setattr(p, "step_count", -1), ValueError, "bionmda: step count must be >= 0, got -1"),
    ("gather", lambda p: p.gather([10]), ValueError, "bionmda: gather: element [0] = 10 is out of range [0, 10)"),
    ("view field", lambda p: p.view("y"), ValueError,  # binding
     "bionmda: field must be 'g', 'x' or 'countdown'; got 'y'"),
]


@pytest.mark.parametrize("name,call,exc,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_before_any_change(precision, name, call, exc, message):
    pop = stepped_population(precision=precision)
    assert_refused(pop, lambda: call(pop), exc, message)


def test_presynaptic_step_needs_sources():
    pop = cpu_population(5, batch=2)
    assert_refused(pop, lambda: pop.step_presynaptic(u8(2, 3)), ValueError,
                   "bionmda: a presynaptic spike mask needs set_presynaptic_sources first")


def test_step_counter_cannot_wrap():
    pop = stepped_population()
    pop.step_count = INT64_MAX
    at_max = ("bionmda: the step counter is at 9223372036854775807, the largest value it holds; this population "
              "cannot step further (set_step_count or a checkpoint set it there)")
    assert_refused(pop, lambda: pop.step(), ValueError, at_max)
    assert_refused(pop, lambda: pop.step_poisson(1.0), ValueError, at_max)
    assert_refused(pop, lambda: pop.step_window(1), ValueError,
                   "bionmda: a window of 1 steps from step 9223372036854775807 would take the step counter past "
                   "INT64_MAX")


def test_checkpoint_errors(tmp_path):
    missing = str(tmp_path / "missing.ckpt")
    message = f"bionmda: cannot open checkpoint '{missing}' for reading"
    with pytest.raises(RuntimeError) as info:
        bionmda.Population.load(missing)
    assert str(info.value) == message
    with pytest.raises(RuntimeError) as info:
        bionmda.checkpoint_info(missing)
    assert str(info.value) == message
    pop = stepped_population()
    assert_refused(pop, lambda: pop.restore(missing), RuntimeError, message)
    # A checkpoint of another size does not restore into this population.
    other = cpu_population(6, batch=2)
    path = tmp_path / "other.ckpt"
    other.save(path)
    before = snapshot(pop)
    with pytest.raises(ValueError, match=r"^bionmda: "):
        pop.restore(path)
    assert all(np.array_equal(a, b) for a, b in zip(before, snapshot(pop)))
    # A corrupted file is refused, naming it.
    pop.save(path)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match=re.escape(str(path))):
        bionmda.Population.load(path)


MAP_REFUSED = [
    (dict(row_offsets=[0, 2, 1], source=[0, 1], gmax=[1.0, 1.0]),
     "bionmda: connectivity row_offsets must be non-decreasing: row_offsets[2] = 1 < row_offsets[1] = 2"),
    (dict(row_offsets=[0, 2], source=[0, 7], gmax=[1.0, 1.0]),
     "bionmda: connectivity source[1] = 7 is out of range [0, 5)"),
    (dict(row_offsets=[0, 2], source=[0, 1], gmax=[1.0, math.nan]),
     "bionmda: connectivity gmax[1] must be finite, got nan"),
    (dict(row_offsets=[0, 2], source=[0, 1], gmax=[1.0, 1.0], beta=0.0),
     "bionmda: mg_block beta must be finite and > 0 mM, got 0"),
]


@pytest.mark.parametrize("kwargs,message", MAP_REFUSED)
def test_postsynaptic_map_refused(kwargs, message):
    pop = stepped_population()
    before = snapshot(pop)
    with pytest.raises(ValueError) as info:
        bionmda.PostsynapticMap(pop, **kwargs)
    assert str(info.value) == message
    assert all(np.array_equal(a, b) for a, b in zip(before, snapshot(pop)))


def test_postsynaptic_compute_refuses_bad_voltages():
    pop = stepped_population()
    m = bionmda.PostsynapticMap(pop, [0, 2], [0, 1], [1.0, 1.0])
    with pytest.raises(ValueError) as info:
        m.compute(V=np.zeros(3))
    assert str(info.value) == "bionmda: V has 3 elements; expected 0 or B*n_post = 2"
