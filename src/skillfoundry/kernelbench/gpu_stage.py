"""Run a KernelBench answer against its reference in a killable worker process.

The worker is watched like the native GPU worker (``kernels.gpu.runner``): silent past its phase's
deadline or over the whole timeout, it is killed with its process group. The answer's Python and its
compiled extension are untrusted and run only there: after the static checks passed, in a session of its
own, with an environment cut down to what compiling and the GPU need (no API keys, no user site), a
private home and temp folder, no core dumps, no new privileges and, where the kernel allows a user
namespace, no network (``worker_main.isolate``; what applied is recorded with the grade).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import skillfoundry
from skillfoundry.kernelbench.job import KBJob
from skillfoundry.kernelbench.problems import KBProblem
from skillfoundry.kernels.compile import source_sha
from skillfoundry.kernels.gpu.probe import DeviceInfo
from skillfoundry.kernels.gpu.runner import GpuRun, classify, device_arch, start_worker, watch

#: Variables the worker keeps: finding the compilers, CUDA and the GPU; nothing else of the caller's.
KEPT_ENV = (
    "PATH", "LANG", "LC_ALL", "CUDA_HOME", "CUDA_PATH", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
    "LD_LIBRARY_PATH", "CC", "CXX", "MAX_JOBS",
)  # fmt: skip


def problem_dims(problem: KBProblem) -> dict[str, int]:
    """The problem's integer size constants (``batch_size``...): what its one benchmark shape is named by."""
    return {k: v for k, v in problem.constants.items() if isinstance(v, int) and not isinstance(v, bool)}


def build_key(module_source: str) -> str:
    """What an answer's extensions are built from: its module-level assignments (the sources, flags and
    the ``load_inline`` calls themselves), not its classes. Answers with the same key share a build folder
    (a rebuild saved); answers whose extensions differ never do, so one cannot load another's library.
    Source that does not parse is keyed whole."""
    try:
        tree = ast.parse(module_source)
    except (SyntaxError, ValueError):
        return hashlib.sha256(module_source.encode()).hexdigest()[:24]
    assigns = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign | ast.Expr)]
    return hashlib.sha256(json.dumps(assigns).encode()).hexdigest()[:24]


def worker_env(home: Path, build_dir: Path, device: DeviceInfo | None) -> dict[str, str]:
    """The worker's whole environment: the kept variables, a private home, and torch's extension folder."""
    src = str(Path(skillfoundry.__file__).resolve().parent.parent)
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    # the tools installed beside this Python (ninja, which load_inline builds with) come first
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH", "")) if p)
    env.update(
        HOME=str(home),
        TMPDIR=str(home),
        TORCH_EXTENSIONS_DIR=str(build_dir),
        PYTHONPATH=src,
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if device is not None:  # nvcc builds for this GPU only
        env["TORCH_CUDA_ARCH_LIST"] = "{}.{}".format(*device.compute_capability)
    return env


def run_answer(
    problem: KBProblem,
    module_source: str,
    *,
    build_dir: Path,
    device: DeviceInfo | None,
    seed: int = 0,
    trials: int = 5,
    timing_trials: int = 100,
    phase_s: float = 60.0,
    timeout_s: float = 1800.0,
) -> GpuRun:
    """Check (and time) ``module_source`` against ``problem`` on ``device``'s GPU; on the CPU when None
    (correctness only: how the protocol is tested without a GPU)."""
    started = time.monotonic()
    run = GpuRun(problem_id=problem.id, source_sha=source_sha(module_source), requested=[0])
    if device is not None:
        run = run.model_copy(update={"arch": device_arch(device.compute_capability), "device_name": device.name})
    key = secrets.token_bytes(32)
    build_dir = build_dir / build_key(module_source)
    build_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sf-kb-") as tmp:
        result_path, stderr_path = Path(tmp, "events.jsonl"), Path(tmp, "stderr")
        job = KBJob(
            problem_id=problem.id,
            problem_source=problem.source,
            answer_source=module_source,
            dims=problem_dims(problem),
            result_path=str(result_path),
            event_key=key.hex(),
            device="cuda" if device is not None else "cpu",
            seed=seed,
            trials=trials,
            timing_trials=timing_trials,
            phase_s=phase_s,
        )
        home = Path(tmp, "home")
        home.mkdir()
        with open(stderr_path, "wb") as err:
            proc = start_worker(
                "skillfoundry.kernelbench.worker_main", job, worker_env(home, build_dir, device), err, home
            )
            events, killed = watch(proc, result_path, timeout_s, mac_key=key)
        stderr_tail = stderr_path.read_text("utf-8", "replace")[-4000:]
    error_kind, error = classify(events, proc.returncode, killed)
    return run.model_copy(
        update={
            "gpu": events.gpu,
            "shapes": events.shapes,
            "error_kind": error_kind,
            "error": error,
            "isolation": events.isolation,
            "stderr_tail": stderr_tail,
            "wall_s": time.monotonic() - started,
        }
    )
