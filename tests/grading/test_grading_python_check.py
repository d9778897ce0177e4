"""Sandboxed Python checks: verdicts, runaway checks killed with a clear reason, the isolation they get,
failing closed where the kernel refuses it, and scrubbed stored output. The hostile corpus is in
tests/reliability/test_python_sandbox.py."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillfoundry.grading.outcome import CheckOutcome
from skillfoundry.grading.python_check import MAX_PROCESSES, SANDBOX_ID, grade_python
from skillfoundry.grading.sandbox_output import REDACTED, clip, scrub, stored
from skillfoundry.skills.model import PythonCheck

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, answer: str = "the answer is 42", **limits) -> CheckOutcome:
    return grade_python(PythonCheck(code=textwrap.dedent(code), **limits), answer)


@functools.cache
def _probe() -> CheckOutcome:
    return run("def check(output):\n    return True")


@pytest.fixture
def sandbox() -> None:
    """Skip (with the reason) where this kernel refuses the sandbox; everywhere else the test runs."""
    outcome = _probe()
    if outcome.infra_error:
        pytest.skip(f"the Python-check sandbox cannot run here: {outcome.detail['reason']}")


pytestmark = pytest.mark.usefixtures("sandbox")


def test_bool_and_float_verdicts() -> None:
    good = run("def check(output):\n    return '42' in output")
    assert (good.grader, good.passed, good.score) == ("python", True, 1.0)
    bad = run("def check(output):\n    return output.startswith('no')")
    assert (bad.passed, bad.score) == (False, 0.0)
    partial = run("def check(output):\n    return 0.75")
    assert (partial.passed, partial.score) == (True, 0.75)
    low = run("def check(output):\n    return 7")
    assert (low.passed, low.score) == (True, 1.0)
    assert not run("def check(output):\n    return 0.2").passed


def test_the_check_sees_the_exact_answer_including_junk() -> None:
    answer = "\x00\xff\ud800 binary \n" * 1000 + "é"
    code = f"def check(output):\n    return output == {answer!r}"
    assert run(code, answer).passed
    assert run("def check(output):\n    return output == ''", "").passed


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("def check(output):\n    return 1/0", "check raised ZeroDivisionError: division by zero"),
        ("def check(output)\n    return True", "check code failed: SyntaxError"),
        ("x = 1", "check code failed: the code defines no check(output) function"),
        ("raise SystemExit(3)", "check code failed: SystemExit: 3"),
        ("def check(output):\n    return 'yes'", "check returned str 'yes', expected bool or a finite number"),
        ("def check(output):\n    return float('nan')", "check returned float 'nan'"),
        ("def check(output):\n    return None", "check returned NoneType"),
        ("import os\ndef check(output):\n    os._exit(3)", "the check exited without returning (exit code 3)"),
    ],
)
def test_broken_checks_fail_with_a_reason(code: str, reason: str) -> None:
    outcome = run(code)
    assert not outcome.passed and outcome.detail["reason"].startswith(reason), outcome.detail["reason"]
    assert outcome.infra_error is None  # the check's own fault, not the sandbox's


def test_an_endless_loop_is_killed() -> None:
    outcome = run("def check(output):\n    while True:\n        pass", timeout_s=1)
    assert not outcome.passed and outcome.infra_error is None
    assert "CPU time limit" in outcome.detail["reason"] or "timed out" in outcome.detail["reason"]


def test_a_sleeping_check_is_killed_by_the_wall_clock() -> None:
    outcome = run("import time\ndef check(output):\n    time.sleep(3600)", timeout_s=0.5)
    assert not outcome.passed
    assert outcome.detail["reason"].startswith("timed out after") and "killed" in outcome.detail["reason"]


def test_a_10_gb_allocation_is_refused() -> None:
    outcome = run("def check(output):\n    block = bytearray(10 * 2**30)\n    return True", memory_mb=256)
    assert not outcome.passed and outcome.detail["reason"] == "exceeded the memory limit (256 MB)"


def test_growing_memory_is_stopped_too() -> None:
    outcome = run("def check(output):\n    hog = []\n    while True:\n        hog.append(' ' * 2**20)", memory_mb=128)
    assert not outcome.passed and "memory" in outcome.detail["reason"]


def test_no_network_not_even_loopback() -> None:
    outcome = run("import socket\ndef check(output):\n    socket.create_connection(('127.0.0.1', 9))\n    return True")
    assert not outcome.passed and "Network is unreachable" in outcome.detail["reason"]
    interfaces = run(
        """
        import socket
        def check(output):
            return [name for _, name in socket.if_nameindex()] == ['lo']
        """
    )
    assert interfaces.passed, interfaces.detail


def test_limits_cannot_be_raised_from_inside() -> None:
    code = """
        import resource
        def check(output):
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            return True
    """
    outcome = run(code)
    assert not outcome.passed and outcome.detail["reason"].startswith("check raised ValueError"), outcome.detail


def test_process_count_is_limited() -> None:
    code = """
        import os, time
        def check(output):
            children = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    children += 1
            except OSError:
                return children
    """
    outcome = run(code, timeout_s=10)
    assert outcome.detail["reason"].startswith("check returned")
    # the runner returns how many children it got: fewer than the task limit (init, relay and runner count)
    children = float(outcome.detail["reason"].removeprefix("check returned "))
    assert 0 < children < MAX_PROCESSES


def test_output_floods_are_bounded() -> None:
    outcome = run("def check(output):\n    while True:\n        print('y' * 2**20)")
    assert not outcome.passed
    assert "File too large" in outcome.detail["reason"] or "file size limit" in outcome.detail["reason"]
    assert len(json.dumps(outcome.detail)) < 4000


def test_the_check_sees_its_own_small_world() -> None:
    code = """
        import os
        def check(output):
            facts = {
                'cwd': os.getcwd(),
                'scratch': os.listdir('.'),
                'root': sorted(os.listdir('/')),
                'dev': sorted(os.listdir('/dev')),
                'etc': os.listdir('/etc') if os.path.isdir('/etc') else [],
                'pid': os.getpid(),
                'uid': (os.getuid(), os.getgid(), os.getgroups()),
                'uid_map': open('/proc/self/uid_map').read().split(),
                'env': dict(os.environ),
                'home': os.listdir(output) if os.path.isdir(output) else [],
            }
            raise RuntimeError(repr(facts))
    """
    home = Path.home()
    outcome = run(code, str(home))
    facts = eval(outcome.detail["reason"].removeprefix("check raised RuntimeError: "))  # noqa: S307 - our own repr
    assert facts["cwd"] == "/scratch" and facts["scratch"] == []
    assert {"scratch", "tmp", "dev", "proc", "usr"} <= set(facts["root"])
    assert not {"home", "run", "var", "sys", "mnt", "opt", "srv", "boot"} & set(facts["root"])
    assert facts["etc"] in ([], ["ld.so.cache"])
    assert facts["dev"] == ["fd", "null", "shm", "stderr", "stdin", "stdout", "urandom", "zero"]
    assert facts["pid"] == 2  # PID 1 is the sandbox's own init
    host_uid = SANDBOX_ID if os.geteuid() == 0 else os.geteuid()  # nobody, when the grader is root
    assert facts["uid"][:2] == (0, 0) and facts["uid_map"] == ["0", str(host_uid), "1"]
    assert facts["uid"][2] == [] or os.geteuid() != 0  # a root grader's groups are dropped
    assert set(facts["env"]) <= {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LC_CTYPE"}  # PEP 538
    # the grader's home shows at most the way to the interpreter (e.g. ~/.pyenv), nothing else of it
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)} | {Path(sys.prefix), Path(sys.base_prefix)}
    ways = {p.relative_to(home).parts[0] for p in prefixes if p.is_relative_to(home)}
    assert set(facts["home"]) <= ways
    assert outcome.detail["isolation"]["namespaces"] == ["user", "mount", "pid", "net", "ipc", "uts", "cgroup"]
    assert outcome.detail["isolation"]["host_uid"] == host_uid


def test_concurrent_checks_from_threads_stay_separate() -> None:
    from concurrent.futures import ThreadPoolExecutor

    code = "def check(output):\n    open('mine.txt', 'w').write(output)\n    return open('mine.txt').read() == output"
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda i: run(code, f"answer {i}"), range(8)))
    assert all(o.passed for o in outcomes), [o.detail["reason"] for o in outcomes if not o.passed]


def _grade_in_a_user_namespace(code: str, setup: str = "true") -> CheckOutcome:
    """Grade ``code`` from a grader that is root inside ``unshare --user --map-root-user`` (only its own
    uid mapped), after running the shell command ``setup`` there."""
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not installed")
    grade = (
        "import sys; from skillfoundry.grading.python_check import grade_python; "
        "from skillfoundry.skills.model import PythonCheck; "
        "print(grade_python(PythonCheck(code=sys.stdin.read()), 'x').model_dump_json())"
    )
    proc = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "sh",
            "-c",
            f"{setup} && exec {sys.executable} -c {json.dumps(grade)}",
        ],
        input=code,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 0, proc.stderr
    return CheckOutcome.model_validate_json(proc.stdout.strip().splitlines()[-1])


def test_a_kernel_without_user_namespaces_fails_closed() -> None:
    """Where user namespaces are refused, the check does not run at all: an infrastructure error that names
    the refused step (simulated by setting max_user_namespaces to 0 in an outer user namespace)."""
    outcome = _grade_in_a_user_namespace(
        "def check(output):\n    return True", setup="echo 0 > /proc/sys/user/max_user_namespaces"
    )
    assert (outcome.passed, outcome.score, outcome.infra_error is not None) == (False, 0.0, True)
    assert outcome.detail["reason"].startswith("sandbox unavailable, the check did not run: unshare(user|mount|")
    assert "ENOSPC" in outcome.detail["reason"] and "refuses user namespaces" in outcome.detail["reason"]


def test_a_root_grader_that_cannot_map_nobody_runs_the_check_as_its_own_ids() -> None:
    """Inside a user namespace that maps only root (a rootless container), nobody cannot be mapped: the
    check runs under the grader's own (host-unprivileged) ids, with every other isolation, and says so."""
    outcome = _grade_in_a_user_namespace(
        "import os\ndef check(output):\n    return open('/proc/self/uid_map').read().split() == ['0', '0', '1']"
        " and os.getcwd() == '/scratch' and os.getpid() == 2"
    )
    assert outcome.passed, outcome.detail
    assert outcome.detail["isolation"]["host_uid"] == outcome.detail["isolation"]["grader_uid"] == 0


