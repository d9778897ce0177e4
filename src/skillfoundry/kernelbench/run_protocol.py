"""KernelBench's correctness protocol on any torch device, with this project's defences.

The reference ``Model`` and the answer's ``ModelNew`` are built after the same seed (as KernelBench does,
so learned weights match). Each trial draws fresh seeded inputs; the reference runs first, on clones of
them and (on a GPU) on a stream of its own, so memory it frees is never handed to the answer; its outputs
and copies of the inputs are kept in host memory. Before the answer runs, the allocator's free blocks of
the outputs' sizes are poisoned with NaN, so an answer that returns unwritten memory cannot inherit a
correct result. Every torch operator the answer's forward runs (its Python and its C++ wrapper alike) is
audited: anything beyond allocating, viewing and copying is a torch op doing the work. Outputs must match
within KernelBench's tolerance, and no input may change.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from skillfoundry.kernels.gpu.compare import compare
from skillfoundry.kernels.gpu.protocol import Comparison, TrialResult
from skillfoundry.kernels.problems.model import Tolerance

#: KernelBench's tolerance for fp32 outputs
TOLERANCE = Tolerance(atol=1e-2, rtol=1e-2)
#: aten operators an answer may run: allocation, fills, views, metadata and copies (no work on values)
ALLOWED_OPS = frozenset(
    {
        "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros", "zeros_like",
        "new_zeros", "ones", "ones_like", "new_ones", "full", "full_like", "new_full", "fill_", "zero_",
        "view", "_unsafe_view", "reshape", "_reshape_alias", "as_strided", "expand", "permute", "transpose",
        "t", "unsqueeze", "squeeze", "flatten", "alias", "detach", "lift_fresh", "slice", "select", "clone",
        "copy_", "_to_copy", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "is_contiguous",
        "resize_",
    }
)  # fmt: skip


class AnswerError(Exception):
    """The answer's code raised or returned something unusable: its fault, not the harness's."""


class OpAudit(TorchDispatchMode):
    """Records the torch operators run under it that are not in ``ALLOWED_OPS``."""

    def __init__(self) -> None:
        super().__init__()
        self.work_ops: set[str] = set()

    def __torch_dispatch__(self, func: Any, types_: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func.overloadpacket.__name__ not in ALLOWED_OPS:
            self.work_ops.add(str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


def load_module(source: str, name: str) -> types.ModuleType:
    """Run ``source`` as a fresh module named ``name``."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - the worker's job, in its process
    return module


def build_model(module: types.ModuleType, class_name: str, init_inputs: Sequence[Any], seed: int, device: str) -> Any:
    """``module.<class_name>(*init_inputs)`` built after ``torch.manual_seed(seed)``, on ``device``."""
    torch.manual_seed(seed)
    return getattr(module, class_name)(*init_inputs).to(device)


def on_device(value: Any, device: str) -> Any:
    return value.to(device) if isinstance(value, torch.Tensor) else value


def as_outputs(value: Any) -> list[Any]:
    """A forward's result as a list (a tensor, or a tuple/list of them)."""
    return list(value) if isinstance(value, tuple | list) else [value]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def poison_free_blocks(outputs: Sequence[torch.Tensor], device: str) -> None:
    """Fill blocks of each output's size with NaN bytes and free them, so the next allocations of those
    sizes (the answer's outputs) start as NaN rather than whatever the allocator last held."""
    blocks = [torch.empty(max(t.numel() * t.element_size(), 1), dtype=torch.uint8, device=device) for t in outputs]
    for block in blocks:
        block.fill_(0xFF)  # all-ones bytes: NaN in every float format
    sync(device)
    del blocks


class Reference:
    """The reference model, run where its freed memory cannot reach the answer."""

    def __init__(self, model: Any, device: str):
        self.model, self.device = model, device
        self.stream = torch.cuda.Stream() if device.startswith("cuda") else None

    def outputs(self, inputs: Sequence[Any]) -> list[torch.Tensor]:
        """The reference's outputs for clones of ``inputs``, in host memory."""
        if self.stream is not None:  # the inputs were written on the current stream
            self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream) if self.stream is not None else nullcontext():
            clones = [x.clone() if isinstance(x, torch.Tensor) else x for x in inputs]
            with torch.no_grad():
                result = [t.detach().cpu() for t in as_outputs(self.model(*clones))]
        if self.stream is not None:
            self.stream.synchronize()
        return result


def compare_outputs(actual: Sequence[Any], expected: Sequence[torch.Tensor]) -> dict[str, Comparison]:
    """One comparison per expected output (``output0``...); a missing or non-tensor output fails its slot."""
    results: dict[str, Comparison] = {}
    for i, want in enumerate(expected):
        got = actual[i] if i < len(actual) else None
        if not isinstance(got, torch.Tensor):
            results[f"output{i}"] = Comparison(
                ok=False, shape_ok=False, total=want.numel(), mismatched=want.numel(), nonfinite=0
            )
        else:
            results[f"output{i}"] = compare(got.detach().cpu(), want, TOLERANCE)
    if len(actual) != len(expected):
        results["output_count"] = Comparison(ok=False, shape_ok=False, total=len(expected), mismatched=1, nonfinite=0)
    return results


def mutated_inputs(inputs: Sequence[Any], pristine: Sequence[Any]) -> list[str]:
    return [
        f"input{i}"
        for i, (now, then) in enumerate(zip(inputs, pristine))
        if isinstance(now, torch.Tensor) and not torch.equal(now.detach().cpu(), then)
    ]


def call_answer(answer: Any, inputs: Sequence[Any], audit: OpAudit | None = None) -> list[Any]:
    """The answer's outputs for ``inputs``; anything it raises is an AnswerError."""
    try:
        with audit if audit is not None else nullcontext(), torch.no_grad():
            return as_outputs(answer(*inputs))
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise AnswerError(f"ModelNew.forward raised {type(exc).__name__}: {text[0] if text else ''}"[:1000]) from exc


class Expectation:
    """Fresh seeded inputs and what the answer must return for them (the reference's outputs, in host memory)."""

    def __init__(self, get_inputs: Callable[[], Sequence[Any]], reference: Reference, seed: int, device: str):
        torch.manual_seed(seed)
        self.seed = seed
        self.inputs = [on_device(x, device) for x in get_inputs()]
        self.pristine = [x.detach().cpu().clone() if isinstance(x, torch.Tensor) else x for x in self.inputs]
        self.outputs = reference.outputs(self.inputs)

    def check(self, actual: Sequence[Any], work_ops: Sequence[str] = ()) -> TrialResult:
        outputs = compare_outputs(actual, self.outputs)
        mutated = mutated_inputs(self.inputs, self.pristine)
        ok = not mutated and not work_ops and all(c.ok for c in outputs.values())
        return TrialResult(seed=self.seed, ok=ok, outputs=outputs, mutated=mutated, torch_ops=sorted(work_ops))


def run_trial(
    answer: Any, get_inputs: Callable[[], Sequence[Any]], reference: Reference, seed: int, device: str
) -> TrialResult:
    """One audited trial: fresh inputs, reference first, poisoned free blocks, answer, compare."""
    expectation = Expectation(get_inputs, reference, seed, device)
    poison_free_blocks(expectation.outputs, device)
    audit = OpAudit()
    actual = call_answer(answer, expectation.inputs, audit)
    sync(device)
    return expectation.check(actual, sorted(audit.work_ops))
