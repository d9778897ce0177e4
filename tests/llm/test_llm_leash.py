"""A managed server dies with its parent, even when the parent is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PARENT = """
import subprocess, sys, os, time
child = subprocess.Popen(
    [sys.executable, "-m", "skillfoundry.llm.leash", str(os.getpid()), "--", "sleep", "600"],
    start_new_session=True,
)
time.sleep(1.0)
print(child.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def sleep_under(leash_pid: int) -> int:
    out = subprocess.run(["pgrep", "-P", str(leash_pid), "sleep"], capture_output=True, text=True)
    return int(out.stdout.split()[0])


def test_server_is_stopped_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    leash_pid = int(parent.stdout.readline())
    server_pid = sleep_under(leash_pid)
    assert alive(server_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(server_pid)
    assert not alive(leash_pid)


def test_leash_passes_on_the_server_exit_code() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "skillfoundry.llm.leash", str(os.getpid()), "--", "sh", "-c", "exit 7"], timeout=30
    )
    assert done.returncode == 7


def test_leash_exits_only_after_its_server_on_sigterm() -> None:
    leash = subprocess.Popen(
        [sys.executable, "-m", "skillfoundry.llm.leash", str(os.getpid()), "--", "sleep", "600"],
        start_new_session=True,
    )
    time.sleep(1.0)
    server_pid = sleep_under(leash.pid)
    leash.send_signal(signal.SIGTERM)
    assert leash.wait(timeout=30) == 128 + signal.SIGTERM
    assert not alive(server_pid)


def test_server_dies_when_the_leash_itself_is_killed() -> None:
    leash = subprocess.Popen(
        [sys.executable, "-m", "skillfoundry.llm.leash", str(os.getpid()), "--", "sleep", "600"],
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    server_pid = None
    while server_pid is None and time.monotonic() < deadline:
        out = subprocess.run(["pgrep", "-P", str(leash.pid), "sleep"], capture_output=True, text=True)
        server_pid = int(out.stdout.split()[0]) if out.stdout.split() else None
        time.sleep(0.1)
    assert server_pid is not None and alive(server_pid)
    leash.send_signal(signal.SIGKILL)
    leash.wait()
    deadline = time.monotonic() + 15
    while alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(server_pid)
