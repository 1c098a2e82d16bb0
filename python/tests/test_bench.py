"""python -m bionmda.bench: a tiny run against BrainPy when it is installed,
the missing-BrainPy path (exit code 3) with jax hidden on purpose, and option
errors. Each runs the module in a subprocess, as a user would."""

import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

JAX_STACK = ("jax", "brainpy", "brainstate", "brainunit")
HAVE_BRAINPY = all(importlib.util.find_spec(m) is not None for m in JAX_STACK)


def run_bench(args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "bionmda.bench", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def hidden_jax_env(tmp_path):
    """An environment in which `import jax` fails: a package named jax that
    raises, first on the path."""
    fake = tmp_path / "hide"
    (fake / "jax").mkdir(parents=True)
    (fake / "jax" / "__init__.py").write_text('raise ImportError("jax hidden by test_bench")\n')
    env = dict(os.environ)
    env["PYTHONPATH"] = str(fake) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def positive_finite(v):
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


TINY = ["--sizes", "1024", "--steps", "20", "--repeats", "2", "--window", "10", "--mask-period", "20",
        "--backend", "cpu"]


@pytest.mark.skipif(not HAVE_BRAINPY, reason="needs jax, brainpy, brainstate and brainunit "
                    "(pip install 'bionmda[bench]', Python >= 3.12)")
def test_tiny_run_against_brainpy_writes_positive_figures(tmp_path):
    out = tmp_path / "bench.json"
    r = run_bench(TINY + ["--json", str(out), "--overhead", "--calls", "50"])
    assert r.returncode == 0, r.stderr
    assert "unit-steps/s" in r.stdout and "x BrainPy" in r.stdout
    doc = json.loads(out.read_text())
    for key in ("command", "precision", "rate_hz", "dt_ms", "steps", "repeats", "window", "mask_period",
                "devices", "versions", "implementations", "unavailable", "results", "overhead"):
        assert key in doc, key
    assert doc["precision"] == "float32" and doc["steps"] == 20
    by_impl = {r["impl"]: r for r in doc["results"]}
    assert {"brainpy", "bionmda.step", "bionmda.window", "bionmda.jax", "bionmda.jax.window"} <= set(by_impl)
    # The drop-in is either measured or listed with the reason it is not.
    assert ("bionmda.brainpy" in by_impl) != ("bionmda.brainpy" in doc["unavailable"])
    if "bionmda.brainpy" in doc["unavailable"]:
        assert "bionmda.brainpy" in doc["unavailable"]["bionmda.brainpy"]
        assert "not available: bionmda.brainpy" in r.stdout
    for name, res in by_impl.items():
        assert res["N"] == 1024
        for key in ("us_per_step", "seconds_per_step", "unit_steps_per_s", "ratio_vs_brainpy"):
            assert positive_finite(res[key]), (name, key, res[key])
        assert len(res["repeats_seconds_per_step"]) == 2
        assert all(positive_finite(t) for t in res["repeats_seconds_per_step"])
        assert res["unit_steps_per_s"] * res["seconds_per_step"] == pytest.approx(1024)
        assert res["us_per_step"] == pytest.approx(res["seconds_per_step"] * 1e6)
        assert res["ratio_vs_brainpy"] == pytest.approx(
            by_impl["brainpy"]["seconds_per_step"] / res["seconds_per_step"])
    assert by_impl["brainpy"]["ratio_vs_brainpy"] == 1.0
    over = {o["impl"]: o["us_per_call"] for o in doc["overhead"]}
    assert {"brainpy", "bionmda.step", "bionmda.jax"} <= set(over)
    assert all(positive_finite(v) for v in over.values()), over


def test_without_jax_says_which_import_failed_and_exits_3(tmp_path):
    r = run_bench(TINY, env=hidden_jax_env(tmp_path))
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "cannot import jax" in r.stderr and "jax hidden by test_bench" in r.stderr
    assert "nothing measured" in r.stderr
    assert "--impl bionmda.step bionmda.window" in r.stderr  # how to run without it
    assert "unit-steps/s" not in r.stdout  # no table started


def test_without_jax_the_bionmda_entries_still_run(tmp_path):
    out = tmp_path / "bench.json"
    r = run_bench(TINY + ["--impl", "bionmda.step", "bionmda.window", "--json", str(out)],
                  env=hidden_jax_env(tmp_path))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert [res["impl"] for res in doc["results"]] == ["bionmda.step", "bionmda.window"]
    for res in doc["results"]:
        assert positive_finite(res["unit_steps_per_s"])
        assert res["ratio_vs_brainpy"] is None  # no BrainPy, no ratio


@pytest.mark.parametrize("args, message", [
    (["--window", "3", "--steps", "20"], "--window 3 must divide --steps 20"),
    (["--window", "5", "--steps", "20", "--mask-period", "12"], "--window 5 must divide --mask-period 12"),
    (["--steps", "0"], "--steps: must be >= 1, got 0"),
    (["--sizes", "0"], "a size must be >= 1"),
    (["--sizes", "lots"], "not a size: 'lots'"),
    (["--rate", "20000", "--dt", "0.1"], "--rate: rate*dt/1000 must lie in [0, 1]"),
    (["--impl", "torch"], "invalid choice: 'torch'"),
])
def test_invalid_options_exit_2_naming_the_option(args, message):
    r = run_bench(args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert message in r.stderr


@pytest.mark.skipif(not HAVE_BRAINPY, reason="needs jax, brainpy, brainstate and brainunit "
                    "(pip install 'bionmda[bench]', Python >= 3.12)")
def test_drop_in_entry_is_timed_in_brainpys_loop_when_the_module_exists(tmp_path, monkeypatch):
    """The bionmda.brainpy hook: with a module of that name present, its
    BioNMDA runs in the same loop as BrainPy's. Here BrainPy's own class
    stands in for the drop-in (same constructor), so only the hook is tested."""
    import types

    import brainpy

    from bionmda import bench

    stand_in = types.ModuleType("bionmda.brainpy")
    stand_in.BioNMDA = brainpy.state.BioNMDA
    monkeypatch.setitem(sys.modules, "bionmda.brainpy", stand_in)
    out = tmp_path / "bench.json"
    assert bench.main(TINY + ["--impl", "brainpy", "bionmda.brainpy", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["unavailable"] == {}
    by_impl = {r["impl"]: r for r in doc["results"]}
    assert set(by_impl) == {"brainpy", "bionmda.brainpy"}
    assert positive_finite(by_impl["bionmda.brainpy"]["unit_steps_per_s"])
    assert positive_finite(by_impl["bionmda.brainpy"]["ratio_vs_brainpy"])


def test_unwritable_json_path_is_refused_before_measuring(tmp_path):
    for bad in (tmp_path / "missing" / "out.json", tmp_path):
        r = run_bench(TINY + ["--impl", "bionmda.step", "--json", str(bad)])
        assert r.returncode == 2, (bad, r.returncode, r.stderr)
        assert "--json" in r.stderr and "unit-steps/s" not in r.stdout, r.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_json_is_written_whole_with_no_temporary_left(tmp_path):
    out = tmp_path / "b.json"
    r = run_bench(TINY + ["--impl", "bionmda.step", "--json", str(out)])
    assert r.returncode == 0, r.stderr
    json.loads(out.read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]
