"""What the Prefect UI shows at the end of a run: lineage assets, the HTML report on disk, and a markdown
summary linking the skill folder and that report."""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_markdown_artifact

from skillfoundry.flows.assets import publish_assets
from skillfoundry.report.format import fmt
from skillfoundry.storage.query import LiftSummary

SUMMARY_KEY = "run-summary"


def report_path(data_dir: Path, run_id: str) -> Path:
    """Where a run's HTML report is written (``skillfoundry report`` writes the same page anywhere)."""
    return data_dir / "reports" / f"{run_id}.html"


def write_report(data_dir: Path, run_id: str) -> Path:
    """Render the run's self-contained HTML report into the data dir."""
    from skillfoundry.report.data import case_rows, finding_rows
    from skillfoundry.report.html import render_report
    from skillfoundry.storage.query import show_run

    path = report_path(data_dir, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(show_run(data_dir, run_id), case_rows(data_dir, run_id), finding_rows(data_dir, run_id))
    path.write_text(page, encoding="utf-8")
    return path


def summary_markdown(run_id: str, skill_id: str, skill_dir: Path, report: Path, lift: list[LiftSummary]) -> str:
    """The run in a few lines: verdict per student with lift and CI, links to the skill folder and report."""
    lines = [
        f"# Run `{run_id}`",
        "",
        f"- skill `{skill_id}`: [{skill_dir.name}]({skill_dir.resolve().as_uri()}) (`{skill_dir}`)",
        f"- HTML report: [{report.name}]({report.resolve().as_uri()}) (`{report}`)",
        "",
    ]
    for r in lift:
        lines.append(
            f"- **{r.model}**: {r.verdict}, lift {fmt(r.lift, signed=True)} "
            f"(95% CI [{fmt(r.ci_low, signed=True)}, {fmt(r.ci_high, signed=True)}], p {fmt(r.p_value)}, "
            f"{r.n_cases} cases x {r.n_epochs} epochs)"
        )
    return "\n".join(lines)


def publish_run(data_dir: Path, run_id: str, skill_id: str, skill_dir: Path, lift: list[LiftSummary]) -> Path:
    """Assets, report and summary of a finished run; the report's path."""
    publish_assets(data_dir, run_id)
    report = write_report(data_dir, run_id)
    create_markdown_artifact(
        key=SUMMARY_KEY,
        markdown=summary_markdown(run_id, skill_id, skill_dir, report, lift),
        description=f"Summary of run {run_id}",
    )
    return report
