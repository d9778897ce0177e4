"""Run one candidate on the GPU in its own killable subprocess, and turn the result into records.

The worker reports progress as events; each names how long until the next one. A worker that
stays silent past that (a hung kernel) or past the overall timeout is killed with its process
group; a fault or crash ends only that process. What it wrote before is kept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

import skillfoundry
from skillfoundry.ids import canonical_json, content_id
from skillfoundry.kernels.compile import compile_cuda, source_sha, supported_archs
from skillfoundry.kernels.gpu import roofline
from skillfoundry.kernels.gpu.probe import DeviceInfo, probe
from skillfoundry.kernels.gpu.protocol import ErrorKind, Events, GpuInfo, Job, ShapeResult, parse_events
from skillfoundry.kernels.problems.model import Problem
from skillfoundry.kernels.static_checks import ptx_findings, signature_program

STARTUP_S = 120.0  # importing torch and creating the context, before the first event
GRACE_S = 10.0


class GpuRun(BaseModel):
    """One candidate's GPU run: per-shape results, or why it stopped."""

    problem_id: str
    source_sha: str
    arch: str | None = None
    device_name: str | None = None
    gpu: GpuInfo | None = None
    requested: list[int] = Field(default_factory=list)
    shapes: list[ShapeResult] = Field(default_factory=list)
    error_kind: ErrorKind | None = None
    error: str | None = None
    isolation: str | None = None
    stderr_tail: str = ""
    wall_s: float = 0.0

    @property
    def correct(self) -> bool:
        """Every requested shape ran and was correct, before and after timing."""
        return (
            self.error_kind is None
            and {s.index for s in self.shapes} == set(self.requested)
            and all(s.correct for s in self.shapes)
        )


def device_arch(compute_capability: tuple[int, int]) -> str:
    """The NVRTC target for a device: its own sm_XY, else the newest supported one below it."""
    target = compute_capability[0] * 10 + compute_capability[1]
    usable = [a for a in supported_archs() if a <= target]
    return f"sm_{target if target in usable else max(usable, default=min(supported_archs()))}"


