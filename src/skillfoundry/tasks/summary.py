"""Summarise a run: lift per student from the catalog, published as Prefect artifacts."""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from skillfoundry.report.format import LIFT_HEADERS, lift_cells
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.query import LiftSummary, run_lift


def lift_markdown(run_id: str, rows: list[LiftSummary]) -> str:
    lines = [
        f"# Skill lift, run `{run_id}`",
        "",
        "| " + " | ".join(LIFT_HEADERS) + " |",
        "|" + "---|" * len(LIFT_HEADERS),
    ]
    lines += ["| " + " | ".join(lift_cells(r)) + " |" for r in rows]
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
    publish_recommendation(data_dir, run_id)
    return rows


def publish_recommendation(data_dir: Path, run_id: str) -> None:
    """The run's recommendation (``skillfoundry recommend --runs RUN``) as a Prefect markdown artifact."""
    from skillfoundry.decisions.recommend import recommend
    from skillfoundry.decisions.render import recommendation_markdown
    from skillfoundry.storage.decide import config_rows

    try:
        rows = config_rows(data_dir, [run_id])
    except StorageError:  # a run without answers: the statement says so
        rows = []
    create_markdown_artifact(key="recommendation", markdown=recommendation_markdown(recommend(rows, 0.8)))
