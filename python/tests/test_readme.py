"""The Python examples of the top-level README run as written.

Each ```python block of the README's "## Python" section is executed in a
fresh namespace; the BrainPy drop-in's block is skipped (with the reason)
where BrainPy is not installed.
"""
import importlib.util
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_blocks():
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Python\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert section is not None, "README.md has no '## Python' section"
    blocks = re.findall(r"^```python\n(.*?)^```", section.group(1), flags=re.S | re.M)
    assert len(blocks) >= 2, f"expected the JAX and the BrainPy examples, found {len(blocks)} blocks"
    return blocks


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_example_runs(index, capsys):
    code = python_blocks()[index]
    if "brainpy" in code and importlib.util.find_spec("brainpy") is None:
        pytest.skip("BrainPy is not installed (pip install './python[brainpy]')")
    if "bionmda.jax" in code and importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed (pip install './python[jax]')")
    namespace = {"__name__": "readme_example"}
    exec(compile(code, f"README.md python block {index}", "exec"), namespace)
    if "print(" in code:
        assert capsys.readouterr().out.strip(), "the example printed nothing"
    if "g" in namespace:
        import numpy as np

        g = np.asarray(getattr(namespace["g"], "mantissa", namespace["g"]))
        assert g.size > 0 and np.all(np.isfinite(g)) and np.all(g >= 0), "g is not a finite, non-negative array"
        assert np.any(g > 0), "no synapse opened: the example's spikes did nothing"
