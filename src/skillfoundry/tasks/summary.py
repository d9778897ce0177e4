"""Summarise a run: lift per student from the catalog, published as Prefect artifacts."""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from skillfoundry.report.format import fmt
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.query import LiftSummary, run_lift


def lift_markdown(run_id: str, rows: list[LiftSummary]) -> str:
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


def summarize(data_dir: Path, run_id: str) -> list[LiftSummary]:
    """Read the lift of a finished run and publish it to the Prefect UI."""
    con = catalog(data_dir)
    try:
        rows = run_lift(con, run_id)
    finally:
        con.close()
    create_table_artifact(
        key="skill-lift",
        table=[{**r.model_dump(), "lift_per_1k_tokens": r.lift_per_1k_tokens} for r in rows],
        description=f"Skill lift of run {run_id}",
    )
    create_markdown_artifact(key="skill-lift-report", markdown=lift_markdown(run_id, rows))
    return rows
