"""Sandboxed Python checks: verdicts, and runaway checks killed with a clear reason."""

from __future__ import annotations

import pytest

from skillfoundry.grading.python_check import grade_python
from skillfoundry.skills.model import PythonCheck


def run(code: str, answer: str = "the answer is 42", **limits):
    return grade_python(PythonCheck(code=code, **limits), answer)


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


def test_an_endless_loop_is_killed() -> None:
    outcome = run("def check(output):\n    while True:\n        pass", timeout_s=1)
    assert not outcome.passed
    assert "CPU time limit" in outcome.detail["reason"] or "timed out" in outcome.detail["reason"]


def test_a_sleeping_check_is_killed_by_the_wall_clock() -> None:
    outcome = run("import time\ndef check(output):\n    time.sleep(3600)", timeout_s=0.5)
    assert (
        not outcome.passed
        and outcome.detail["reason"].startswith("timed out after")
        and "killed" in outcome.detail["reason"]
    )


def test_a_10_gb_allocation_is_refused() -> None:
    outcome = run("def check(output):\n    block = bytearray(10 * 2**30)\n    return True", memory_mb=256)
    assert not outcome.passed and outcome.detail["reason"] == "exceeded the memory limit (256 MB)"


def test_growing_memory_is_stopped_too() -> None:
    outcome = run("def check(output):\n    hog = []\n    while True:\n        hog.append(' ' * 2**20)", memory_mb=128)
    assert not outcome.passed and "memory" in outcome.detail["reason"]


def test_no_network() -> None:
    outcome = run("import socket\ndef check(output):\n    socket.create_connection(('127.0.0.1', 9))\n    return True")
    assert not outcome.passed and "network access is disabled" in outcome.detail["reason"]
    raw = run(
        "import _socket\ndef check(output):\n    s = _socket.socket()\n    s.connect(('127.0.0.1', 9))\n    return True"
    )
    assert not raw.passed and "check raised" in raw.detail["reason"]


def test_limits_cannot_be_raised_from_inside_when_namespaces_exist() -> None:
    code = "import resource\ndef check(output):\n    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n    return True"
    outcome = run(code)
    if outcome.detail["isolation"]["user_namespace"]:
        assert not outcome.passed and "check raised ValueError" in outcome.detail["reason"]


def test_output_floods_are_bounded() -> None:
    outcome = run("def check(output):\n    while True:\n        print('y' * 2**20)")
    assert not outcome.passed and (
        "File too large" in outcome.detail["reason"] or "file size limit" in outcome.detail["reason"]
    )


def test_empty_environment_and_scratch_cwd() -> None:
    code = "import os\ndef check(output):\n    return not os.environ.get('PATH') and os.listdir('.') == [] and os.path.basename(os.getcwd()) == 'work'"
    assert run(code).passed


def test_concurrent_checks_from_threads_stay_separate() -> None:
    from concurrent.futures import ThreadPoolExecutor

    code = "def check(output):\n    open('mine.txt', 'w').write(output)\n    return open('mine.txt').read() == output"
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda i: run(code, f"answer {i}"), range(8)))
    assert all(o.passed for o in outcomes)
