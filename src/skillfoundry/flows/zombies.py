"""A killed run shows as ``Crashed``, not ``Running`` forever: heartbeats plus a zombie-detection automation.

Every flow run sends a heartbeat event every ``HEARTBEAT_S`` seconds (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``).
The automation, created by the project on its Prefect server (Prefect Cloud manages its own; a self-hosted
server needs one), marks a flow run ``Crashed`` when its heartbeats stop for ``SILENCE_S`` seconds without
the run reaching a final state: a process killed with SIGKILL, or a machine that went away.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture

HEARTBEAT_S = 30  # Prefect's minimum
SILENCE_S = 90  # three missed heartbeats
AUTOMATION_NAME = "skillfoundry: crash flow runs without heartbeats"
FINAL_EVENTS = {f"prefect.flow-run.{state}" for state in ("Completed", "Failed", "Cancelled", "Crashed")}


def heartbeat_env() -> dict[str, str]:
    """Environment for flow-run processes so that they send heartbeats often enough for the automation."""
    return {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S)}


def zombie_automation() -> Automation:
    """The automation: a heartbeat not followed within SILENCE_S by another heartbeat or a final state."""
    return Automation(
        name=AUTOMATION_NAME,
        description="A flow run whose heartbeats stopped without a final state was killed: mark it Crashed.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *FINAL_EVENTS},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=SILENCE_S),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"No heartbeat for {SILENCE_S} s: the flow run's process died (killed or lost).",
            )
        ],
    )


async def ensure_zombie_automation() -> bool:
    """Create the automation on the configured Prefect server when missing; True when created."""
    try:
        await Automation.aread(name=AUTOMATION_NAME)
        return False
    except ValueError:  # Prefect's "not found"
        pass
    await zombie_automation().acreate()
    return True
