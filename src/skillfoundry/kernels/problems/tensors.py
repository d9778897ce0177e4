"""Torch side of a problem: seeded inputs, poisoned output buffers, reference outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from skillfoundry.kernels.errors import ProblemSpecError
from skillfoundry.kernels.problems.model import Problem, TensorSpec

TORCH_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int32": torch.int32,
}

INT_POISON = -(2**31)


def _draw(spec: TensorSpec, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    if spec.init.kind == "normal":
        values = torch.randn(shape, generator=gen, dtype=torch.float32) * spec.init.std + spec.init.mean
    else:
        values = (
            torch.rand(shape, generator=gen, dtype=torch.float32) * (spec.init.high - spec.init.low) + spec.init.low
        )
    if spec.dtype == "int32":
        return values.round().to(torch.int32)
    return values.to(TORCH_DTYPES[spec.dtype])


def make_inputs(problem: Problem, dims: Mapping[str, int], seed: int, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Input tensors drawn on the CPU from ``seed`` (so every device sees the same values), then moved."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    return {t.name: _draw(t, problem.tensor_shape(t, dims), gen).to(device).contiguous() for t in problem.inputs}


def poisoned(spec: TensorSpec, shape: tuple[int, ...], device: str) -> torch.Tensor:
    """A buffer filled with NaN (int32: INT_MIN), so unwritten elements are caught."""
    fill = INT_POISON if spec.dtype == "int32" else float("nan")
    return torch.full(shape, fill, dtype=TORCH_DTYPES[spec.dtype], device=device)


def poisoned_buffers(problem: Problem, dims: Mapping[str, int], device: str = "cpu") -> dict[str, torch.Tensor]:
    """Fresh poisoned output and scratch buffers for these dims."""
    return {t.name: poisoned(t, problem.tensor_shape(t, dims), device) for t in problem.tensors if t.role != "input"}


def reference_outputs(problem: Problem, inputs: Mapping[str, Any], dims: Mapping[str, int]) -> dict[str, torch.Tensor]:
    """Run the torch reference on clones of ``inputs``; check and return its outputs by name."""
    args = {name: tensor.clone() for name, tensor in inputs.items()}
    result = problem.reference(**args, **problem.scalar_values(dims))
    if isinstance(result, torch.Tensor):
        result = {problem.outputs[0].name: result}
    outputs: dict[str, torch.Tensor] = {}
    for spec in problem.outputs:
        if spec.name not in result:
            raise ProblemSpecError(f"kernel problem {problem.id!r}: reference returned no {spec.name!r}")
        tensor = result[spec.name]
        want = problem.tensor_shape(spec, dims)
        if tuple(tensor.shape) != want:
            raise ProblemSpecError(
                f"kernel problem {problem.id!r}: reference {spec.name!r} has shape "
                f"{tuple(tensor.shape)}, expected {want}"
            )
        outputs[spec.name] = tensor.to(TORCH_DTYPES[spec.dtype]).contiguous()
    return outputs
