"""Flow runs named for what they do (suite or skill, students, date) instead of Prefect's random names."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect.runtime import flow_run

from skillfoundry.config import Settings


def describe(what: str, students: list[str], when: datetime, run_id: str | None = None) -> str:
    """``distill cuda: local, openai:m@... on 2026-11-29 (run ID)``."""
    name = f"{what}: {', '.join(students)} on {when:%Y-%m-%d}"
    return f"{name} (run {run_id})" if run_id else name


def _settings() -> Settings:
    given = flow_run.parameters.get("settings")
    return given if isinstance(given, Settings) else Settings.model_validate(given or {})


def distill_run_name() -> str:
    """Name of a ``distill`` flow run, from its parameters."""
    return describe("distill cuda", _settings().students, flow_run.scheduled_start_time, flow_run.parameters.get("run_id"))


def evaluate_run_name() -> str:
    """Name of an ``evaluate-skill`` flow run: the skill folder's name, students, date, run id."""
    params = flow_run.parameters
    skill = Path(str(params.get("skill_dir", "skill"))).name
    return describe(f"eval {skill}", _settings().students, flow_run.scheduled_start_time, params.get("run_id"))


def nightly_run_name() -> str:
    """Name of a ``nightly-distill`` flow run: the students given, else the configured ones, and the date."""
    students = flow_run.parameters.get("students") or Settings().students
    return describe("nightly cuda", list(students), flow_run.scheduled_start_time)


def nightly_run_id() -> str:
    """The run id of a nightly flow run: its Prefect flow run id, the same on every retry of that run, so a
    retry resumes the experiment instead of starting another."""
    if flow_run.id is None:
        raise RuntimeError("nightly_run_id() is only defined inside a flow run")
    return f"nightly-{flow_run.id}"
