"""Child side of the Python-check sandbox; run as ``python -I sandbox_child.py SPEC_JSON``. Stdlib only.

Three processes, each with one job:

- the **relay** (started by the grader): reads the inputs, opens the host paths the view needs, unshares
  every namespace (user, mount, pid, net, ipc, uts, cgroup), tells the grader, which maps uid/gid 0 inside
  to an unprivileged id outside, then forks the supervisor and relays its events to the grader. On
  SIGTERM (the grader's wall clock) it SIGKILLs the supervisor, which tears down the whole PID namespace.
- the **supervisor** (PID 1 of the new PID namespace): builds the mount view on a fresh tmpfs (host
  system dirs and the interpreter's prefixes bound read-only; tmpfs /scratch, /tmp, /dev/shm; a /dev with
  null, zero, urandom; its own /proc), pivots into it, forbids further user namespaces, forks the runner
  and waits for it. When the runner ends, the supervisor exits and the kernel kills everything left in
  the namespace (double-forked daemons included).
- the **runner** (PID 2): drops every capability, denies the syscalls it never needs (seccomp), applies
  the resource limits, and runs ``check(answer)`` in /scratch; the verdict goes to the result file the
  grader opened.

Events (JSON lines on the control pipe, which the check's code never holds): ``unshared``,
``ready`` (with ``proc``), ``started`` (the check's code is about to run), ``runner`` (``exit`` or
``signal``), or ``error`` (isolation refused: the check did not run).
"""

import fcntl
import json
import math
import os
import resource
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # only for this import (python -I)
import sandbox_linux as linux  # noqa: E402

del sys.path[0]

#: Host dirs seen read-only inside (a symlink, e.g. /lib -> usr/lib on merged-usr systems, is copied as one).
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
SYSTEM_FILES = ("/etc/ld.so.cache",)
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom")
SCRATCH = "/scratch"
RESULT_FD = 3
STATUS_FD = 4


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _emit(fd, **event):
    os.write(fd, (json.dumps(event) + "\n").encode())


# ---------------------------------------------------------------- the mount view


def _under(path, roots):
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _plan():
    """(binds: [(target, O_PATH fd, is_device)], symlinks: [(target, link text)]) for the view, opened
    while the host paths are still reachable with the grader's uid."""
    binds, links, bound = [], [], []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            bound.append(path)
    prefixes = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix}
    for prefix in sorted(prefixes, key=len):
        if not _under(prefix, bound):
            bound.append(prefix)
    binds += [(path, os.open(path, os.O_PATH | os.O_CLOEXEC), False) for path in bound]
    binds += [(p, os.open(p, os.O_PATH | os.O_CLOEXEC), False) for p in SYSTEM_FILES if os.path.isfile(p)]
    binds += [(p, os.open(p, os.O_PATH | os.O_CLOEXEC), True) for p in DEVICES]
    return binds, links


def _tmpfs(target, size_bytes, mode, flags):
    os.makedirs(target, mode=0o755, exist_ok=True)
    linux.mount("tmpfs", target, "tmpfs", flags, f"size={size_bytes},nr_inodes=4096,mode={mode:o}")


