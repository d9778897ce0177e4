"""A flow run killed with SIGKILL shows as Crashed within a couple of minutes (heartbeats + the project's
zombie-detection automation on a real Prefect server), instead of Running forever."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest
from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.schemas.automations import Posture

from skillfoundry.flows.zombies import (
    AUTOMATION_NAME,
    RETRY_AUTOMATION_NAME,
    ensure_zombie_automation,
    heartbeat_env,
)

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


async def state_of(flow_run_id: UUID) -> StateType:
    async with get_client() as client:
        return (await client.read_flow_run(flow_run_id)).state.type


def test_the_automations_are_created_once_and_an_older_version_is_brought_up_to_date(prefect_server) -> None:
    first = asyncio.run(ensure_zombie_automation())
    again = asyncio.run(ensure_zombie_automation())
    assert isinstance(first, bool) and again is False
    assert asyncio.run(Automation.aread(name=AUTOMATION_NAME)).enabled

    async def downgrade_then_ensure() -> tuple[Posture, Posture, bool]:
        stored = await Automation.aread(name=RETRY_AUTOMATION_NAME)
        stored.trigger.posture, stored.trigger.after = Posture.Reactive, set()  # as an older version wrote it
        await stored.aupdate()
        before = (await Automation.aread(name=RETRY_AUTOMATION_NAME)).trigger.posture
        await ensure_zombie_automation()
        after = await Automation.aread(name=RETRY_AUTOMATION_NAME)
        return before, after.trigger.posture, after.trigger.after == {"prefect.flow-run.Crashed"}

    assert asyncio.run(downgrade_then_ensure()) == (Posture.Reactive, Posture.Proactive, True)


def test_a_killed_flow_run_is_marked_crashed(prefect_server) -> None:
    asyncio.run(ensure_zombie_automation())
    run = subprocess.Popen(
        [sys.executable, "-c", SLEEPER], env={**os.environ, **heartbeat_env()}, stdout=subprocess.PIPE, text=True
    )
    try:
        flow_run_id = UUID(run.stdout.readline().strip())
        assert asyncio.run(state_of(flow_run_id)) == StateType.RUNNING
        time.sleep(5)  # the first heartbeat goes out when the flow starts
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    deadline = time.monotonic() + 300
    while asyncio.run(state_of(flow_run_id)) == StateType.RUNNING and time.monotonic() < deadline:
        time.sleep(5)
    assert asyncio.run(state_of(flow_run_id)) == StateType.CRASHED


SLEEPY = '''
import os, time
from pathlib import Path
from prefect import flow
from prefect.runtime import flow_run

@flow(name="sleepy")
def sleepy(marker: str) -> int:
    with open(marker, "a") as out:
        out.write(f"{flow_run.id} {flow_run.run_count} {os.getpid()}\\n")
    if flow_run.run_count == 1:
        time.sleep(600)  # killed here
    return flow_run.run_count
'''


def attempts(marker: Path) -> list[list[str]]:
    return [line.split() for line in marker.read_text().splitlines()] if marker.exists() else []


@pytest.mark.timeout(600)
def test_a_crashed_deployment_run_is_scheduled_again_and_finishes(prefect_server, tmp_path: Path) -> None:
    from prefect import flow
    from prefect.deployments import run_deployment

    from skillfoundry.flows.deploy import ensure_work_pool
    from skillfoundry.flows.prefect_server import PrefectWorker
    from skillfoundry.flows.zombies import PROJECT_TAG

    asyncio.run(ensure_zombie_automation())
    asyncio.run(ensure_work_pool("crash-test"))
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    marker = tmp_path / "attempts.txt"
    flow.from_source(source=str(tmp_path), entrypoint="sleepy.py:sleepy").deploy(
        name="sleepy", work_pool_name="crash-test", tags=[PROJECT_TAG], job_variables={"env": heartbeat_env()},
    )
    with PrefectWorker("crash-test", prefect_server.api_url, workdir=tmp_path):
        run = run_deployment("sleepy/sleepy", parameters={"marker": str(marker)}, timeout=0)
        deadline = time.monotonic() + 300
        while not attempts(marker) and time.monotonic() < deadline:
            time.sleep(1)
        ((run_id, count, pid),) = attempts(marker)
        assert (run_id, count) == (str(run.id), "1")
        os.kill(int(pid), signal.SIGKILL)
        deadline = time.monotonic() + 300  # the crash reports settle, the retry automation, a second start
        while asyncio.run(state_of(run.id)) != StateType.COMPLETED and time.monotonic() < deadline:
            time.sleep(3)
    assert asyncio.run(state_of(run.id)) == StateType.COMPLETED
    assert [a[:2] for a in attempts(marker)] == [[str(run.id), "1"], [str(run.id), "2"]]  # the same flow run again

    async def history() -> list[str]:
        async with get_client() as client:
            return [s.type.value for s in await client.read_flow_run_states(run.id)]

    assert "CRASHED" in asyncio.run(history())
