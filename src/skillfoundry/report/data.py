"""What the HTML report reads from the store."""

from __future__ import annotations

from pathlib import Path

from skillfoundry.report.html import CaseRow, FindingRow
from skillfoundry.storage.catalog import catalog


def case_rows(data_dir: Path, run_id: str) -> list[CaseRow]:
    """Per test case and student: baseline and with-skill pass rates of this run."""
    con = catalog(data_dir)
    try:
        cur = con.execute(
            """
            select l.model, l.case_id, t.problem_id, l.baseline_rate, l.skill_rate, l.diff
            from case_lift l left join test_cases t using (case_id)
            where l.run_id = ? and l.split = 'test'
            """,
            [run_id],
        )
        names = [d[0] for d in cur.description]
        return [CaseRow(**dict(zip(names, row, strict=True))) for row in cur.fetchall()]
    finally:
        con.close()


def finding_rows(data_dir: Path, run_id: str) -> list[FindingRow]:
    """This run's findings; cases are named by their problem id where they have one."""
    con = catalog(data_dir)
    try:
        rows = con.execute(
            """
            select f.kind, coalesce(t.problem_id, f.case_id) as name, f.detail
            from skill_findings f left join test_cases t using (case_id)
            where f.run_id = ? order by f.kind, name
            """,
            [run_id],
        ).fetchall()
        return [FindingRow(kind=k, case_id=c, detail=d) for k, c, d in rows]
    finally:
        con.close()
