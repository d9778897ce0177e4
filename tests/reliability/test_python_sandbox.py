"""Hostile and honest Python checks against the real sandbox (no mocks): every hostile check is contained
and leaves the host as it was (no file, no process, no shared-memory segment left; the grader and a
process in its group alive); every honest check still passes.

Each hostile check gets, as its answer, a JSON object naming what it may try to reach on the host (a
marker for names, a world-readable host file, the grader's pid and process group, a victim process,
listening sockets) and returns True only if it believes it got through; the host-side assertions are the
authority either way. Kinds (one test each, ``test_hostile_<kind>``): see the table in the module's tests.
"""

from __future__ import annotations

import json
import os
import secrets
import site
import socket
import stat
import subprocess
import sys
import sysconfig
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from skillfoundry.grading import python_check
from skillfoundry.grading.outcome import CheckOutcome
from skillfoundry.grading.python_check import MAX_PROCESSES, SANDBOX_ID, SHM_BYTES, grade_python
from skillfoundry.skills.model import PythonCheck

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Host:
    """What a hostile check is told about the host, and what the test checks afterwards."""

    marker: str
    host_file: Path
    host_content: str
    victim: subprocess.Popen[bytes]

    def answer(self, **extra: object) -> str:
        return json.dumps(
            {
                "marker": self.marker,
                "host_file": str(self.host_file),
                "host_content": self.host_content,
                "grader_pid": os.getpid(),
                "grader_pgid": os.getpgid(0),
                "victim_pid": self.victim.pid,
                "site_packages": sysconfig.get_paths()["purelib"],
                "repo": str(ROOT),
                **extra,
            }
        )