# ---------------------------------------------------------------- stored output


def test_stored_output_is_scrubbed_of_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_TEST_SERVICE_TOKEN", "tok-7f3a9c21e5")
    code = """
        import sys
        def check(output):
            print('key', output, file=sys.stderr)
            raise ValueError(output)
    """
    secret = "sk-ant-api03-" + "A1b2C3d4" * 8
    outcome = run(code, f"leak {secret} and tok-7f3a9c21e5 and AKIAABCDEFGHIJKLMNOP")
    text = json.dumps(outcome.detail)
    assert secret[:16] not in text and "tok-7f3a9c21e5" not in text and "AKIAABCDEFGHIJKLMNOP" not in text
    assert outcome.detail["reason"] == f"check raised ValueError: leak {REDACTED} and {REDACTED} and {REDACTED}"


@pytest.mark.parametrize(
    "secret",
    [
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
        "sk-proj-abcdefghijklmnopqrstuvwxyz",
        "AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "Authorization: Bearer abc.def-ghi_jkl~mno",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "hf_abcdefghijklmnopqrstuvwxyz",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ],
)
def test_credential_shapes_are_redacted(secret: str) -> None:
    scrubbed = scrub(f"before {secret} after", environ={})
    assert scrubbed.startswith("before ") and scrubbed.endswith(" after") and REDACTED in scrubbed
    assert secret.split()[-1] not in scrubbed


def test_ordinary_text_is_left_alone() -> None:
    text = "check raised AssertionError: expected 42, got 41 (task-key: sort; skeleton ok)"
    assert scrub(text, environ={"HOME": "/root", "PATH": "/usr/bin"}) == text


@given(st.text(max_size=300), st.integers(min_value=10, max_value=200))
def test_stored_text_is_clipped_and_keeps_the_end(text: str, limit: int) -> None:
    kept = clip(text, limit)
    assert len(kept) <= limit
    assert kept == text or (kept.startswith("[...] ") and text.endswith(kept.removeprefix("[...] ")))


@given(st.text(alphabet="abc XYZ-_019", max_size=40), st.text(alphabet="abc XYZ-_019", max_size=40))
def test_an_env_secret_never_survives_storing(before: str, after: str) -> None:
    secret = "s3cr3t-Value-9"
    kept = stored(before + secret + after, 1000, environ={"MY_API_KEY": secret})
    assert secret not in kept
