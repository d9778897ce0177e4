"""Grade a CUDA kernel answer: extract -> compile (NVRTC) -> static checks -> GPU correctness and timing.

Without a GPU the last stage is skipped and the outcome says so: a kernel that compiles and
passes the static checks passes with ``detail.gpu = False``. Every outcome carries the level this
environment grades at (``kernel-static`` without a GPU, ``kernel-gpu`` with one), however far the
answer got. Bad answers fail with a reason; a GPU harness or driver fault is an ``infra_error`` (no
pass); only a misconfigured check (unknown problem id, unsupported arch) raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skillfoundry.grading.outcome import CheckOutcome, GradeBundle, GradingLevel
from skillfoundry.kernels.candidate import check_candidate
from skillfoundry.kernels.compile import BuildResult, compile_cuda, source_sha, validate_arch
from skillfoundry.kernels.extract import answer_encoding_problem, extract_cuda_source
from skillfoundry.kernels.gpu import available
from skillfoundry.kernels.problems import Problem, get_problem
from skillfoundry.kernels.static_checks import signature_program
from skillfoundry.skills.model import KernelCheck

if TYPE_CHECKING:
    from skillfoundry.kernels.gpu.runner import GpuRun

GRADER = "kernel"
#: GPU run error kinds that are the environment's fault, not the candidate's: the harness or driver
#: failed, or the GPU that answered the probe was gone by the time the candidate ran.
INFRA_ERROR_KINDS = frozenset({"infrastructure", "no_gpu"})


def kernel_level() -> GradingLevel:
    """The strength of a kernel grade in this environment: GPU correctness when a GPU answers."""
    return GradingLevel.KERNEL_GPU if available() else GradingLevel.KERNEL_STATIC


def _first_error(build: BuildResult) -> str:
    errors = [d for d in build.diagnostics if d.severity in ("error", "catastrophic error")]
    if errors:
        return f"line {errors[0].line}: {errors[0].message}"
    return build.log.strip().splitlines()[-1] if build.log.strip() else "unknown compiler error"


def kernel_outcome(passed: bool, level: GradingLevel, detail: dict[str, Any], grader: str = GRADER) -> CheckOutcome:
    """A kernel grader's outcome: score 1 for a pass, 0 otherwise."""
    return CheckOutcome(grader=grader, passed=passed, score=1.0 if passed else 0.0, level=level, detail=detail)


def _bundle(outcome: CheckOutcome, builds: Sequence[BuildResult] = (), benchmarks=()) -> GradeBundle:
    return GradeBundle(
        outcomes=[outcome], kernel_builds=[b.record() for b in builds], kernel_benchmarks=list(benchmarks)
    )


def gpu_outcome(check: KernelCheck, run: GpuRun, detail: dict[str, Any], grader: str = GRADER) -> CheckOutcome:
    """The outcome of a GPU run (level ``kernel-gpu``): a harness/driver fault is an infra error;
    the candidate's own fault (crash, illegal address, its OOM, timeout) or wrong output fails it."""
    speedups = [s.speedup for s in run.shapes if s.speedup is not None]
    detail = {
        **detail,
        "gpu": True,
        "gpu_name": run.gpu.name if run.gpu else run.device_name,
        "correct": run.correct,
        "shapes": [
            {"dims": s.dims, "correct": s.correct, "time_ms": s.time_ms, "speedup": s.speedup, "suspect": s.suspect}
            for s in run.shapes
        ],
        "speedup_min": min(speedups) if len(speedups) == len(run.requested) else None,
        "suspect": any(s.suspect for s in run.shapes),
        "error_kind": run.error_kind,
        "error": run.error,
    }
    if run.isolation is not None:
        detail["isolation"] = run.isolation
    if run.error_kind in INFRA_ERROR_KINDS:
        return CheckOutcome(
            grader=grader,
            passed=False,
            score=0.0,
            level=GradingLevel.KERNEL_GPU,
            infra_error=f"GPU {run.error_kind} error: {run.error}"[:1000],
            detail={**detail, "stage": "gpu", "correctness": "not checked (GPU harness error)"},
        )
    if run.correct:
        correctness = f"correct on all {len(run.requested)} shapes"
        done = {**detail, "stage": "done", "correctness": correctness}
        return kernel_outcome(True, GradingLevel.KERNEL_GPU, done, grader)
    reason = run.error if run.error_kind else wrong_reason(run)
    detail.update(stage="gpu", correctness=f"incorrect: {run.error_kind or 'mismatch'}", reason=reason)
    return kernel_outcome(not check.require_correct, GradingLevel.KERNEL_GPU, detail, grader)


