"""One real Prefect server on loopback for the test session (the project's own, under the leash), and a flow
run killed with SIGKILL as soon as this folder's tests start, for the zombie test to find Crashed at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from skillfoundry.flows.prefect_server import PrefectServer, drain_to_server


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A Prefect server with its own PREFECT_HOME; this process and its children point at it."""
    home = tmp_path_factory.mktemp("prefect-home")
    saved = {k: os.environ.get(k) for k in ("PREFECT_HOME", "PREFECT_API_URL")}
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.pop("PREFECT_API_URL", None)
    with temporary_settings({PREFECT_HOME: Path(home)}), PrefectServer() as server:
        os.environ["PREFECT_API_URL"] = server.api_url
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server
            drain_to_server()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


SLEEPER = """
import time
from prefect import flow
from prefect.runtime import flow_run

@flow(name="sleeper")
def sleeper() -> None:
    print(flow_run.id, flush=True)
    time.sleep(600)

sleeper()
"""


@dataclass(frozen=True)
class KilledFlowRun:
    id: UUID
    killed_at: float  # time.monotonic()


@pytest.fixture(scope="session", autouse=True)
def killed_flow_run(prefect_server: PrefectServer) -> KilledFlowRun:
    """A flow run that sent its first heartbeat, then was killed with SIGKILL. Zombie detection needs 90 s of
    heartbeat silence; started before this folder's other tests, that wait overlaps them instead of adding
    to the suite's time (test_orchestration_zombies.py checks the outcome, last)."""
    import asyncio

    from flow_runs import state_of
    from prefect.client.schemas.objects import StateType

    from skillfoundry.flows.zombies import ensure_zombie_automation, heartbeat_env

    asyncio.run(ensure_zombie_automation())
    run = subprocess.Popen(
        [sys.executable, "-c", SLEEPER], env={**os.environ, **heartbeat_env()}, stdout=subprocess.PIPE, text=True
    )
    try:
        flow_run_id = UUID(run.stdout.readline().strip())
        assert state_of(flow_run_id) == StateType.RUNNING
        time.sleep(5)  # the first heartbeat goes out when the flow starts
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
        run.stdout.close()
    return KilledFlowRun(id=flow_run_id, killed_at=time.monotonic())
