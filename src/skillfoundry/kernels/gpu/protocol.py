"""What the runner and its worker subprocess say to each other, and the results they produce.

The runner writes a Job as JSON to the worker's stdin. The worker appends one JSON event per
line to the job's result file (not stdout: a kernel's printf lands on stdout and must not be
able to forge results): ``isolation`` (what a KernelBench worker cut itself off from), ``gpu``,
``phase`` (a heartbeat naming how long until the next event), ``shape`` (one per finished shape),
``error``, ``done``. ``parse_events`` reads them back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, Literal, NoReturn, get_args

from pydantic import BaseModel, Field, ValidationError

ErrorKind = Literal["no_gpu", "compile", "rejected", "load", "fault", "timeout", "crash", "infrastructure"]
"""Why a run stopped. Only ``infrastructure`` (and ``no_gpu``) are the harness's or the machine's
fault (worker could not start, torch or the driver missing, the harness failed before the candidate
was loaded); everything else is the candidate's: it did not compile or was rejected for this
GPU's arch, failed to load, faulted (illegal address, trap, launch failure, out of memory),
stopped making progress (timeout: an endless loop) or killed its worker (crash)."""


class Comparison(BaseModel):
    """How one output tensor compares: ``ok`` only when shapes match, all values are finite and
    every element is within atol + rtol * |expected|."""

    ok: bool
    shape_ok: bool
    total: int
    mismatched: int
    nonfinite: int
    max_abs_err: float | None = None
    first_bad_index: list[int] | None = None


class TrialPlan(BaseModel):
    """How many correctness trials, timed samples and trials after timing a worker runs, from which seed."""

    seed: int = 0
    trials: int = Field(default=5, ge=1)
    post_trials: int = Field(default=2, ge=1)
    timing_trials: int = Field(default=100, ge=1)
    warmup: int = Field(default=10, ge=1)
    timing_budget_s: float = 20.0


class Job(TrialPlan):
    """One candidate to check and time on the GPU."""

    problem_id: str
    cubin_path: str
    result_path: str
    shape_indices: list[int]
    kernel_phase_s: float = 30.0
    compile_reference: bool = True
    compile_phase_s: float = 300.0


class GpuInfo(BaseModel):
    """The GPU a run used, as the worker saw it."""

    name: str
    compute_capability: tuple[int, int]
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    torch_version: str | None = None
    sm_count: int | None = None
    l2_bytes: int | None = None
    total_memory_bytes: int | None = None
    clocks_mhz: dict[str, int] = Field(default_factory=dict)


class TrialResult(BaseModel):
    """One correctness trial: fresh seeded inputs, poisoned outputs, launch, compare, mutation check."""

    seed: int
    ok: bool
    outputs: dict[str, Comparison] = Field(default_factory=dict)
    mutated: list[str] = Field(default_factory=list)
    torch_ops: list[str] = Field(default_factory=list)  # torch operators doing the work (KernelBench answers)


class ShapeResult(BaseModel):
    """Everything measured for one shape; times in milliseconds, every raw sample kept."""

    index: int
    dims: dict[str, int]
    correct: bool
    trials: list[TrialResult] = Field(default_factory=list)
    timed_check: TrialResult | None = None
    post_trials: list[TrialResult] = Field(default_factory=list)
    samples_ms: list[float] = Field(default_factory=list)
    ref_samples_ms: list[float] = Field(default_factory=list)
    ref_compiled_samples_ms: list[float] = Field(default_factory=list)
    ref_compiled_note: str | None = None
    time_ms: float | None = None
    time_spread_ms: float | None = None
    ref_time_ms: float | None = None
    ref_compiled_time_ms: float | None = None
    speedup: float | None = None
    speedup_vs_compiled: float | None = None
    floor_ms: float | None = None
    max_speedup: float | None = None
    suspect: bool = False

    @property
    def checks(self) -> list[TrialResult]:
        """Every correctness check of this shape: the trials, the check of the timed buffers, the trials after."""
        return [*self.trials, *([self.timed_check] if self.timed_check else []), *self.post_trials]

    @property
    def max_abs_err(self) -> float | None:
        errs = [c.max_abs_err for t in self.checks for c in t.outputs.values() if c.max_abs_err is not None]
        return max(errs) if errs else None


class Events(BaseModel):
    """The worker's events, read back."""

    gpu: GpuInfo | None = None
    shapes: list[ShapeResult] = Field(default_factory=list)
    error_kind: ErrorKind | None = None
    error: str | None = None
    done: bool = False
    isolation: str | None = None
    last_phase: str | None = None
    last_expect_s: float | None = None


def _mac(key: bytes, data: dict[str, Any]) -> str:
    return hmac.new(key, json.dumps(data, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def event_line(event: str, *, mac_key: bytes | None = None, **payload: Any) -> str:
    """One event as a JSON line, signed with ``mac_key`` when given."""
    data = {"event": event, **payload}
    return json.dumps({**data, "mac": _mac(mac_key, data)} if mac_key is not None else data) + "\n"


Emit = Callable[..., None]
"""How a worker reports: ``emit(event, **payload)``."""


def serve(result_path: str, work: Callable[[Emit], int], mac_key: bytes | None = None) -> NoReturn:
    """A worker's life: ``work(emit)`` with ``emit`` appending (signed) events to ``result_path``, then exit
    with the code it returns, skipping interpreter teardown (a faulted CUDA context can hang it)."""
    with open(result_path, "a", encoding="utf-8") as out:

        def emit(event: str, **payload: Any) -> None:
            out.write(event_line(event, mac_key=mac_key, **payload))
            out.flush()

        code = work(emit)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def parse_events(lines: Iterable[str], mac_key: bytes | None = None) -> Events:
    """Read worker events; malformed lines (a line cut short when the worker was killed) are skipped, and
    with ``mac_key`` so is every line not signed with it (written by something other than the worker)."""
    events = Events()
    for line in lines:
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            continue
        if mac_key is not None:
            mac = data.pop("mac", None)
            if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(mac_key, data)):
                continue
        kind = data.get("event")
        try:
            if kind == "gpu":
                events.gpu = GpuInfo.model_validate(data["gpu"])
            elif kind == "shape":
                events.shapes.append(ShapeResult.model_validate(data["shape"]))
            elif kind == "phase":
                events.last_phase = str(data.get("name"))
                events.last_expect_s = float(data.get("expect_s", 0.0))
            elif kind == "error":
                kind_name = data.get("kind")
                events.error_kind = kind_name if kind_name in get_args(ErrorKind) else "infrastructure"
                events.error = str(data.get("message", ""))
            elif kind == "done":
                events.done = True
            elif kind == "isolation":
                events.isolation = str(data["applied"])
        except (KeyError, TypeError, ValueError, ValidationError):
            continue
    return events
