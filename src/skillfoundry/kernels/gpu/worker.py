"""The GPU worker: ``python -m skillfoundry.kernels.gpu.worker`` with a Job on stdin.

Runs one candidate: correctness trials per shape, then timing (CUDA events, warm-up, L2 flushed
before every sample) of the candidate and of the torch reference (eager and torch.compile), then
correctness again on the timed buffers and on fresh inputs. Events go to the job's result file.
A fault ends the process; the runner sees what was written before it.
"""

from __future__ import annotations

import ctypes
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skillfoundry.kernels.gpu.protocol import Emit, ErrorKind, GpuInfo, Job, ShapeResult, serve

try:  # a worker without torch or the CUDA bindings is the harness's fault: say so, do not crash
    import torch

    from skillfoundry.kernels.gpu.harness import (
        POST_SEED_OFFSET,
        TIMING_SEED_OFFSET,
        LaunchGuard,
        prepare,
        run_trial,
        trial_seed,
    )
    from skillfoundry.kernels.gpu.launch import CandidateError, KernelModule, ensure_context
    from skillfoundry.kernels.gpu.stats import summarize
    from skillfoundry.kernels.problems import get_problem
    from skillfoundry.kernels.problems.model import Problem
except ImportError as _exc:  # pragma: no cover - exercised by a worker started without torch
    IMPORT_ERROR: str | None = f"{type(_exc).__name__}: {_exc}"
else:
    IMPORT_ERROR = None


if IMPORT_ERROR is None:

    class LoadError(CandidateError):
        """The cubin or an entry point could not be loaded."""


def classify_exception(exc: BaseException, candidate_ran: bool) -> ErrorKind:
    """Whose fault an exception in the worker is. The candidate's: load and launch errors, device
    faults (illegal address, trap, launch failure: torch reports them as 'CUDA error'), and running
    out of GPU memory once the candidate has run. The harness's: everything else, and any error
    before the candidate's code was loaded."""
    name = type(exc).__name__
    text = str(exc)
    if name == "LoadError":
        return "load"
    if name == "CandidateError":
        return "fault"
    if name == "OutOfMemoryError" or "out of memory" in text:
        return "fault" if candidate_ran else "infrastructure"
    if isinstance(exc, RuntimeError) and ("CUDA error" in text or "CUDA_ERROR" in text) and candidate_ran:
        return "fault"
    return "infrastructure"


def _nvml(bus_id: str) -> tuple[str | None, dict[str, int]]:
    """NVIDIA driver version and current/max clocks from NVML, best effort."""
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None, {}
    if nvml.nvmlInit_v2() != 0:
        return None, {}
    buf = ctypes.create_string_buffer(96)
    version = buf.value.decode() if nvml.nvmlSystemGetDriverVersion(buf, 96) == 0 else None
    handle = ctypes.c_void_p()
    clocks: dict[str, int] = {}
    if nvml.nvmlDeviceGetHandleByPciBusId_v2(bus_id.encode(), ctypes.byref(handle)) == 0:
        for label, fn, kind in (
            ("sm", nvml.nvmlDeviceGetClockInfo, 1),
            ("memory", nvml.nvmlDeviceGetClockInfo, 2),
            ("sm_max", nvml.nvmlDeviceGetMaxClockInfo, 1),
            ("memory_max", nvml.nvmlDeviceGetMaxClockInfo, 2),
        ):
            value = ctypes.c_uint()
            if fn(handle, kind, ctypes.byref(value)) == 0:
                clocks[label] = value.value
    return version, clocks


def gpu_info() -> GpuInfo:
    from cuda.bindings import driver

    props = torch.cuda.get_device_properties(0)
    _, version = driver.cuDriverGetVersion()
    try:
        _, dev = driver.cuDeviceGet(0)
        err, bus = driver.cuDeviceGetPCIBusId(32, dev)
        bus_id = bus.decode().rstrip("\x00") if err == driver.CUresult.CUDA_SUCCESS else ""
    except Exception:  # clocks are best effort
        bus_id = ""
    driver_version, clocks = _nvml(bus_id) if bus_id else (None, {})
    return GpuInfo(
        name=props.name,
        compute_capability=(props.major, props.minor),
        driver_version=driver_version,
        cuda_driver_version=f"{version // 1000}.{version % 1000 // 10}",
        torch_version=torch.__version__,
        sm_count=props.multi_processor_count,
        l2_bytes=getattr(props, "L2_cache_size", None),
        total_memory_bytes=props.total_memory,
        clocks_mhz=clocks,
    )


def time_samples(
    fn: Callable[[], Any],
    flush: torch.Tensor,
    trials: int,
    warmup: int,
    budget_s: float,
    guard: LaunchGuard | None = None,
) -> list[float]:
    """Per-call times in ms by CUDA events, after ``warmup`` calls, with ``flush`` rewritten
    (evicting L2) before each sample; fewer than ``trials`` samples (at least 10) if one call
    is so slow that ``trials`` would exceed ``budget_s``. With a ``guard``, every call (warm-up
    included) gets freshly poisoned outputs before and an input check after, outside the events."""
    before = guard.before if guard else (lambda: None)
    after = guard.after if guard else (lambda: None)
    for _ in range(warmup):
        before()
        fn()
        after()
    torch.cuda.synchronize()
    probe_start, probe_end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    before()
    probe_start.record()
    fn()
    probe_end.record()
    after()
    torch.cuda.synchronize()
    per_call_s = max(probe_start.elapsed_time(probe_end) / 1e3, 1e-6)
    n = max(min(trials, 10), min(trials, int(budget_s / per_call_s)))
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
    for start, end in zip(starts, ends):
        flush.zero_()
        before()
        start.record()
        fn()
        end.record()
        after()
    torch.cuda.synchronize()  # waits for every stream of the device
    return [start.elapsed_time(end) for start, end in zip(starts, ends)]


