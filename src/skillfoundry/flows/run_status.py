"""The runs table: a row when a flow starts and another when it ends (the latest status wins)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from prefect.runtime import flow_run

from skillfoundry.config import Settings
from skillfoundry.llm.budget import BudgetExceededError
from skillfoundry.storage.records import RunRecord
from skillfoundry.storage.writer import write_rows


def git_sha() -> str | None:
    """The commit the code runs from, when it runs from a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except OSError:
        return None
    return out.stdout.strip() or None


def run_record(settings: Settings, run_id: str, flow: str, started: datetime, status: str) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        flow=flow,
        started_at=started,
        finished_at=None if status == "running" else datetime.now(UTC),
        status=status,
        config_json=settings.model_dump_json(),
        git_sha=git_sha(),
        prefect_flow_run_id=str(flow_run.id) if flow_run.id else None,
    )


@contextmanager
def recorded_run(settings: Settings, run_id: str, flow: str) -> Iterator[None]:
    """Record the run as running, then as completed, stopped-budget (``--budget-usd`` reached) or failed
    (also on Ctrl-C)."""
    started = datetime.now(UTC)
    write_rows(settings.data_dir, "runs", [run_record(settings, run_id, flow, started, "running")])
    try:
        yield
    except BudgetExceededError:
        write_rows(settings.data_dir, "runs", [run_record(settings, run_id, flow, started, "stopped-budget")])
        raise
    except BaseException:
        write_rows(settings.data_dir, "runs", [run_record(settings, run_id, flow, started, "failed")])
        raise
    write_rows(settings.data_dir, "runs", [run_record(settings, run_id, flow, started, "completed")])
