"""What the KernelBench worker does once it is isolated (``worker_main`` starts it, with a KBJob).

Builds the reference and the answer (whose ``load_inline`` compiles its extension here), runs the audited
correctness trials of ``run_protocol``, then on a GPU times the answer and the eager reference (CUDA events,
L2 flushed, outputs' blocks poisoned before each call, inputs watched), checks the last timed call's output
and runs fresh trials again. Events go to the job's result file, as for the native worker.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import Any

import torch

from skillfoundry.kernelbench import run_protocol as rp
from skillfoundry.kernelbench.job import KBJob
from skillfoundry.kernels.gpu.harness import POST_SEED_OFFSET, TIMING_SEED_OFFSET, InputWatch, trial_seed
from skillfoundry.kernels.gpu.protocol import Emit, ErrorKind, GpuInfo, ShapeResult, TrialResult
from skillfoundry.kernels.gpu.stats import summarize
from skillfoundry.kernels.gpu.worker import classify_exception, gpu_info, time_samples


class Failure(Exception):
    """Why the job stopped, with whose fault it is."""

    def __init__(self, kind: ErrorKind, message: str):
        super().__init__(message)
        self.kind = kind


def _first_line(exc: BaseException, limit: int = 2000) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}"[:limit] if text else repr(exc)


def _device_info(device: str) -> GpuInfo:
    if device == "cuda":
        return gpu_info()
    return GpuInfo(name="cpu", compute_capability=(0, 0), torch_version=torch.__version__)


class TimingGuard(InputWatch):
    """Around each timed call: poison the blocks the outputs will take (before) and note changed inputs (after)."""

    def __init__(self, inputs: Sequence[Any], outputs: Sequence[torch.Tensor], device: str):
        super().__init__({f"input{i}": t for i, t in enumerate(inputs) if isinstance(t, torch.Tensor)})
        self.device, self.outputs = device, outputs

    def before(self) -> None:
        rp.poison_free_blocks(self.outputs, self.device)


def run_job(job: KBJob, emit: Emit) -> None:
    """Build, check and (on a GPU) time the answer; emits events, raises Failure when it stops early."""
    if job.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
    emit("gpu", gpu=_device_info(job.device).model_dump(mode="json"))
    try:
        problem = rp.load_module(job.problem_source, "reference")
        torch.manual_seed(job.seed)
        init_inputs = list(problem.get_init_inputs())
        reference = rp.Reference(rp.build_model(problem, "Model", init_inputs, job.seed, job.device), job.device)
    except Exception as exc:
        raise Failure("infrastructure", f"the reference of {job.problem_id} failed: {_first_line(exc)}") from exc
    emit("phase", name="build", expect_s=job.build_phase_s)
    try:
        answer_module = rp.load_module(job.answer_source, "answer")
    except Exception as exc:
        kind: ErrorKind = "compile" if "Error building extension" in str(exc) else "load"
        raise Failure(kind, f"the answer module failed: {_first_line(exc)}") from exc
    try:
        answer = rp.build_model(answer_module, "ModelNew", init_inputs, job.seed, job.device)
    except Exception as exc:
        raise Failure("load", f"ModelNew({', '.join(map(repr, init_inputs))}) failed: {_first_line(exc)}") from exc

    def trial(offset: int) -> TrialResult:
        return rp.run_trial(answer, problem.get_inputs, reference, trial_seed(job.seed, 0, offset), job.device)

    emit("phase", name="correctness", expect_s=job.phase_s)
    trials = [trial(t) for t in range(job.trials)]
    result = ShapeResult(index=0, dims=job.dims, correct=all(t.ok for t in trials), trials=trials)
    if result.correct and job.device == "cuda":
        result = _timed(job, answer, problem.get_inputs, reference, result, emit)
        emit("phase", name="post_check", expect_s=job.phase_s)
        post = [trial(POST_SEED_OFFSET + t) for t in range(job.post_trials)]
        checked = result.timed_check is not None and result.timed_check.ok
        result = result.model_copy(update={"post_trials": post, "correct": checked and all(t.ok for t in post)})
    emit("shape", shape=result.model_dump(mode="json"))


def _timed(
    job: KBJob,
    answer: Any,
    get_inputs: Callable[[], Sequence[Any]],
    reference: rp.Reference,
    result: ShapeResult,
    emit: Emit,
) -> ShapeResult:
    """Time the answer (guarded) and the eager reference on one set of inputs; check the last timed output."""
    emit("phase", name="timing", expect_s=job.phase_s + 3 * job.timing_budget_s)
    expectation = rp.Expectation(get_inputs, reference, trial_seed(job.seed, 0, TIMING_SEED_OFFSET), job.device)
    guard = TimingGuard(expectation.inputs, expectation.outputs, job.device)
    l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", None) or 64 * 2**20
    flush = torch.empty(max(2 * l2, 64 * 2**20) // 4, dtype=torch.float32, device="cuda")
    last: dict[str, list[Any]] = {}

    def call() -> None:
        last["out"] = rp.call_answer(answer, expectation.inputs)

    samples = time_samples(call, flush, job.timing_trials, job.warmup, job.timing_budget_s, guard)
    timed_check = expectation.check(last["out"])
    if written := sorted(set(guard.mutated()) - set(timed_check.mutated)):
        timed_check = timed_check.model_copy(update={"ok": False, "mutated": [*timed_check.mutated, *written]})
    ref_inputs = [x.clone() if isinstance(x, torch.Tensor) else x for x in expectation.inputs]

    def call_reference() -> None:
        with torch.no_grad():
            reference.model(*ref_inputs)

    ref_samples = time_samples(call_reference, flush, job.timing_trials, job.warmup, job.timing_budget_s)
    mine, theirs = summarize(samples), summarize(ref_samples)
    return result.model_copy(
        update={
            "timed_check": timed_check,
            "samples_ms": samples,
            "ref_samples_ms": ref_samples,
            "ref_compiled_note": "KernelBench's fast_p compares with the eager reference",
            "time_ms": mine.median if mine else None,
            "time_spread_ms": mine.iqr if mine else None,
            "ref_time_ms": theirs.median if theirs else None,
            "speedup": theirs.median / mine.median if mine and theirs and mine.median else None,
        }
    )


def run(job: KBJob, emit: Emit) -> int:
    """Run the job; the exit code says how it ended (0 done, 3 the answer's fault, 4 the harness's)."""
    try:
        run_job(job, emit)
    except Failure as failure:
        emit("error", kind=failure.kind, message=str(failure))
        return 4 if failure.kind == "infrastructure" else 3
    except Exception as exc:
        kind = "fault" if isinstance(exc, rp.AnswerError) else classify_exception(exc, candidate_ran=True)
        message = _first_line(exc) if kind != "infrastructure" else traceback.format_exc(limit=5)
        emit("error", kind=kind, message=message)
        return 4 if kind == "infrastructure" else 3
    emit("done")
    return 0
