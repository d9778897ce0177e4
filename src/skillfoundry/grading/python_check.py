"""Run a PythonCheck's ``check(output) -> bool | float`` in a sandboxed subprocess.

What is isolated:
- a fresh interpreter (``python -I``: no PYTHON* variables, no user site, script dir not on sys.path),
  an empty environment, a scratch working directory that is deleted afterwards;
- memory: RLIMIT_AS = ``memory_mb`` (an allocation beyond it raises MemoryError -> failed, "memory
  limit"); CPU: RLIMIT_CPU = ceil(timeout_s) (SIGXCPU); wall clock: ``timeout_s`` + 3 s for start-up,
  then SIGKILL to the whole process group (the child runs in its own session);
- files written: RLIMIT_FSIZE 16 MiB (stdout/stderr go to files, so a print flood is bounded too);
  open files: 64; core dumps: off;
- network: always, socket creation and name resolution are replaced by functions that raise (stops
  accidental use, not a determined attacker: ``_socket`` is still importable); in addition, where
  ``unshare --user --map-root-user --net`` works (unprivileged user namespaces), the child runs in a
  new user namespace with an empty network namespace: no network at all, and even when the grader
  runs as root the child cannot raise its own limits (that needs CAP_SYS_RESOURCE in the initial
  namespace). Failing that, as root, ``unshare --net`` alone. ``detail["isolation"]`` says what applied.
What is not isolated: the filesystem is readable and writable wherever the grader's user may read and
write (no chroot, no seccomp); without a user namespace a check run by root could raise its limits
(the wall-clock kill still applies); grandchildren that start a new session escape the group kill
(they still carry the limits). The limits are applied inside the child before any check
code runs, not in ``preexec_fn``, which is unsafe in threaded parents such as Prefect workers.

Verdict: ``True``/``False`` -> score 1/0; a number -> score clamped to [0, 1], passed when >= 0.5.
Exceptions, bad return values, time-outs, memory exhaustion and crashes fail with a clear reason.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from skillfoundry.grading.outcome import CheckOutcome
from skillfoundry.skills.model import PythonCheck

PASS_SCORE = 0.5
STARTUP_GRACE_S = 3.0
FSIZE_BYTES = 16 * 2**20
_CHILD = Path(__file__).with_name("sandbox_child.py")
_TAIL = 1000


@functools.cache
def _unshare_prefix() -> tuple[str, ...]:
    """The command prefix that puts the child in new user + network namespaces (or, as root, a network
    namespace only), or () where neither works here."""
    exe = shutil.which("unshare")
    if exe is None:
        return ()
    candidates = [(exe, "--user", "--map-root-user", "--net")] + ([(exe, "--net")] if os.geteuid() == 0 else [])
    for prefix in candidates:
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, env={})
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return prefix
    return ()


def _fail(reason: str, **detail: object) -> CheckOutcome:
    return CheckOutcome(grader="python", passed=False, score=0.0, detail={"reason": reason, **detail})


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - _TAIL))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _signal_reason(returncode: int, check: PythonCheck) -> str:
    sig = -returncode
    if sig == signal.SIGXCPU:
        return f"exceeded the CPU time limit ({max(1, math.ceil(check.timeout_s))} s)"
    if sig == signal.SIGKILL:
        return "killed by SIGKILL (CPU time hard limit, or out of memory)"
    if sig == signal.SIGXFSZ:
        return f"exceeded the file size limit ({FSIZE_BYTES // 2**20} MiB of output or files)"
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
    return f"crashed with signal {name}" + (
        " (probably out of memory)" if sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT) else ""
    )


def grade_python(check: PythonCheck, answer: str) -> CheckOutcome:
    """Run ``check.code``'s ``check(answer)`` in the sandbox and turn what it returns into an outcome."""
    prefix = _unshare_prefix()
    isolation = {"net_namespace": bool(prefix), "user_namespace": "--user" in prefix}
    with tempfile.TemporaryDirectory(prefix="sf-pycheck-", ignore_cleanup_errors=True) as tmp:
        base = Path(tmp)
        work = base / "work"
        work.mkdir()
        (base / "check.py").write_bytes(check.code.encode("utf-8", "surrogatepass"))
        (base / "answer.txt").write_bytes(answer.encode("utf-8", "surrogatepass"))
        result_path = base / "result.json"
        result_path.touch()
        spec = {
            "code_path": str(base / "check.py"),
            "answer_path": str(base / "answer.txt"),
            "result_path": str(result_path),
            "work_dir": str(work),
            "memory_bytes": int(check.memory_mb) * 2**20,
            "cpu_s": max(1, math.ceil(check.timeout_s)),
            "fsize_bytes": FSIZE_BYTES,
        }
        command = [*prefix, sys.executable, "-I", str(_CHILD), json.dumps(spec)]
        wall = check.timeout_s + STARTUP_GRACE_S
        with open(base / "stdout.txt", "wb") as out, open(base / "stderr.txt", "wb") as err:
            try:
                proc = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=work, env={}, start_new_session=True
                )
            except OSError as exc:
                return _fail(f"could not start the sandbox: {exc}", infra_error=True)
            try:
                returncode = proc.wait(timeout=wall)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(proc.pid)
            if timed_out:
                returncode = proc.wait()
        detail = {"isolation": isolation, "stderr_tail": _tail(base / "stderr.txt")}
        if timed_out:
            return _fail(
                f"timed out after {wall:.1f} s wall clock (limit {check.timeout_s} s + start-up); killed", **detail
            )
        raw = result_path.read_text(encoding="utf-8", errors="replace")
    if returncode < 0:
        return _fail(_signal_reason(returncode, check), **detail)
    try:
        result = json.loads(raw)
        status = result["status"]
    except (ValueError, KeyError, TypeError):
        return _fail(
            f"the sandbox failed before running the check (exit code {returncode})", infra_error=True, **detail
        )
    if status == "started":
        return _fail(f"the check exited without returning (exit code {returncode})", **detail)
    if status == "memory":
        return _fail(f"exceeded the memory limit ({check.memory_mb} MB)", **detail)
    if status == "raised":
        return _fail(f"check raised {result.get('error', '')}", **detail)
    if status == "bad-code":
        return _fail(f"check code failed: {result.get('error', '')}", check_error=True, **detail)
    if status != "ok":
        return _fail(str(result.get("error", status)), **detail)
    value = result["value"]
    score = (1.0 if value else 0.0) if isinstance(value, bool) else min(1.0, max(0.0, float(value)))
    passed = value if isinstance(value, bool) else score >= PASS_SCORE
    return CheckOutcome(
        grader="python", passed=passed, score=score, detail={"reason": f"check returned {value!r}", **detail}
    )
