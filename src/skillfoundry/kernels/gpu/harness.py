"""Correctness trials, independent of how the kernel is launched (so they run on any torch device).

A trial draws fresh seeded inputs, keeps pristine clones, allocates output buffers poisoned with
NaN, launches, then checks the outputs against the reference (computed on the clones) and the
inputs against their clones (a kernel must not modify its inputs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from skillfoundry.kernels.gpu.compare import compare
from skillfoundry.kernels.gpu.protocol import TrialResult
from skillfoundry.kernels.problems.model import Problem
from skillfoundry.kernels.problems.tensors import poisoned_buffers, reference_outputs

Launcher = Callable[[Mapping[str, torch.Tensor]], None]
"""Runs every launch of a problem on the given named tensors (inputs, outputs and scratch)."""


def trial_seed(base: int, shape_index: int, trial: int) -> int:
    """A distinct, reproducible seed per (run seed, shape, trial)."""
    return (base * 1_000_003 + shape_index * 7_919 + trial) % 2**63


def check_outputs(
    problem: Problem,
    dims: Mapping[str, int],
    seed: int,
    inputs: Mapping[str, torch.Tensor],
    pristine: Mapping[str, torch.Tensor],
    buffers: Mapping[str, torch.Tensor],
) -> TrialResult:
    """Compare ``buffers`` with the reference on ``pristine`` inputs; report mutated inputs."""
    expected = reference_outputs(problem, pristine, dims)
    outputs = {
        spec.name: compare(buffers[spec.name], expected[spec.name], problem.tolerance_for(spec.dtype))
        for spec in problem.outputs
    }
    mutated = [name for name, tensor in inputs.items() if not torch.equal(tensor, pristine[name])]
    ok = not mutated and all(c.ok for c in outputs.values())
    return TrialResult(seed=seed, ok=ok, outputs=outputs, mutated=mutated)


def run_trial(
    problem: Problem,
    dims: Mapping[str, int],
    seed: int,
    launch: Launcher,
    device: str,
    sync: Callable[[], None] = lambda: None,
) -> TrialResult:
    """One correctness trial with fresh inputs and freshly poisoned outputs."""
    inputs = problem.make_inputs(dims, seed, device)
    pristine = {name: tensor.clone() for name, tensor in inputs.items()}
    buffers = poisoned_buffers(problem, dims, device)
    launch({**inputs, **buffers})
    sync()
    return check_outputs(problem, dims, seed, inputs, pristine, buffers)
