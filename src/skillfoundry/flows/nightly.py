"""Deployment entry points: plain parameters in, the distill flow underneath."""

from __future__ import annotations

from prefect import flow

from skillfoundry.config import Settings
from skillfoundry.flows.distill import DistillResult, distill
from skillfoundry.flows.naming import nightly_run_id, nightly_run_name
from skillfoundry.flows.zombies import check_attempts

# A failed night is retried as the same flow run: the same run id, so the retry resumes from stored rows.
FLOW_RETRIES = 2
FLOW_RETRY_DELAY_S = 60
# Attempts of one flow run in all (flow retries and crashed runs scheduled again by the retry automation).
MAX_ATTEMPTS = 5


@flow(
    name="nightly-distill",
    flow_run_name=nightly_run_name,
    retries=FLOW_RETRIES,
    retry_delay_seconds=FLOW_RETRY_DELAY_S,
)
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
    check_attempts(MAX_ATTEMPTS)
    given = {"teacher": teacher, "students": students}
    settings = Settings(
        **{k: v for k, v in given.items() if v is not None},
        cases=cases,
        train_cases=train_cases,
        epochs=epochs,
        refine_rounds=refine_rounds,
        seed=seed,
    )
    return distill(settings, nightly_run_id())