def wrong_reason(run: GpuRun) -> str:
    """Why a finished run is not correct: torch operators doing the work, written inputs, or wrong output."""
    trials = [t for s in run.shapes for t in s.checks]
    if ops := sorted({op for t in trials for op in t.torch_ops}):
        return f"torch operators do the work: {', '.join(ops[:8])}"
    if mutated := sorted({name for t in trials for name in t.mutated}):
        return f"writes its inputs: {', '.join(mutated)}"
    return f"wrong output on shapes {[s.index for s in run.shapes if not s.correct]}"


def _gpu_stage(
    check: KernelCheck,
    problem: Problem,
    source: str,
    detail: dict[str, Any],
    builds: list[BuildResult],
    cache_dir: Path | None,
    gpu_slot: Callable[[], AbstractContextManager[object]] | None,
) -> GradeBundle:
    from skillfoundry.kernels.gpu.runner import benchmark_records, run_candidate

    with (gpu_slot or nullcontext)():
        run = run_candidate(problem, source, cache_dir=cache_dir)
    if run.arch and run.arch not in {b.arch for b in builds}:
        # a cache hit: the runner built the same program
        builds.append(compile_cuda(signature_program(problem, source), arch=run.arch, cache_dir=cache_dir))
    return _bundle(gpu_outcome(check, run, detail), builds, benchmark_records(run, problem.shapes))


def grade_kernel(
    check: KernelCheck,
    answer: str,
    *,
    cache_dir: Path | None = None,
    archs: Sequence[str] = ("sm_90",),
    gpu_slot: Callable[[], AbstractContextManager[object]] | None = None,
) -> GradeBundle:
    """Grade ``answer`` against ``check.problem_id``; one CheckOutcome (grader 'kernel') plus the
    build records (one per arch) and, on a GPU, one benchmark record per shape (run under ``gpu_slot``)."""
    problem = get_problem(check.problem_id)
    level = kernel_level()
    for arch in archs:
        validate_arch(arch)
    detail: dict[str, Any] = {"problem_id": problem.id}
    if bad := answer_encoding_problem(answer):
        detail.update(stage="extract", reason="bad_encoding", encoding=bad)
        return _bundle(kernel_outcome(False, level, detail))
    source = extract_cuda_source(answer, problem.entry_points)
    if source is None:
        detail.update(
            stage="extract", reason="no CUDA code in the answer (expected a ```cuda block with a __global__ kernel)"
        )
        return _bundle(kernel_outcome(False, level, detail))
    if bad := answer_encoding_problem(source, code=True):
        detail.update(stage="extract", reason="bad_encoding", encoding=bad)
        return _bundle(kernel_outcome(False, level, detail))
    detail["source_sha"] = source_sha(source)
    # a RuntimeError here is the compile harness failing (not the candidate): grade_answer records it
    # as an infra error
    report = check_candidate(source, problem, archs=archs, cache_dir=cache_dir)
    builds = list(report.builds)
    detail["builds"] = [{k: v for k, v in b.summary().items() if k != "log"} for b in builds]
    findings = [f.model_dump() for f in report.findings]
    if report.stage == "compile":
        failed = report.failed_build
        assert failed is not None
        detail.update(
            stage="compile",
            reason=f"does not compile for {failed.arch}: {_first_error(failed)}",
            log=failed.log,
            findings=findings,
        )
        return _bundle(kernel_outcome(False, level, detail), builds)
    if report.stage == "static":
        detail.update(
            stage="static",
            reason="; ".join(f"{f.rule}: {f.message}" for f in report.findings[:5]),
            findings=findings,
        )
        return _bundle(kernel_outcome(False, level, detail), builds)
    detail["findings"] = []
    if level is GradingLevel.KERNEL_GPU:
        return _gpu_stage(check, problem, source, detail, builds, cache_dir, gpu_slot)
    detail.update(stage="static", gpu=False, correctness="not checked (no GPU)")
    return _bundle(kernel_outcome(True, level, detail), builds)
