"""Every problem's inputs and tolerances reject null kernels: zeros, a constant, a copied input,
and an untouched (NaN-poisoned) output. Computed with the torch reference on the CPU."""

from __future__ import annotations

import pytest
import torch

from skillfoundry.kernels import list_problems
from skillfoundry.kernels.gpu.compare import compare
from skillfoundry.kernels.problems.model import Problem
from skillfoundry.kernels.problems.tensors import poisoned_buffers

PROBLEMS = list_problems()


def _null_outputs(problem: Problem, inputs: dict, expected: dict, dims: dict) -> dict[str, list[torch.Tensor]]:
    """For each output, every null answer a cheap kernel could give."""
    nulls: dict[str, list[torch.Tensor]] = {}
    poisoned = poisoned_buffers(problem, dims)
    for spec in problem.outputs:
        ref = expected[spec.name]
        candidates = [torch.zeros_like(ref), poisoned[spec.name]]
        as_float = ref.double()
        for value in (as_float.mean(), torch.tensor(1.0)):
            candidates.append(torch.full_like(ref, float(value) if ref.is_floating_point() else round(float(value))))
        for tensor in inputs.values():
            flat = tensor.reshape(-1).to(ref.dtype)
            if flat.numel() >= ref.numel():
                candidates.append(flat[: ref.numel()].reshape(ref.shape).clone())
            else:
                copy = poisoned[spec.name].clone().reshape(-1)
                copy[: flat.numel()] = flat
                candidates.append(copy.reshape(ref.shape))
        nulls[spec.name] = candidates
    return nulls


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p.id for p in PROBLEMS])
def test_null_kernels_fail_every_shape(problem: Problem):
    for index, dims in enumerate(problem.shapes):
        inputs = problem.make_inputs(dims, seed=index)
        expected = problem.reference_outputs(inputs, dims)
        for spec in problem.outputs:
            tol = problem.tolerance_for(spec.dtype)
            assert compare(expected[spec.name], expected[spec.name], tol).ok
        for name, candidates in _null_outputs(problem, inputs, expected, dims).items():
            tol = problem.tolerance_for(problem.tensor(name).dtype)
            for k, candidate in enumerate(candidates):
                result = compare(candidate, expected[name], tol)
                assert not result.ok, f"{problem.id} shape {dims}: null answer #{k} for {name!r} passes"
