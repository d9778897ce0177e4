"""Summarise a run: lift per student from the catalog, published as Prefect artifacts."""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel

from skillfoundry.report.format import fmt
from skillfoundry.storage.catalog import catalog

LIFT_COLUMNS = (
    "model",
    "skill_id",
    "baseline_pass_rate",
    "skill_pass_rate",
    "lift",
    "ci_low",
    "ci_high",
    "p_value",
    "n_cases",
    "n_epochs",
    "n_errors",
    "verdict",
)


class LiftRow(BaseModel):
    """Skill lift of one student in one run."""

    model: str
    skill_id: str
    baseline_pass_rate: float | None
    skill_pass_rate: float | None
    lift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_cases: int
    n_epochs: int
    n_errors: int
    verdict: str


def lift_rows(data_dir: Path, run_id: str) -> list[LiftRow]:
    con = catalog(data_dir)
    cur = con.execute(
        f"select {', '.join(LIFT_COLUMNS)} from skill_lift where run_id = ? order by model", [run_id]
    )
    return [LiftRow(**dict(zip(LIFT_COLUMNS, row, strict=True))) for row in cur.fetchall()]


def lift_markdown(run_id: str, rows: list[LiftRow]) -> str:
    lines = [
        f"# Skill lift, run `{run_id}`",
        "",
        "| student | baseline | with skill | lift | 95% CI | p | n cases x epochs | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {fmt(r.baseline_pass_rate)} | {fmt(r.skill_pass_rate)} | {fmt(r.lift, signed=True)} "
            f"| [{fmt(r.ci_low, signed=True)}, {fmt(r.ci_high, signed=True)}] | {fmt(r.p_value)} "
            f"| {r.n_cases} x {r.n_epochs} | {r.verdict} |"
        )
    return "\n".join(lines)


def summarize(data_dir: Path, run_id: str) -> list[LiftRow]:
    """Read the lift of a finished run and publish it to the Prefect UI."""
    rows = lift_rows(data_dir, run_id)
    create_table_artifact(
        key="skill-lift", table=[r.model_dump() for r in rows], description=f"Skill lift of run {run_id}"
    )
    create_markdown_artifact(key="skill-lift-report", markdown=lift_markdown(run_id, rows))
    return rows
