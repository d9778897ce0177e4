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
    skill_tokens: int
    leaks: int
    non_discriminating: int

    @property
    def lift_per_1k_tokens(self) -> float | None:
        """Lift bought per 1,000 tokens of skill text loaded into the student's context."""
        return None if self.lift is None or self.skill_tokens == 0 else self.lift * 1000 / self.skill_tokens


def lift_rows(data_dir: Path, run_id: str) -> list[LiftRow]:
    con = catalog(data_dir)
    columns = ", ".join(f"l.{c}" for c in LIFT_COLUMNS)
    cur = con.execute(
        f"""
        select {columns}, s.tokens,
               count(f.finding_id) filter (where f.kind like 'leak-%'),
               count(f.finding_id) filter (where f.kind in ('always-passes', 'always-fails'))
        from skill_lift l join skills s using (skill_id)
        left join skill_findings f on f.run_id = l.run_id and f.skill_id = l.skill_id
        where l.run_id = ? and l.split = 'test'
        group by all order by l.model
        """,
        [run_id],
    )
    extra = ("skill_tokens", "leaks", "non_discriminating")
    return [LiftRow(**dict(zip((*LIFT_COLUMNS, *extra), row, strict=True))) for row in cur.fetchall()]


def lift_markdown(run_id: str, rows: list[LiftRow]) -> str:
    lines = [
        f"# Skill lift, run `{run_id}`",
        "",
        "| student | baseline | with skill | lift | 95% CI | p | n cases x epochs | verdict | lift / 1k skill tokens "
        "| leaks | non-discriminating cases |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {fmt(r.baseline_pass_rate)} | {fmt(r.skill_pass_rate)} | {fmt(r.lift, signed=True)} "
            f"| [{fmt(r.ci_low, signed=True)}, {fmt(r.ci_high, signed=True)}] | {fmt(r.p_value)} "
            f"| {r.n_cases} x {r.n_epochs} | {r.verdict} | {fmt(r.lift_per_1k_tokens, signed=True)} "
            f"| {r.leaks} | {r.non_discriminating} |"
        )
    return "\n".join(lines)


def summarize(data_dir: Path, run_id: str) -> list[LiftRow]:
    """Read the lift of a finished run and publish it to the Prefect UI."""
    rows = lift_rows(data_dir, run_id)
    create_table_artifact(
        key="skill-lift",
        table=[{**r.model_dump(), "lift_per_1k_tokens": r.lift_per_1k_tokens} for r in rows],
        description=f"Skill lift of run {run_id}",
    )
    create_markdown_artifact(key="skill-lift-report", markdown=lift_markdown(run_id, rows))
    return rows
