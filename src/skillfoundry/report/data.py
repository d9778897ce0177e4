"""What the HTML report reads from the store (through storage's named queries)."""

from __future__ import annotations

from pathlib import Path

from skillfoundry.storage.answers import CaseLift, Finding, case_lifts, findings


def case_rows(data_dir: Path, run_id: str) -> list[CaseLift]:
    """Per test case, student and grading level: baseline and with-skill pass rates of this run."""
    return [row for row in case_lifts(data_dir, run_id) if row.split == "test"]


def finding_rows(data_dir: Path, run_id: str) -> list[Finding]:
    """This run's findings; cases are named by their problem id where they have one."""
    return findings(data_dir, run_id)