def _processes_with(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or entry.name == str(os.getpid()):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            comm = (entry / "comm").read_text()
        except OSError:
            continue
        if text in cmdline or text in comm:
            found.append(f"{entry.name}: {comm.strip()} {cmdline[:200]}")
    return found


def _host_dirs() -> list[Path]:
    return [
        Path("/"),
        Path("/tmp"),
        Path("/dev/shm"),
        Path("/work"),
        Path.home(),
        ROOT,
        *map(Path, site.getsitepackages()),
        Path(sysconfig.get_paths()["purelib"]),
    ]


def _files_with(marker: str) -> list[str]:
    return [str(p) for d in _host_dirs() if d.is_dir() for p in d.iterdir() if marker in p.name]


def _sysv_segments_of(uid: int) -> list[str]:
    """The host's System V shared-memory segments owned by ``uid`` (columns: key shmid perms size cpid lpid
    nattch uid ...)."""
    rows = [line.split() for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    return [" ".join(row) for row in rows if int(row[7]) == uid]


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    """A marker, a host file the check must not read, a victim process in the grader's process group;
    afterwards: the host is unchanged and every one of them still there."""
    if grade_python(PythonCheck(code="def check(output):\n    return True"), "").infra_error:
        pytest.skip("the Python-check sandbox cannot run on this machine (kernel refuses the namespaces)")
    marker = "sfx" + secrets.token_hex(4)
    secret_dir = tmp_path / "host"
    secret_dir.mkdir()
    secret_dir.chmod(0o755)
    host_file = secret_dir / "world-readable.txt"
    content = f"host-only content {secrets.token_hex(8)}"
    host_file.write_text(content)
    host_file.chmod(0o644)
    victim = subprocess.Popen(["sleep", "600"])  # same uid and process group as the grader
    sandbox_uid = SANDBOX_ID if os.geteuid() == 0 else os.geteuid()
    segments_before = _sysv_segments_of(sandbox_uid)
    state = Host(marker=marker, host_file=host_file, host_content=content, victim=victim)
    yield state
    try:
        assert victim.poll() is None, "a process in the grader's process group was killed"
        assert not _processes_with(marker), _processes_with(marker)
        assert not _processes_with(str(python_check._CHILD)), "a sandbox process outlived its check"
        assert not _files_with(marker), _files_with(marker)
        assert _sysv_segments_of(sandbox_uid) == segments_before, "a SysV shared-memory segment was left"
        assert host_file.read_text() == content
    finally:
        victim.kill()
        victim.wait()


def grade(code: str, answer: str, **limits: object) -> CheckOutcome:
    outcome = grade_python(PythonCheck(code=textwrap.dedent(code), **limits), answer)
    assert outcome.grader == "python"
    assert not outcome.infra_error, outcome.detail  # the check ran: the sandbox did not fail
    return outcome


def contained(outcome: CheckOutcome, host: Host, ran_to_the_end: bool = True) -> None:
    """The check did not get through (by its own account: it ran to the end and returned False, so a
    broken hostile check cannot pass vacuously) and nothing it saw reached the stored outcome."""
    assert not outcome.passed, outcome.detail
    if ran_to_the_end:
        assert outcome.detail["reason"] == "check returned False", outcome.detail
    stored = json.dumps(outcome.model_dump())
    assert host.host_content not in stored
    assert len(stored) < 8000


# ---------------------------------------------------------------- hostile: file system


def test_hostile_write_outside_scratch(host: Host) -> None:
    code = """
        import json, os
        def check(output):
            a = json.loads(output)
            m = a['marker']
            targets = ['/tmp', '/dev/shm', '/work', '/root', '/', a['repo'], a['site_packages'],
                       os.path.dirname(a['host_file']), os.path.expanduser('~'), '/usr', '/usr/lib', '/etc']
            wrote_outside = []
            for d in targets:
                try:
                    with open(os.path.join(d, m), 'w') as f:
                        f.write('escaped')
                    if not d.startswith(('/tmp', '/dev/shm')):
                        wrote_outside.append(d)
                except OSError:
                    pass
            return bool(wrote_outside)
    """
    contained(grade(code, host.answer()), host)


def test_hostile_read_root_only_and_host_files(host: Host) -> None:
    """A root-only file that is visible in the view stays unreadable (the check is not root on the host);
    the grader's files outside the view are not there at all."""
    root_only = _visible_root_only_file()
    code = """
        import json
        def check(output):
            a = json.loads(output)
            got = []
            for path in [a['host_file'], '/etc/shadow', '/root/.bashrc', a['root_only'], '/proc/kcore']:
                if not path:
                    continue
                try:
                    with open(path, 'rb') as f:
                        got.append((path, f.read(64)))
                except OSError:
                    pass
            return bool(got)
    """
    outcome = grade(code, host.answer(root_only=str(root_only or "")))
    contained(outcome, host)
    if root_only is None:
        pytest.skip("no root-only file inside the view on this machine; host files were checked")
    assert os.access(root_only, os.R_OK)  # the grader can, the check could not


def _visible_root_only_file() -> Path | None:
    """A file owned by root that others may not read, inside a tree the sandbox binds (site-packages)."""
    for folder, _, files in os.walk(sysconfig.get_paths()["purelib"]):
        for name in files:
            path = Path(folder, name)
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_uid == 0 and not info.st_mode & stat.S_IROTH:
                return path
    return None


def test_hostile_fill_dev_shm(host: Host) -> None:
    code = """
        import json, os
        def check(output):
            m = json.loads(output)['marker']
            written = 0
            try:
                with open('/dev/shm/' + m, 'wb') as f:
                    while True:
                        f.write(b'x' * 2**20)
                        f.flush()
                        written += 2**20
            except OSError:
                pass
            return written > SHM
    """.replace("SHM", str(SHM_BYTES))
    contained(grade(code, host.answer(), timeout_s=20), host)


def test_hostile_site_packages_pth(host: Host) -> None:
    """A .pth file in site-packages would run in every later Python on the host: a persistent escape."""
    code = """
        import json, os, site, sys
        def check(output):
            m = json.loads(output)['marker']
            dirs = set(site.getsitepackages()) | {p for p in sys.path if p.endswith('site-packages')}
            dirs.add(json.loads(output)['site_packages'])
            wrote = False
            for d in dirs:
                try:
                    with open(os.path.join(d, m + '.pth'), 'w') as f:
                        f.write('import os; os.system("touch /tmp/' + m + '")')
                    wrote = True
                except OSError:
                    pass
                try:
                    os.chmod(d, 0o777)
                    wrote = True
                except OSError:
                    pass
            return wrote
    """
    contained(grade(code, host.answer()), host)
    fresh = subprocess.run([sys.executable, "-c", "pass"], capture_output=True, timeout=60)
    assert fresh.returncode == 0 and not _files_with(host.marker)


def test_hostile_symlink_tricks_out_of_scratch(host: Host) -> None:
    code = """
        import json, os
        def check(output):
            a = json.loads(output)
            got = []
            tricks = {'up': '../../../../../../' + a['host_file'], 'abs': a['host_file'], 'root': '/',
                      'proc_root': '/proc/1/root' + a['host_file'], 'self_root': '/proc/self/root' + a['host_file']}
            for name, target in tricks.items():
                try:
                    os.symlink(target, name)
                except OSError:
                    continue
            for path in ['up', 'abs', 'root' + a['host_file'], 'proc_root', 'self_root']:
                try:
                    with open(path) as f:
                        got.append(f.read())
                except OSError:
                    pass
            try:
                os.link('/usr/bin/env', 'hard')
                got.append('hard link across mounts')
            except OSError:
                pass
            return any(a['host_content'] in g for g in got) or 'hard link across mounts' in got
    """
    contained(grade(code, host.answer()), host)


def test_hostile_proc_root_and_cwd_of_other_processes(host: Host) -> None:
    code = """
        import json, os
        def check(output):
            a = json.loads(output)
            got = []
            pids = [p for p in os.listdir('/proc') if p.isdigit()] + [str(a['grader_pid']), str(a['victim_pid'])]
            for pid in pids:
                for link in ('root', 'cwd'):
                    try:
                        with open(f'/proc/{pid}/{link}' + a['host_file']) as f:
                            got.append(f.read())
                    except OSError:
                        pass
                for fd in range(0, 64):
                    try:
                        got.append(os.listdir(f'/proc/{pid}/fd/{fd}'))
                    except OSError:
                        pass
            return any(a['host_content'] in str(g) for g in got)
    """
    contained(grade(code, host.answer()), host)


# ---------------------------------------------------------------- hostile: processes and signals


DAEMON = """
    import json, os, signal, time
    def daemonize(m, use_exec):
        if os.fork() == 0:
            os.setsid()
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if os.fork() == 0:
                if use_exec:
                    os.execv('/usr/bin/sleep', [m, '600'])
                with open('/proc/self/comm', 'w') as f:
                    f.write(m)
                while True:
                    time.sleep(0.1)
            os._exit(0)
"""


def test_hostile_double_forked_daemon(host: Host) -> None:
    code = (
        DAEMON
        + """
    def check(output):
        daemonize(json.loads(output)['marker'], use_exec=True)
        time.sleep(0.3)
        return True
    """
    )
    outcome = grade(code, host.answer())
    assert outcome.passed  # it did fork; the fixture asserts nothing of it outlived the check


def test_hostile_setsid_daemon_without_exec(host: Host) -> None:
    code = (
        DAEMON
        + """
    def check(output):
        m = json.loads(output)['marker']
        daemonize(m, use_exec=False)
        daemonize(m, use_exec=True)
        time.sleep(0.3)
        while True:
            time.sleep(1)
    """
    )
    outcome = grade(code, host.answer(), timeout_s=1)
    assert not outcome.passed and outcome.detail["reason"].startswith("timed out")


def test_hostile_kill_the_grading_process(host: Host) -> None:
    code = """
        import json, os, signal
        def check(output):
            a = json.loads(output)
            hit = []
            for pid in (a['grader_pid'], a['victim_pid'], os.getppid(), 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                    hit.append(pid)
                except OSError:
                    pass
            os.kill(-1, signal.SIGKILL)  # everything it may signal: only its own namespace
            return True
    """
    outcome = grade(code, host.answer())
    assert not outcome.passed  # kill(-1) reaches only its own namespace: itself excluded, init immune


def test_hostile_signals_to_the_graders_process_group(host: Host) -> None:
    code = """
        import json, os, signal
        def check(output):
            a = json.loads(output)
            hit = False
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(a['grader_pgid'], sig)
                    hit = True
                except OSError:
                    pass
            os.kill(0, signal.SIGKILL)  # its own process group
            return hit
    """
    outcome = grade(code, host.answer())
    assert not outcome.passed


def test_hostile_ptrace_the_parent_and_the_grader(host: Host) -> None:
    code = """
        import ctypes, json, os
        def check(output):
            a = json.loads(output)
            libc = ctypes.CDLL(None, use_errno=True)
            attached = []
            for pid in (1, os.getppid(), a['grader_pid'], a['victim_pid']):
                for request in (16, 0x4206):  # PTRACE_ATTACH, PTRACE_SEIZE
                    if libc.ptrace(request, pid, None, None) == 0:
                        attached.append(pid)
                try:
                    with open(f'/proc/{pid}/mem', 'rb') as f:
                        attached.append(('mem', pid))
                except OSError:
                    pass
                try:
                    with open(f'/proc/{pid}/environ', 'rb') as f:
                        if f.read():
                            attached.append(('environ', pid))
                except OSError:
                    pass
            return bool(attached)
    """
    contained(grade(code, host.answer()), host)


def test_hostile_fork_bomb(host: Host) -> None:
    code = """
        import os
        def check(output):
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
    """
    started = time.monotonic()
    outcome = grade(code, host.answer(), timeout_s=2)
    assert not outcome.passed and time.monotonic() - started < 30
    assert "timed out" in outcome.detail["reason"] or "limit" in outcome.detail["reason"]


def test_hostile_memory_bomb_across_processes(host: Host) -> None:
    code = """
        import os
        def check(output):
            for _ in range(MAX):
                try:
                    if os.fork() == 0:
                        break
                except OSError:
                    break
            hog = []
            while True:
                hog.append(bytearray(2**20))
    """.replace("MAX", str(MAX_PROCESSES))
    outcome = grade(code, host.answer(), memory_mb=128, timeout_s=30)
    assert not outcome.passed and "memory" in outcome.detail["reason"]  # each process stopped at its limit


def test_hostile_infinite_loop(host: Host) -> None:
    outcome = grade("def check(output):\n    while True:\n        pass", host.answer(), timeout_s=1)
    assert not outcome.passed
    assert "CPU time limit" in outcome.detail["reason"] or "timed out" in outcome.detail["reason"]


# ---------------------------------------------------------------- hostile: network, secrets, kernel interfaces


def test_hostile_unix_tcp_and_abstract_sockets(host: Host, tmp_path: Path) -> None:
    path_listener = socket.socket(socket.AF_UNIX)
    sock_path = tmp_path / "host" / "grader.sock"
    path_listener.bind(str(sock_path))
    os.chmod(sock_path, 0o777)
    abstract_listener = socket.socket(socket.AF_UNIX)
    abstract_listener.bind("\0" + host.marker)
    tcp_listener = socket.socket()
    tcp_listener.bind(("127.0.0.1", 0))
    listeners = [path_listener, abstract_listener, tcp_listener]
    for listener in listeners:
        listener.listen(4)
        listener.setblocking(False)
    code = """
        import json, socket
        def check(output):
            a = json.loads(output)
            connected = []
            for family, address in [(socket.AF_UNIX, a['sock_path']), (socket.AF_UNIX, '\\0' + a['marker']),
                                    (socket.AF_INET, ('127.0.0.1', a['tcp_port'])), (socket.AF_INET, ('1.1.1.1', 53))]:
                s = socket.socket(family)
                s.settimeout(1)
                try:
                    s.connect(address)
                    connected.append(address)
                except OSError:
                    pass
            return bool(connected)
    """
    answer = host.answer(sock_path=str(sock_path), tcp_port=tcp_listener.getsockname()[1])
    try:
        contained(grade(code, answer), host)
        for listener in listeners:
            with pytest.raises(BlockingIOError):
                listener.accept()
    finally:
        for listener in listeners:
            listener.close()


def test_hostile_reads_the_graders_secrets(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"sk-ant-api03-{host.marker}{secrets.token_hex(16)}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    monkeypatch.setenv("SF_TEST_DB_PASSWORD", f"pw-{host.marker}-hunter2")
    code = """
        import glob, json, os, sys
        def check(output):
            m = json.loads(output)['marker']
            found = [v for v in os.environ.values() if m in v]
            for path in glob.glob('/proc/*/environ'):
                try:
                    with open(path, 'rb') as f:
                        if m.encode() in f.read():
                            found.append(path)
                except OSError:
                    pass
            print('found', found, file=sys.stderr)
            return bool(found)
    """
    outcome = grade(code, host.answer())
    contained(outcome, host)
    assert host.marker not in json.dumps(outcome.model_dump())
    echoed = grade(
        "import sys\ndef check(output):\n    print(output, file=sys.stderr)\n    raise ValueError(output)", secret
    )
    assert secret not in json.dumps(echoed.model_dump()) and "[redacted]" in echoed.detail["reason"]


def test_hostile_ctypes_unshare_mount_and_friends(host: Host) -> None:
    code = """
        import ctypes, os
        def check(output):
            libc = ctypes.CDLL(None, use_errno=True)
            worked = []
            for flags in (0x10000000, 0x00020000, 0x40000000, 0x10000000 | 0x00020000):  # user, mount, net
                if libc.unshare(flags) == 0:
                    worked.append(('unshare', hex(flags)))
            if libc.mount(b'tmpfs', b'/scratch', b'tmpfs', 0, None) == 0:
                worked.append('mount tmpfs')
            if libc.mount(None, b'/usr', None, 32 | 4096, None) == 0:  # MS_REMOUNT|MS_BIND: read-write again
                worked.append('remount /usr rw')
            if libc.umount2(b'/usr', 2) == 0:
                worked.append('umount /usr')
            if libc.sethostname(b'owned', 5) == 0:
                worked.append('sethostname')
            for ns in ('mnt', 'net', 'pid', 'user'):
                try:
                    fd = os.open(f'/proc/1/ns/{ns}', os.O_RDONLY)
                    if libc.setns(fd, 0) == 0:
                        worked.append(('setns', ns))
                except OSError:
                    pass
            try:
                os.chroot('/tmp')
                worked.append('chroot')
            except OSError:
                pass
            if libc.syscall(155, b'/tmp', b'/tmp') == 0:  # pivot_root on x86_64
                worked.append('pivot_root')
            return bool(worked)
    """
    contained(grade(code, host.answer()), host)


def test_hostile_kernel_attack_surface_syscalls(host: Host) -> None:
    """io_uring, bpf, perf events, userfaultfd, keyrings, cross-process memory, modules, handles, x32 calls:
    refused by the seccomp filter (EPERM) before the kernel code behind them runs."""
    code = """
        import ctypes, os, sys
        from skillfoundry_numbers import NUMBERS
        def check(output):
            libc = ctypes.CDLL(None, use_errno=True)
            ran = []
            for name, nr in NUMBERS.items():
                ctypes.set_errno(0)
                if libc.syscall(nr, 0, 0, 0, 0, 0) != -1 or ctypes.get_errno() != 1:  # EPERM
                    ran.append(name)
            if os.uname().machine == 'x86_64' and libc.syscall(0x40000000 | 39, 0, 0, 0, 0, 0) != -1:  # x32 getpid
                ran.append('x32')
            print('ran:', ran, file=sys.stderr)
            return bool(ran)
    """
    from skillfoundry.grading.sandbox_linux import SYSCALLS

    numbers = SYSCALLS.get(os.uname().machine)
    if numbers is None:
        pytest.skip("the sandbox runs on x86_64 and aarch64 only")
    code = textwrap.dedent(code).replace("from skillfoundry_numbers import NUMBERS", f"NUMBERS = {numbers!r}")
    contained(grade(code, host.answer()), host)


def test_hostile_raises_its_own_limits(host: Host) -> None:
    code = """
        import resource
        def check(output):
            raised = []
            for limit in (resource.RLIMIT_NPROC, resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_FSIZE):
                try:
                    resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                    raised.append(limit)
                except (ValueError, OSError):
                    pass
            return bool(raised)
    """
    contained(grade(code, host.answer()), host)


def test_hostile_writes_huge_output(host: Host) -> None:
    code = """
        import os, sys
        def check(output):
            block = 'y' * 2**20
            for _ in range(2000):
                sys.stdout.write(block)
                sys.stderr.write(block)
            with open('big', 'wb') as f:
                f.write(os.urandom(2**20) * 200)
            return True
    """
    outcome = grade(code, host.answer(), timeout_s=20)
    contained(outcome, host, ran_to_the_end=False)
    assert "file size limit" in outcome.detail["reason"] or "File too large" in outcome.detail["reason"]


def test_hostile_leaves_shared_memory_behind(host: Host) -> None:
    code = """
        import ctypes, json, mmap, os
        def check(output):
            m = json.loads(output)['marker']
            libc = ctypes.CDLL(None, use_errno=True)
            segment = libc.shmget(0, 2**20, 0o1000 | 0o666)  # IPC_PRIVATE, IPC_CREAT
            fd = os.open('/dev/shm/' + m, os.O_CREAT | os.O_RDWR)
            os.ftruncate(fd, 2**20)
            mmap.mmap(fd, 2**20)[:4] = b'left'
            return segment >= 0  # refused (seccomp): memory outside the address-space limit
    """
    contained(grade(code, host.answer()), host)  # the /dev/shm file was made inside; the fixture: not on the host


# ---------------------------------------------------------------- honest checks still pass


HONEST = {
    "reads the exact answer": (
        "def check(output):\n    return output == 'The answer is 42.\\n'",
        "The answer is 42.\n",
    ),
    "json": (
        "import json\ndef check(output):\n    d = json.loads(output)\n    return d['items'] == [1, 2, 3] and d['ok']",
        '{"items": [1, 2, 3], "ok": true}',
    ),
    "re": (
        "import re\ndef check(output):\n    return re.fullmatch(r'(\\w+)-(\\d+)', output.strip()).group(2) == '7'",
        "case-7\n",
    ),
    "math and a number as score": (
        "import math\ndef check(output):\n    return 1.0 - min(1.0, abs(float(output) - math.pi))",
        "3.14159",
    ),
    "a little CPU work": (
        "def check(output):\n    n = 200_000\n    sieve = bytearray([1]) * n\n    sieve[:2] = b'\\0\\0'\n"
        "    for i in range(2, int(n ** 0.5) + 1):\n        if sieve[i]:\n"
        "            sieve[i*i::i] = bytearray(len(range(i*i, n, i)))\n    return sum(sieve) == int(output)",
        "17984",
    ),
    "stdlib odds and ends": (
        "import collections, datetime, decimal, fractions, hashlib, statistics, unicodedata\n"
        "def check(output):\n    return (hashlib.sha256(output.encode()).hexdigest()[:4] == '9f86' and\n"
        "            statistics.mean([1, 2, 3]) == 2 and collections.Counter('aab')['a'] == 2 and\n"
        "            decimal.Decimal('0.1') + decimal.Decimal('0.2') == decimal.Decimal('0.3') and\n"
        "            fractions.Fraction(1, 3) * 3 == 1 and datetime.date(2024, 1, 1).weekday() == 0 and\n"
        "            unicodedata.name('é') == 'LATIN SMALL LETTER E WITH ACUTE')",
        "test",
    ),
    "scratch and tmp files": (
        "import os, tempfile\ndef check(output):\n    with open('notes.txt', 'w') as f:\n        f.write(output)\n"
        "    with tempfile.NamedTemporaryFile('w+') as t:\n        t.write(output)\n        t.flush()\n"
        "        t.seek(0)\n        back = t.read()\n    return open('notes.txt').read() == back == output",
        "keep me",
    ),
    "a subprocess of the same interpreter": (
        "import subprocess, sys\ndef check(output):\n"
        "    r = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True)\n"
        "    return r.stdout.strip() == output",
        "42",
    ),
    "threads": (
        "from concurrent.futures import ThreadPoolExecutor\ndef check(output):\n"
        "    with ThreadPoolExecutor(4) as pool:\n        return sum(pool.map(int, output.split())) == 10",
        "1 2 3 4",
    ),
    "unicode answer": ("def check(output):\n    return output.casefold() == 'straße'.casefold()", "STRASSE"),
}


@pytest.mark.parametrize("name", HONEST)
def test_honest_checks_pass(name: str) -> None:
    code, answer = HONEST[name]
    outcome = grade(code, answer)
    assert outcome.passed, outcome.detail


def test_honest_numpy_check_passes() -> None:
    pytest.importorskip("numpy")
    code = "import numpy as np\ndef check(output):\n    return float(np.array(output.split(), float).mean()) == 2.0"
    outcome = grade(code, "1 2 3")
    assert outcome.passed, outcome.detail


def test_the_grader_survives_the_whole_corpus_in_a_row(host: Host) -> None:
    """After the hostile kinds above ran in this process, the grader still grades honestly."""
    outcome = grade("def check(output):\n    return output == 'ok'", "ok")
    assert outcome.passed
