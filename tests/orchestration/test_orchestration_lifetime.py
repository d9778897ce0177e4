"""Whatever a run starts dies with it: the Prefect server of a `skillfoundry run` killed with SIGKILL, and the
server and worker of `skillfoundry ui` stopped with SIGTERM. Real processes, real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from skillfoundry.llm.servers import free_port


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def healthy(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def port_free(port: int) -> bool:
    """Nothing listens on the port any more (connections in TIME_WAIT may remain)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def silent_model() -> Iterator[str]:
    """An OpenAI base URL on loopback that accepts connections and never answers: a run waits there."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    sock.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "SKILLFOUNDRY_CACHE_DIR": str(tmp_path / "cache")}
    for name in ("PREFECT_API_URL", "ANTHROPIC_API_KEY", "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"):
        env.pop(name, None)
    return env


def prefect_server_under(pid: int) -> int | None:
    for child in descendants(pid):
        line = cmdline(child)
        if "prefect server start" in line and "skillfoundry.llm.leash" not in line and not line.startswith("env "):
            return child
    return None


def test_a_run_killed_with_sigkill_leaves_no_prefect_server(tmp_path: Path, env: dict[str, str], silent_model: str) -> None:
    spec = f"openai:silent@{silent_model}"
    run = subprocess.Popen(
        [sys.executable, "-m", "skillfoundry", "run", "--teacher", spec, "--student", spec,
         "--cases", "1", "--epochs", "1", "--data-dir", str(tmp_path / "data"), "--run-id", "killed"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        server = wait_for(lambda: prefect_server_under(run.pid), 120, "the run's Prefect server")
        port = int(cmdline(server).split("--port ")[1].split()[0])
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}/api/health"), 300, "the Prefect server to answer")
        # the flow is running, blocked on the silent teacher
        wait_for(lambda: (tmp_path / "data").exists(), 120, "the run to start its flow")
        tree = descendants(run.pid)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    wait_for(lambda: not any(alive(p) for p in tree), 30, f"{[cmdline(p) for p in tree if alive(p)]} to exit")
    assert not alive(server)
    assert wait_for(lambda: port_free(port), 10, f"port {port} to be free")
    assert not any("uvicorn" in cmdline(p) for p in tree)  # no ephemeral server was started beside ours


def test_ui_stopped_with_sigterm_stops_its_server_and_worker(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "skillfoundry", "ui", "--port", str(port), "--worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}/api/health"), 300, "the UI's Prefect server")
        worker = wait_for(
            lambda: [p for p in descendants(ui.pid) if "worker start" in cmdline(p) and "leash" not in cmdline(p)
                     and not cmdline(p).startswith("env ")],
            300, "the worker",
        )
        tree = descendants(ui.pid)
        server = prefect_server_under(ui.pid)
        assert len(worker) == 1 and server
        assert b"PREFECT_SERVER_ANALYTICS_ENABLED=false" in Path(f"/proc/{server}/environ").read_bytes().split(b"\0")
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=60)
    wait_for(lambda: not any(alive(p) for p in tree), 30, f"{[cmdline(p) for p in tree if alive(p)]} to exit")
    assert port_free(port)


HEARTBEAT_SETTING = """
from prefect import flow
from prefect.settings import get_current_settings
from skillfoundry.flows.prefect_server import prefect_api

@flow
def setting() -> object:
    return get_current_settings().flows.heartbeat_frequency

print("outside", get_current_settings().flows.heartbeat_frequency)
with prefect_api():
    print("private", setting())
"""


def test_flow_runs_on_a_runs_private_server_send_no_heartbeats(env: dict[str, str]) -> None:
    """Heartbeats let a shared server mark a killed run Crashed; a run's private server dies with the run,
    and stopping the heartbeat thread costs each flow run up to a second (benchmarks/bench_orchestration.py)."""
    done = subprocess.run([sys.executable, "-c", HEARTBEAT_SETTING], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["outside 180", "private None"]
