"""Correctness trials, independent of how the kernel is launched (so they run on any torch device).

A trial draws fresh seeded inputs and computes the expected outputs BEFORE the kernel runs; the
expected outputs and pristine copies of the inputs are kept in host memory, out of the kernel's
reach. Output buffers start poisoned with NaN. After the launch the outputs are compared with the
expectation and the inputs with their copies (a kernel must not modify its inputs).
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


#: ``trial`` numbers of the inputs timed and of the trials after timing (correctness trials count from 0)
TIMING_SEED_OFFSET = 500
POST_SEED_OFFSET = 1000


def trial_seed(base: int, shape_index: int, trial: int) -> int:
    """A distinct, reproducible seed per (run seed, shape, trial)."""
    return (base * 1_000_003 + shape_index * 7_919 + trial) % 2**63


class Expectation:
    """What a launch on ``inputs`` must produce, held in host memory before the launch."""

    def __init__(self, problem: Problem, dims: Mapping[str, int], seed: int, inputs: Mapping[str, torch.Tensor]):
        self.problem, self.seed = problem, seed
        self.pristine = {name: t.detach().cpu().clone() for name, t in inputs.items()}
        self.outputs = {name: t.cpu() for name, t in reference_outputs(problem, inputs, dims).items()}

    def check(self, inputs: Mapping[str, torch.Tensor], buffers: Mapping[str, torch.Tensor]) -> TrialResult:
        """Compare the launch's outputs with the expectation; report mutated inputs."""
        outputs = {
            spec.name: compare(
                buffers[spec.name].cpu(), self.outputs[spec.name], self.problem.tolerance_for(spec.dtype)
            )
            for spec in self.problem.outputs
        }
        mutated = [name for name, t in inputs.items() if not torch.equal(t.cpu(), self.pristine[name])]
        ok = not mutated and all(c.ok for c in outputs.values())
        return TrialResult(seed=self.seed, ok=ok, outputs=outputs, mutated=mutated)


def prepare(
    problem: Problem, dims: Mapping[str, int], seed: int, device: str
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], Expectation]:
    """Fresh inputs, fresh poisoned output/scratch buffers, and the expectation for them."""
    inputs = problem.make_inputs(dims, seed, device)
    expectation = Expectation(problem, dims, seed, inputs)
    return inputs, poisoned_buffers(problem, dims, device), expectation


def run_trial(
    problem: Problem,
    dims: Mapping[str, int],
    seed: int,
    launch: Launcher,
    device: str,
    sync: Callable[[], None] = lambda: None,
) -> TrialResult:
    """One correctness trial with fresh inputs and freshly poisoned outputs."""
    inputs, buffers, expectation = prepare(problem, dims, seed, device)
    sync()
    launch({**inputs, **buffers})
    sync()
    return expectation.check(inputs, buffers)


class InputWatch:
    """Notes, after each launch, every input that differs from the copy taken first, byte for byte, on the
    device and without a sync (``mutated`` syncs)."""

    def __init__(self, inputs: Mapping[str, torch.Tensor]):
        self.inputs = dict(inputs)
        self._pristine = {name: t.clone() for name, t in self.inputs.items()}
        self._changed = {name: torch.zeros((), dtype=torch.bool, device=t.device) for name, t in self.inputs.items()}
        self.launches = 0

    def after(self) -> None:
        """Note any input that differs from its copy (queued; read by ``mutated``)."""
        self.launches += 1
        for name, t in self.inputs.items():
            self._changed[name] |= torch.ne(_bytes(t), _bytes(self._pristine[name])).any()

    def mutated(self) -> list[str]:
        """Inputs some launch so far left changed (syncs)."""
        return [name for name, flag in self._changed.items() if bool(flag.item())]


class LaunchGuard(InputWatch):
    """Wraps every launch of a timed loop: outputs and scratch are poisoned again before each one
    (so a kernel cannot skip work because its last result is still there), and after each one the
    inputs are compared with copies taken first (``InputWatch``)."""

    def __init__(
        self,
        problem: Problem,
        dims: Mapping[str, int],
        inputs: Mapping[str, torch.Tensor],
        buffers: Mapping[str, torch.Tensor],
    ):
        super().__init__(inputs)
        self.buffers = dict(buffers)
        device = next(iter(self.buffers.values())).device
        self._poison = poisoned_buffers(problem, dims, str(device))

    def before(self) -> None:
        """Poison every output and scratch buffer (queued on the stream, outside the timed events)."""
        for name, buf in self.buffers.items():
            buf.copy_(self._poison[name])


def _bytes(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(-1).view(torch.uint8)  # flat first: a 0-d tensor cannot change element size
