"""A killed run shows as ``Crashed``, not ``Running`` forever, and then finishes by itself.

Heartbeats plus a zombie-detection automation mark it Crashed (a worker that sees its process die marks it
at once); a second automation puts a crashed deployment run of the project (tag ``skillfoundry``) that is
still crashed ``SETTLE_S`` later back to ``Scheduled`` (AwaitingRetry), so a worker runs
the same flow run again: the same run id, so it resumes from its stored rows. ``MAX_ATTEMPTS`` in the flow
bounds the loop for a run that crashes every time.

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
RETRY_AUTOMATION_NAME = "skillfoundry: retry crashed deployment runs"
PROJECT_TAG = "skillfoundry"  # prefect.yaml tags every deployment of the project with it
SETTLE_S = 30  # a crash is retried once its reports have stopped coming for this long
_OTHER_FINAL = ("Completed", "Failed", "Cancelled")
FINAL_EVENTS = {f"prefect.flow-run.{state}" for state in (*_OTHER_FINAL, "Crashed")}


class TooManyAttemptsError(RuntimeError):
    """A flow run that crashed or failed on every attempt: stop instead of looping."""


def check_attempts(limit: int) -> None:
    """Fail (not crash) when this flow run has started more than ``limit`` times: ends the retry loop."""
    from prefect.runtime import flow_run

    if flow_run.run_count > limit:
        raise TooManyAttemptsError(f"flow run {flow_run.id} started {flow_run.run_count} times (limit {limit})")


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


def retry_automation() -> Automation:
    """The automation: a crashed flow run of a project deployment that is still crashed ``SETTLE_S`` after
    its crash goes back to Scheduled (the same flow run, so the same run id).

    Proactive, not reactive: one SIGKILL is reported twice (the runner, then the worker seeing its process
    exit), a few seconds apart, and a reactive retry put the run back to Scheduled between the two, where
    the second report crashed it again for good. Waiting for the reports to settle retries it once; any
    state the run takes in the meantime (a user's own retry, say) cancels the automatic one.
    """
    return Automation(
        name=RETRY_AUTOMATION_NAME,
        description=f"A crashed run of a deployment tagged {PROJECT_TAG!r} is scheduled again; it resumes its run id.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related=[
                {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{PROJECT_TAG}"},
                {"prefect.resource.role": "deployment"},
            ],
            after={"prefect.flow-run.Crashed"},
            expect={f"prefect.flow-run.{state}" for state in ("Scheduled", "Pending", "Running", *_OTHER_FINAL)},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=SETTLE_S),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.SCHEDULED,
                name="AwaitingRetry",
                message="Crashed: scheduled again by skillfoundry (the retry resumes the same run id).",
            )
        ],
    )


def _definition(automation: Automation) -> tuple[object, object]:
    """What the automation does, without the ids the server gives it."""
    return automation.trigger.model_dump(exclude={"id"}), [a.model_dump() for a in automation.actions]


async def _ensure(automation: Automation) -> bool:
    """Create the project's automation, or bring one of its name written by an older version up to date
    (its trigger and actions; whether it is enabled stays the user's choice); True when created."""
    try:
        stored = await Automation.aread(name=automation.name)
    except ValueError:  # Prefect's "not found"
        await automation.acreate()
        return True
    if _definition(stored) != _definition(automation):
        await automation.model_copy(update={"id": stored.id, "enabled": stored.enabled}).aupdate()
    return False


async def ensure_zombie_automation() -> bool:
    """Create the crash-detection and crash-retry automations on the configured Prefect server when missing
    (updating older versions of them); True when any was created."""
    created = [await _ensure(zombie_automation()), await _ensure(retry_automation())]
    return any(created)
