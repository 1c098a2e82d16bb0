"""bionmda: batches of BioNMDA kinetic synapses (BrainPy's ``brainpy.state.BioNMDA``).

The Python face of the C++ library: a :class:`Population` of N units x B batch
entries steps on the GPU (CUDA backend) or the CPU, with NumPy or DLPack
inputs; :class:`PostsynapticMap` sums conductances onto postsynaptic neurons
and applies the magnesium block.

Units: time in ms, rates in 1/ms, concentrations in mM, voltages in mV; g and x
are dimensionless fractions in [0, 1].

Errors of the library arrive as ``ValueError`` (invalid input), ``MemoryError``
(an allocation failed) or ``RuntimeError`` (backend unavailable, CUDA or file
errors), carrying the library's message, raised before any state changes.
"""

from ._bionmda import (
    Population,
    PostsynapticMap,
    __version__,
    checkpoint_info,
    cpu_instruction_set,
    cuda_available,
    cuda_compiled,
    cuda_unavailable_reason,
    resolve_backend,
)

__all__ = [
    "Population",
    "PostsynapticMap",
    "__version__",
    "checkpoint_info",
    "cpu_instruction_set",
    "cuda_available",
    "cuda_compiled",
    "cuda_unavailable_reason",
    "resolve_backend",
]