def _build_view(spec, binds, links):
    """Mount the check's file system under spec["root_dir"], make all but the scratch areas read-only,
    and pivot into it. Returns whether /proc could be mounted (without it the view has an empty /proc)."""
    root = spec["root_dir"]
    flags = linux.MS_NOSUID | linux.MS_NODEV
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)  # nothing we mount reaches the host
    linux.mount("tmpfs", root, "tmpfs", flags, "size=1048576,nr_inodes=4096,mode=755")
    for target, text in links:
        os.symlink(text, root + target)
    _tmpfs(root + "/dev", 65536, 0o755, linux.MS_NOSUID | linux.MS_NOEXEC)
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{fd}", f"{root}/dev/{name}")
    os.symlink("/proc/self/fd", root + "/dev/fd")
    writable = {SCRATCH: spec["scratch_bytes"], "/tmp": spec["tmp_bytes"], "/dev/shm": spec["shm_bytes"]}
    for target, size in writable.items():
        _tmpfs(
            root + target, size, 0o755 if target == SCRATCH else 0o1777, flags | (linux.MS_NOEXEC * (target != SCRATCH))
        )
    for target, fd, _ in binds:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(root + target, mode=0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(root + target), mode=0o755, exist_ok=True)
            open(root + target, "w").close()
        linux.bind(fd, root + target)
    os.makedirs(root + "/proc", mode=0o555, exist_ok=True)
    try:
        linux.mount("proc", root + "/proc", "proc", flags | linux.MS_NOEXEC)
        has_proc = True
    except linux.SandboxError:  # a host /proc with masked parts (containers): an empty /proc is stricter
        has_proc = False
    devices = {root + target for target, _, device in binds if device}
    keep = {root + path for path in writable} | {root + "/proc"}
    for point in linux.mount_points():
        inside = point == root or point.startswith(root + "/")
        if inside and point not in keep and not point.startswith(root + "/proc/"):
            linux.remount_readonly(point, devices=point in devices)
    with open("/proc/sys/user/max_user_namespaces", "w") as handle:  # this namespace's own limit
        handle.write("0")
    linux.pivot_into(root)
    linux.sethostname("sandbox")
    return has_proc


# ---------------------------------------------------------------- the runner


def _limit(which, soft, hard=None):
    resource.setrlimit(which, (soft, soft if hard is None else hard))


def _apply_limits(spec):
    _limit(resource.RLIMIT_AS, spec["memory_bytes"])
    _limit(resource.RLIMIT_CPU, spec["cpu_s"], spec["cpu_s"] + 1)
    _limit(resource.RLIMIT_FSIZE, spec["fsize_bytes"])
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, spec["max_files"])
    _limit(resource.RLIMIT_NPROC, spec["max_processes"])


def _run(code, answer):
    namespace = {"__name__": "__check__"}
    try:
        exec(compile(code, "check.py", "exec"), namespace)
    except MemoryError:
        return {"status": "memory"}
    except SyntaxError as exc:
        return {"status": "bad-code", "error": f"SyntaxError: {exc.msg} (line {exc.lineno})"}
    except BaseException as exc:  # the code's top level failed
        return {"status": "bad-code", "error": f"{type(exc).__name__}: {exc}"[:500]}
    check = namespace.get("check")
    if not callable(check):
        return {"status": "bad-code", "error": "the code defines no check(output) function"}
    try:
        value = check(answer)
    except MemoryError:
        return {"status": "memory"}
    except BaseException as exc:
        return {"status": "raised", "error": f"{type(exc).__name__}: {exc}"[:500]}
    if isinstance(value, bool):
        return {"status": "ok", "value": value}
    if isinstance(value, (int, float)) and math.isfinite(value):
        return {"status": "ok", "value": float(value)}
    return {
        "status": "bad-return",
        "error": f"check returned {type(value).__name__} {str(value)[:80]!r}, expected bool or a finite number",
    }


def _write_result(result):
    os.lseek(RESULT_FD, 0, os.SEEK_SET)
    os.ftruncate(RESULT_FD, 0)
    os.write(RESULT_FD, json.dumps(result).encode())


def _runner(spec, code, answer, last_cap, status_fd):
    """PID 2: no capabilities, limited, in /scratch; only stdin/stdout/stderr and the result file open
    while the check runs. Says ``started`` on the status pipe (which the check never holds) first."""
    # first out of the way (either may sit on 3 or 4), then to their fixed numbers; the rest closed
    result_fd, status_fd = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in (spec["result_fd"], status_fd))
    os.dup2(result_fd, RESULT_FD, inheritable=False)
    os.dup2(status_fd, STATUS_FD, inheritable=False)
    os.closerange(STATUS_FD + 1, 1 << 20)
    linux.drop_all_capabilities(last_cap)
    linux.deny_syscalls()
    _apply_limits(spec)
    os.chdir(SCRATCH)
    _emit(STATUS_FD, event="started")
    os.close(STATUS_FD)
    runner = os.getpid()
    result = _run(code, answer)
    if os.getpid() != runner:  # a process the check forked returned from check(): only the runner reports
        os._exit(0)
    _write_result(result)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # e.g. the file size limit the check's prints ran into
            pass
    os._exit(0)


