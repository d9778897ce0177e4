"""Run a PythonCheck's ``check(output) -> bool | float`` in a sandbox (``sandbox_child.py`` does the inside).

What the check gets (Linux namespaces, no extra system package; see sandbox_child.py for the mechanics):
- its own user namespace: uid/gid 0 inside is ``SANDBOX_ID`` (nobody) on the host when the grader is root,
  else (an unprivileged grader, or a root in a user namespace without nobody) the grader's own ids,
  reported as ``detail["isolation"]["host_uid"]``; no capabilities at all (bounding set emptied, no_new_privs,
  securebits locked), supplementary groups dropped, no further user namespaces, and a seccomp filter that
  refuses io_uring, bpf, perf, userfaultfd, keyrings, ptrace, mounts, namespaces, modules, and memory
  outside the address-space limit (memfd, System V shared memory and queues) with EPERM;
- its own mount view: the host's /usr (and /lib, /bin... or their symlinks), the interpreter's prefixes
  and site-packages and /etc/ld.so.cache, all read-only; writable only tmpfs ``/scratch`` (its working
  directory), ``/tmp`` and ``/dev/shm``, all size-limited and gone when it ends; /dev with null, zero,
  urandom; /proc of its own PID namespace; no home, no /etc, no /run, no host /tmp;
- its own PID namespace (killing its init kills everything it started, daemons included), network
  namespace (no interfaces up; abstract Unix sockets of the host unreachable), IPC, UTS and cgroup
  namespaces;
- limits: address space ``memory_mb``, CPU ``ceil(timeout_s)`` s, wall clock ``timeout_s`` + start-up
  grace, ``MAX_PROCESSES`` tasks, ``FSIZE_BYTES`` per file written, ``MAX_FILES`` open files, no core dumps.
  Memory is bounded per process, so a check that forks can hold up to ``MAX_PROCESSES`` x ``memory_mb``
  plus the tmpfs sizes (no cgroup is required, so none is used).
Where the kernel refuses any of this (no user namespaces, a seccomp profile forbidding mount...), the
check does not run: the outcome is an infrastructure error naming the refused step, never a weaker run.
Stored text (the reason, the stderr tail) is clipped and scrubbed of secrets (sandbox_output.py).

Verdict: ``True``/``False`` -> score 1/0; a number -> score clamped to [0, 1], passed when >= 0.5.
Exceptions, bad return values, time-outs, memory exhaustion and crashes fail with a clear reason.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

from skillfoundry.grading.outcome import CheckOutcome, GradingLevel
from skillfoundry.grading.sandbox_output import stored
from skillfoundry.skills.model import PythonCheck

PASS_SCORE = 0.5
LEVEL = GradingLevel.SANDBOXED
STARTUP_GRACE_S = 3.0
TERM_GRACE_S = 5.0
FSIZE_BYTES = 16 * 2**20
MAX_FILES = 64
MAX_PROCESSES = 16  # tasks (processes and threads) inside the sandbox, its own init and runner included
SCRATCH_BYTES = 64 * 2**20
TMP_BYTES = 64 * 2**20
SHM_BYTES = 16 * 2**20
SANDBOX_ID = 65534  # nobody/nogroup: the host uid and gid of the check when the grader is root
#: Threads of numeric libraries count against MAX_PROCESSES; the check's only environment.
CHECK_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
REASON_CHARS = 600
TAIL_CHARS = 1000
_CHILD = Path(__file__).with_name("sandbox_child.py")
_RESULT_BYTES = 64 * 1024
NAMESPACES = ["user", "mount", "pid", "net", "ipc", "uts", "cgroup"]


class SandboxEvents(BaseModel):
    """What the sandbox's relay reported on the control pipe (see sandbox_child.py)."""

    unshared: bool = False
    started: bool = False
    error: str | None = None
    proc: bool | None = None
    runner_exit: int | None = None
    runner_signal: int | None = None

    @classmethod
    def parse(cls, raw: bytes) -> SandboxEvents:
        events = cls()
        for line in raw.decode("utf-8", "replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.get("event")
            if kind == "unshared":
                events.unshared = True
            elif kind == "error":
                events.error = str(event.get("message"))
            elif kind == "started":
                events.started = True
            elif kind == "ready":
                events.proc = bool(event.get("proc"))
            elif kind == "runner":
                events.runner_exit, events.runner_signal = event.get("exit"), event.get("signal")
        return events


def _outcome(passed: bool, score: float, reason: str, infra_error: bool = False, **detail: object) -> CheckOutcome:
    """The one place outcomes are made. ``infra_error``: the sandbox, not the check, failed."""
    why = stored(reason, REASON_CHARS)
    return CheckOutcome(
        grader="python",
        level=LEVEL,
        passed=passed,
        score=score,
        infra_error=why if infra_error else None,
        detail={"reason": why, **detail},
    )


def _fail(reason: str, **detail: object) -> CheckOutcome:
    return _outcome(False, 0.0, reason, **detail)


def _infra(reason: str, **detail: object) -> CheckOutcome:
    return _outcome(False, 0.0, f"sandbox unavailable, the check did not run: {reason}", infra_error=True, **detail)


def _tail(path: Path) -> str:
    """The end of a file the check wrote, scrubbed and clipped (read wider than kept, so a secret cut by
    the read is still recognised whole within what is kept)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - 8 * TAIL_CHARS))
            return stored(handle.read().decode("utf-8", "replace"), TAIL_CHARS)
    except OSError:
        return ""


def _signal_reason(sig: int, check: PythonCheck) -> str:
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


def _read_until(fd: int, marker: bytes, deadline: float) -> bytes:
    """Bytes from ``fd`` until ``marker`` is among them, EOF, or ``deadline`` (monotonic) passes."""
    data = b""
    while marker not in data and (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data


def _map_id(pid: int, name: str, preferred: int | None, own: int) -> int:
    path = Path(f"/proc/{pid}/{name}")
    if preferred is not None:
        try:
            path.write_text(f"0 {preferred} 1")
            return preferred
        except OSError:  # e.g. a root inside a user namespace that maps nothing but itself
            pass
    path.write_text(f"0 {own} 1")
    return own


def _map_ids(pid: int) -> int:
    """Map uid/gid 0 of the child's new user namespace to an unprivileged host id and return the uid.
    A root grader maps nobody where its namespace has it, leaving setgroups allowed so the child drops
    root's supplementary groups; otherwise (any other grader, or a root that cannot) the grader's own
    ids, the only mapping such a process may write (setgroups denied when unprivileged)."""
    root = os.geteuid() == 0
    if not root:
        Path(f"/proc/{pid}/setgroups").write_text("deny")
    uid = _map_id(pid, "uid_map", SANDBOX_ID if root else None, os.geteuid())
    _map_id(pid, "gid_map", SANDBOX_ID if root else None, os.getegid())
    return uid


def _spec(check: PythonCheck, base: Path, control_fd: int, go_fd: int, result_fd: int) -> str:
    return json.dumps(
        {
            "code_path": str(base / "check.py"),
            "answer_path": str(base / "answer.txt"),
            "root_dir": str(base / "root"),
            "control_fd": control_fd,
            "go_fd": go_fd,
            "result_fd": result_fd,
            "memory_bytes": int(check.memory_mb) * 2**20,
            "cpu_s": max(1, math.ceil(check.timeout_s)),
            "fsize_bytes": FSIZE_BYTES,
            "max_files": MAX_FILES,
            "max_processes": MAX_PROCESSES,
            "scratch_bytes": SCRATCH_BYTES,
            "tmp_bytes": TMP_BYTES,
            "shm_bytes": SHM_BYTES,
        }
    )


def _verdict(raw: str, check: PythonCheck, exit_code: int | None, **detail: object) -> CheckOutcome:
    """The outcome for what the runner wrote to the result file (it had started the check)."""
    if not raw:
        return _fail(f"the check exited without returning (exit code {exit_code})", **detail)
    try:
        result = json.loads(raw)
        status = result["status"]
    except (ValueError, KeyError, TypeError):
        return _fail("the check left an unreadable result", **detail)
    if status == "memory":
        return _fail(f"exceeded the memory limit ({check.memory_mb} MB)", **detail)
    if status == "raised":
        return _fail(f"check raised {result.get('error', '')}", **detail)
    if status == "bad-code":
        return _fail(f"check code failed: {result.get('error', '')}", check_error=True, **detail)
    if status != "ok":
        return _fail(str(result.get("error", status)), **detail)
    value = result.get("value")
    if not isinstance(value, bool | int | float) or not math.isfinite(value):
        return _fail("the check left an unreadable result", **detail)
    score = (1.0 if value else 0.0) if isinstance(value, bool) else min(1.0, max(0.0, float(value)))
    passed = value if isinstance(value, bool) else score >= PASS_SCORE
    return _outcome(passed, score, f"check returned {value!r}", **detail)


def grade_python(check: PythonCheck, answer: str) -> CheckOutcome:
    """Run ``check.code``'s ``check(answer)`` in the sandbox and turn what it returns into an outcome."""
    with tempfile.TemporaryDirectory(prefix="sf-pycheck-", ignore_cleanup_errors=True) as tmp:
        base = Path(tmp)
        base.chmod(0o711)  # the mapped uid must reach base/root to mount on it; it lists nothing here
        (base / "root").mkdir()
        for name, text in (("check.py", check.code), ("answer.txt", answer)):
            (base / name).touch(mode=0o600)
            (base / name).write_bytes(text.encode("utf-8", "surrogatepass"))
        control_r, control_w = os.pipe()
        go_r, go_w = os.pipe()
        result_fd = os.open(base / "result.json", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        spec = _spec(check, base, control_w, go_r, result_fd)
        command = [sys.executable, "-I", str(_CHILD), spec]
        try:
            with open(base / "stdout.txt", "wb") as out, open(base / "stderr.txt", "wb") as err:
                proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=base,
                    env=CHECK_ENV,
                    start_new_session=True,
                    pass_fds=(control_w, go_r, result_fd),
                )
        except OSError as exc:
            for fd in (control_r, control_w, go_r, go_w, result_fd):
                os.close(fd)
            return _infra(f"could not start the sandbox: {exc}")
        os.close(control_w)
        os.close(go_r)
        try:
            return _supervise(proc, check, base, control_r, go_w, result_fd)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(control_r)
            os.close(result_fd)


def _supervise(
    proc: subprocess.Popen[bytes], check: PythonCheck, base: Path, control_r: int, go_w: int, result_fd: int
) -> CheckOutcome:
    """Handshake (map ids once the child has unshared; closing ``go_w`` without a go stops it), wall
    clock, then the outcome."""
    started = time.monotonic()
    events_raw = _read_until(control_r, b'"unshared"', started + STARTUP_GRACE_S + check.timeout_s)
    handshake = SandboxEvents.parse(events_raw)
    host_uid = None
    try:
        if handshake.unshared and handshake.error is None:
            host_uid = _map_ids(proc.pid)
            os.write(go_w, b"G")
    except OSError as exc:
        return _infra(f"mapping the check's uid/gid: {exc}")
    finally:
        os.close(go_w)
    timed_out = False
    wall = check.timeout_s + STARTUP_GRACE_S
    try:
        proc.wait(timeout=max(0.0, started + wall - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.send_signal(signal.SIGTERM)  # the relay kills the namespace's init, which takes the rest
        try:
            proc.wait(timeout=TERM_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    events = SandboxEvents.parse(events_raw + _read_until(control_r, b"\0", time.monotonic() + 1.0))
    isolation = {
        "namespaces": NAMESPACES,
        "host_uid": host_uid,
        "grader_uid": os.geteuid(),
        "capabilities": "none",
        "seccomp": "deny-list",
        "proc": events.proc,
    }
    detail = {"isolation": isolation, "stderr_tail": _tail(base / "stderr.txt")}
    if events.error is not None:
        return _infra(events.error, **detail)
    if not events.started:
        if timed_out:
            return _infra(f"the sandbox did not start the check within {wall:.1f} s", **detail)
        return _infra(f"the sandbox stopped before the check started (exit code {proc.returncode})", **detail)
    if timed_out:
        return _fail(
            f"timed out after {wall:.1f} s wall clock (limit {check.timeout_s} s + start-up); killed", **detail
        )
    if events.runner_signal is not None:
        return _fail(_signal_reason(events.runner_signal, check), **detail)
    os.lseek(result_fd, 0, os.SEEK_SET)
    raw = os.read(result_fd, _RESULT_BYTES).decode("utf-8", "replace")
    return _verdict(raw, check, events.runner_exit, **detail)