def _median(samples: list[float]) -> float | None:
    summary = summarize(samples)
    return summary.median if summary else None


def _time_compiled(
    ref: Callable[..., Any], tensors: dict[str, torch.Tensor], job: Job, flush: torch.Tensor, emit: Emit
) -> tuple[list[float], str | None]:
    if not job.compile_reference:
        return [], "torch.compile timing disabled"
    emit("phase", name="compile_reference", expect_s=job.compile_phase_s)
    try:
        compiled = torch.compile(ref, dynamic=False)
        compiled(**tensors)
        torch.cuda.synchronize()
        return time_samples(
            lambda: compiled(**tensors), flush, job.timing_trials, job.warmup, job.timing_budget_s
        ), None
    except Exception as exc:  # torch.compile is optional: no triton, unsupported op, ...
        return [], f"torch.compile unavailable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def run_shape(
    job: Job, problem: Problem, module: KernelModule, index: int, flush: torch.Tensor, emit: Emit
) -> ShapeResult:
    """Correctness trials, then (if they pass) timing and the checks after timing, for one shape."""
    dims = problem.shapes[index]
    launch = module.launcher(dims)
    emit("phase", name=f"correctness[{index}]", expect_s=job.kernel_phase_s)
    trials = [
        run_trial(problem, dims, trial_seed(job.seed, index, t), launch, "cuda", torch.cuda.synchronize)
        for t in range(job.trials)
    ]
    if not all(t.ok for t in trials):
        return ShapeResult(index=index, dims=dims, correct=False, trials=trials)

    emit("phase", name=f"timing[{index}]", expect_s=job.kernel_phase_s + 3 * job.timing_budget_s)
    seed = trial_seed(job.seed, index, TIMING_SEED_OFFSET)
    inputs, buffers, expectation = prepare(problem, dims, seed, "cuda")
    tensors = {**inputs, **buffers}
    guard = LaunchGuard(problem, dims, inputs, buffers)
    samples = time_samples(lambda: launch(tensors), flush, job.timing_trials, job.warmup, job.timing_budget_s, guard)
    timed_check = expectation.check(inputs, buffers)  # the outputs of the last timed launch (poisoned before it)
    if written := sorted(set(guard.mutated()) - set(timed_check.mutated)):
        timed_check = timed_check.model_copy(update={"ok": False, "mutated": [*timed_check.mutated, *written]})
    pristine = {name: t.to("cuda") for name, t in expectation.pristine.items()}
    scalars = problem.scalar_values(dims)

    def ref(**args: torch.Tensor) -> Any:
        return problem.reference(**args, **scalars)

    ref_samples = time_samples(lambda: ref(**pristine), flush, job.timing_trials, job.warmup, job.timing_budget_s)
    compiled_samples, compiled_note = _time_compiled(ref, pristine, job, flush, emit)

    emit("phase", name=f"post_check[{index}]", expect_s=job.kernel_phase_s)
    post = [
        run_trial(
            problem, dims, trial_seed(job.seed, index, POST_SEED_OFFSET + t), launch, "cuda", torch.cuda.synchronize
        )
        for t in range(job.post_trials)
    ]
    summary = summarize(samples)
    time_ms = summary.median if summary else None
    ref_ms, compiled_ms = _median(ref_samples), _median(compiled_samples)
    return ShapeResult(
        index=index,
        dims=dims,
        correct=timed_check.ok and all(t.ok for t in post),
        trials=trials,
        timed_check=timed_check,
        post_trials=post,
        samples_ms=samples,
        ref_samples_ms=ref_samples,
        ref_compiled_samples_ms=compiled_samples,
        ref_compiled_note=compiled_note,
        time_ms=time_ms,
        time_spread_ms=summary.iqr if summary else None,
        ref_time_ms=ref_ms,
        ref_compiled_time_ms=compiled_ms,
        speedup=ref_ms / time_ms if ref_ms and time_ms else None,
        speedup_vs_compiled=compiled_ms / time_ms if compiled_ms and time_ms else None,
    )


_state = {"candidate_ran": False}


def run(job: Job, emit: Emit) -> int:
    """Run the job, emitting events; the exit code says how it ended (0 done, 3 candidate, 4 harness)."""
    if IMPORT_ERROR is not None:
        emit("error", kind="infrastructure", message=f"GPU worker cannot start: {IMPORT_ERROR}")
        return 4
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        problem = get_problem(job.problem_id)
        ensure_context()
        info = gpu_info()
        emit("gpu", gpu=info.model_dump(mode="json"))
        _state["candidate_ran"] = True  # from here on, the candidate's code is in the context
        try:
            module = KernelModule(Path(job.cubin_path).read_bytes(), problem)
        except CandidateError as exc:
            raise LoadError(str(exc)) from None
        l2 = info.l2_bytes or 64 * 2**20
        flush = torch.empty(max(2 * l2, 64 * 2**20) // 4, dtype=torch.float32, device="cuda")
        for index in job.shape_indices:
            result = run_shape(job, problem, module, index, flush, emit)
            emit("shape", shape=result.model_dump(mode="json"))
        emit("done")
        return 0
    except Exception as exc:
        kind = classify_exception(exc, _state["candidate_ran"])
        if kind == "infrastructure" and not isinstance(exc, RuntimeError):
            message = traceback.format_exc(limit=5)
        else:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        emit("error", kind=kind, message=message)
        return 4 if kind == "infrastructure" else 3


def main() -> None:
    job = Job.model_validate_json(sys.stdin.read())
    serve(job.result_path, lambda emit: run(job, emit))


if __name__ == "__main__":
    main()