# ---------------------------------------------------------------- supervisor and relay


def _supervisor(spec, code, answer, binds, links, last_cap, status_fd):
    """PID 1: build the view, start the runner, reap everything, report how the runner ended."""
    try:
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL, "setting the parent-death signal")
        has_proc = _build_view(spec, binds, links)
        for fd in [fd for _, fd, _ in binds] + [spec["control_fd"], spec["go_fd"]]:
            os.close(fd)
        os.setsid()
    except (linux.SandboxError, OSError) as exc:
        _emit(status_fd, event="error", message=str(exc))
        os._exit(1)
    _emit(status_fd, event="ready", proc=has_proc)
    runner = os.fork()
    if runner == 0:
        try:
            _runner(spec, code, answer, last_cap, status_fd)
        except BaseException as exc:  # before the check ran: the sandbox, not the check, failed
            os.write(2, f"sandbox runner: {type(exc).__name__}: {exc}\n".encode())
            os._exit(70)
    linux.drop_all_capabilities(last_cap)
    while True:
        pid, status = os.wait()
        if pid == runner:
            break
    if os.WIFSIGNALED(status):
        _emit(status_fd, event="runner", signal=os.WTERMSIG(status))
    else:
        _emit(status_fd, event="runner", exit=os.waitstatus_to_exitcode(status))
    os._exit(0)


def _kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)  # the namespace's init: everything in it dies with it
    except ProcessLookupError:
        pass


def main():
    spec = json.loads(sys.argv[1])
    control = spec["control_fd"]
    try:
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL, "setting the parent-death signal")
        linux.prctl(linux.PR_SET_DUMPABLE, 0, "making the relay undumpable")
        code = _read(spec["code_path"]).decode("utf-8", "surrogatepass")
        answer = _read(spec["answer_path"]).decode("utf-8", "surrogatepass")
        last_cap = int(_read("/proc/sys/kernel/cap_last_cap"))
        try:
            linux.unshare(sum(linux.NAMESPACES.values()))
        except linux.SandboxError as exc:
            raise linux.SandboxError(
                f"{exc}; this kernel or container refuses user namespaces (see "
                "user.max_user_namespaces, kernel.unprivileged_userns_clone, AppArmor's "
                "restrict_unprivileged_userns, or a seccomp profile forbidding unshare)"
            ) from None
        binds, links = _plan()  # in the new mount namespace (binds must come from it), still as the grader's uid
    except (linux.SandboxError, OSError) as exc:
        _emit(control, event="error", message=str(exc))
        return
    _emit(control, event="unshared")
    if os.read(spec["go_fd"], 1) != b"G":
        return
    try:
        os.setresgid(0, 0, 0)
        if _read("/proc/self/setgroups").strip() == b"allow":  # denied: the grader's own groups
            os.setgroups([])  # a root grader's supplementary groups (gid 0...) must not follow the check
        os.setresuid(0, 0, 0)
    except OSError as exc:
        _emit(control, event="error", message=f"taking the mapped ids: {exc}")
        return
    status_read, status_write = os.pipe()
    supervisor = os.fork()
    if supervisor == 0:
        os.close(status_read)
        _supervisor(spec, code, answer, binds, links, last_cap, status_write)
    os.close(status_write)
    for _, fd, _ in binds:
        os.close(fd)
    signal.signal(signal.SIGTERM, lambda *_: _kill_quietly(supervisor))
    while chunk := os.read(status_read, 65536):
        os.write(control, chunk)
    os.waitpid(supervisor, 0)


if __name__ == "__main__":
    main()
    os._exit(0)  # the relay has nothing to flush; skipping interpreter teardown saves the grader time
