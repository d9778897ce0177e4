"""A flow run killed with SIGKILL shows as Crashed within a couple of minutes (heartbeats + the project's
zombie-detection automation on a real Prefect server), instead of Running forever."""

from __future__ import annotations

import asyncio
import time

from flow_runs import state_of
from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.schemas.automations import Posture

from skillfoundry.flows.zombies import AUTOMATION_NAME, RETRY_AUTOMATION_NAME, ensure_zombie_automation


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


def test_a_killed_flow_run_is_marked_crashed(killed_flow_run) -> None:
    """The flow run was killed when the first test of this folder started (see conftest.py)."""
    deadline = killed_flow_run.killed_at + 300
    while state_of(killed_flow_run.id) == StateType.RUNNING and time.monotonic() < deadline:
        time.sleep(5)
    assert state_of(killed_flow_run.id) == StateType.CRASHED