def annotate(shape: ShapeResult, problem: Problem, gpu_name: str) -> ShapeResult:
    """Add the roofline floor, the largest possible speedup and the ``suspect`` flag."""
    peak = roofline.peak_for(gpu_name)
    if peak is None or shape.time_ms is None:
        return shape
    floor = roofline.floor_ms(problem, shape.dims, peak)
    return shape.model_copy(
        update={
            "floor_ms": floor,
            "max_speedup": roofline.max_speedup(shape.ref_time_ms, floor) if shape.ref_time_ms else None,
            "suspect": roofline.is_suspect(shape.time_ms, floor),
        }
    )


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(skillfoundry.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def start_worker(
    module: str, job: BaseModel, env: dict[str, str], stderr: IO[bytes], cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """``python -m module`` in a session of its own (so it dies with its whole group), ``job`` as JSON on
    its stdin, its stdout discarded (a kernel's printf must not reach anything)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(job.model_dump_json().encode())
    proc.stdin.close()
    return proc


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker leads its own session: only its group dies
    except ProcessLookupError:
        pass
    proc.wait()


def classify(events: Events, returncode: int | None, killed: str | None) -> tuple[ErrorKind | None, str | None]:
    """(error_kind, error) of a finished worker. A worker that never reported its GPU did not reach
    the candidate's code: killed or dead then, it is the harness's fault (infrastructure). After
    that, silence past the watchdog is a timeout and a death without an error event a crash, both
    the candidate's."""
    reached = events.gpu is not None
    if killed:
        return ("timeout", killed) if reached else ("infrastructure", f"GPU worker did not start: {killed}")
    if events.error_kind is not None:
        return events.error_kind, events.error
    if returncode != 0 or not events.done:
        if not reached:
            return "infrastructure", f"GPU worker exited with code {returncode} before reaching the GPU"
        return "crash", f"worker exited with code {returncode} before finishing"
    return None, None


def watch(
    proc: subprocess.Popen[bytes],
    result_path: Path,
    timeout_s: float,
    grace_s: float = GRACE_S,
    mac_key: bytes | None = None,
) -> tuple[Events, str | None]:
    """Wait for the worker; kill it when silent too long or over ``timeout_s``. Returns its events
    (only those signed with ``mac_key``, when given) and, if killed, why."""
    start = last_change = time.monotonic()
    size = -1
    events = Events()
    expect = STARTUP_S

    def read() -> Events:
        return parse_events(result_path.read_text("utf-8", "replace").splitlines(), mac_key)

    while True:
        finished = proc.poll() is not None
        text = result_path.read_text("utf-8", "replace") if result_path.exists() else ""
        now = time.monotonic()
        if len(text) != size:
            size, last_change = len(text), now
            events = parse_events(text.splitlines(), mac_key)
            expect = events.last_expect_s if events.last_expect_s is not None else STARTUP_S
        if finished:
            return events, None
        if now - start > timeout_s:
            _kill(proc)
            return read(), f"over the {timeout_s:g} s limit"
        if now - last_change > expect + grace_s:
            _kill(proc)
            phase = events.last_phase or "start-up"
            return read(), f"no progress for {expect + grace_s:g} s during {phase} (hung kernel?)"
        time.sleep(0.2)


def run_candidate(
    problem: Problem,
    source: str,
    *,
    shape_indices: list[int] | None = None,
    seed: int = 0,
    trials: int = 5,
    timing_trials: int = 100,
    compile_reference: bool = True,
    kernel_phase_s: float = 30.0,
    timeout_s: float = 900.0,
    cache_dir: Path | None = None,
    device: DeviceInfo | None = None,
) -> GpuRun:
    """Check and time ``source`` for ``problem`` on the GPU (all shapes unless told otherwise)."""
    started = time.monotonic()
    requested = list(range(len(problem.shapes))) if shape_indices is None else list(shape_indices)
    run = GpuRun(problem_id=problem.id, source_sha=source_sha(source), requested=requested)
    device = device or probe()
    if device is None:
        return run.model_copy(update={"error_kind": "infrastructure", "error": "no GPU with a working driver"})
    arch = device_arch(device.compute_capability)
    run = run.model_copy(update={"arch": arch, "device_name": device.name})
    # the same program the grader checked (its declarations first), for this GPU's arch; its PTX is
    # checked again, since `#if __CUDA_ARCH__` can make another arch's code differ
    build = compile_cuda(signature_program(problem, source), arch=arch, cache_dir=cache_dir)
    if not build.ok or build.cubin is None:
        return run.model_copy(update={"error_kind": "compile", "error": build.log})
    if findings := ptx_findings(problem, build.ptx or ""):
        reasons = "; ".join(f"{f.rule}: {f.message}" for f in findings[:5])
        return run.model_copy(update={"error_kind": "rejected", "error": f"for {arch}: {reasons}"})
    with tempfile.TemporaryDirectory(prefix="sf-gpu-") as tmp:
        cubin_path, result_path, stderr_path = Path(tmp, "kernel.cubin"), Path(tmp, "events.jsonl"), Path(tmp, "stderr")
        cubin_path.write_bytes(build.cubin)
        job = Job(
            problem_id=problem.id,
            cubin_path=str(cubin_path),
            result_path=str(result_path),
            shape_indices=requested,
            seed=seed,
            trials=trials,
            timing_trials=timing_trials,
            compile_reference=compile_reference,
            kernel_phase_s=kernel_phase_s,
        )
        with open(stderr_path, "wb") as err:
            proc = start_worker("skillfoundry.kernels.gpu.worker", job, _worker_env(), err)
            events, killed = watch(proc, result_path, timeout_s)
        stderr_tail = stderr_path.read_text("utf-8", "replace")[-4000:]
    error_kind, error = classify(events, proc.returncode, killed)
    gpu_name = events.gpu.name if events.gpu else device.name
    return run.model_copy(
        update={
            "gpu": events.gpu,
            "shapes": [annotate(s, problem, gpu_name) for s in events.shapes],
            "error_kind": error_kind,
            "error": error,
            "stderr_tail": stderr_tail,
            "wall_s": time.monotonic() - started,
        }
    )


def benchmark_records(run: GpuRun, shapes: Sequence[Mapping[str, int]]) -> list[dict[str, Any]]:
    """One dict per requested shape (``shapes[index]`` names it), shaped like ``KernelBenchmarkRecord``
    without ``run_id``."""
    by_index = {s.index: s for s in run.shapes}
    gpu_name = run.gpu.name if run.gpu else (run.device_name or "unknown")
    driver = (run.gpu.driver_version or run.gpu.cuda_driver_version) if run.gpu else None
    records = []
    for index in run.requested:
        shape_json = canonical_json(dict(shapes[index]))
        shape = by_index.get(index)
        detail: dict[str, Any] = {"arch": run.arch, "error_kind": run.error_kind, "error": run.error}
        if run.gpu:
            detail["gpu"] = run.gpu.model_dump(mode="json")
        if shape is not None:
            detail.update(
                trials=[t.model_dump(mode="json") for t in shape.trials],
                timed_check=shape.timed_check.model_dump(mode="json") if shape.timed_check else None,
                post_trials=[t.model_dump(mode="json") for t in shape.post_trials],
                floor_ms=shape.floor_ms,
                max_speedup=shape.max_speedup,
                speedup_vs_compiled=shape.speedup_vs_compiled,
                ref_compiled_note=shape.ref_compiled_note,
            )
        records.append(
            {
                "bench_id": content_id(
                    "bench", run.source_sha, run.problem_id, shape_json, gpu_name, driver, length=32
                ),
                "source_sha": run.source_sha,
                "problem_id": run.problem_id,
                "shape_json": shape_json,
                "gpu_name": gpu_name,
                "driver_version": driver or "unknown",
                "correct": bool(shape and shape.correct),
                "max_abs_err": shape.max_abs_err if shape else None,
                "time_ms": shape.time_ms if shape else None,
                "time_spread_ms": shape.time_spread_ms if shape else None,
                "ref_time_ms": shape.ref_time_ms if shape else None,
                "ref_compiled_time_ms": shape.ref_compiled_time_ms if shape else None,
                "speedup": shape.speedup if shape else None,
                "trials": len(shape.samples_ms) if shape else 0,
                "samples_json": json.dumps(
                    {
                        "kernel": shape.samples_ms if shape else [],
                        "reference": shape.ref_samples_ms if shape else [],
                        "reference_compiled": shape.ref_compiled_samples_ms if shape else [],
                    }
                ),
                "suspect": bool(shape and shape.suspect),
                "detail_json": canonical_json(detail),
            }
        )
    return records
