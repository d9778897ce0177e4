"""Deployment entry points: plain parameters in, the distill flow underneath."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from skillfoundry.config import Settings
from skillfoundry.flows.distill import DistillResult, distill


@flow(name="nightly-distill")
def nightly_distill(
    teacher: str | None = None,
    students: list[str] | None = None,
    cases: int = 3,
    train_cases: int = 1,
    epochs: int = 2,
    refine_rounds: int = 1,
    seed: int = 0,
) -> DistillResult:
    """One scheduled distillation; settings not given here come from SKILLFOUNDRY_* variables."""
    given = {"teacher": teacher, "students": students}
    settings = Settings(
        **{k: v for k, v in given.items() if v is not None},
        cases=cases,
        train_cases=train_cases,
        epochs=epochs,
        refine_rounds=refine_rounds,
        seed=seed,
    )
    run_id = datetime.now(UTC).strftime("nightly-%Y%m%dT%H%M%SZ")
    return distill(settings, run_id)
