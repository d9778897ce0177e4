"""The stored answers of one run with their prompts and grades, for exporters (inspect_ai logs, ...)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.errors import StorageError


class ExportGrade(BaseModel):
    """One grade of an answer."""

    grader: str
    passed: bool
    score: float
    level: str  # GradingLevel value; "unknown" for rows written before levels existed
    infra_error: bool
    detail: dict[str, object]


class ExportAnswer(BaseModel):
    """One generation of the run (one student, condition, case, epoch) with its case and grades."""

    gen_id: str
    case_id: str
    split: str | None
    prompt: str
    skill_id: str | None
    condition: str
    model: str
    epoch: int
    seed: int
    sampling_key: str
    text: str
    input_tokens: int
    output_tokens: int
    latency_s: float
    error: str | None
    error_kind: str | None
    grades: list[ExportGrade]


class RunExport(BaseModel):
    """A run's header and every answer it stored (the latest copy of each generation and grade)."""

    run_id: str
    flow: str | None
    started_at: datetime | None
    config: dict[str, object]
    answers: list[ExportAnswer]


ANSWERS_SQL = """
SELECT g.gen_id, g.case_id, c.split, coalesce(c.prompt, '') AS prompt, g.skill_id, g.condition, g.model, g.epoch,
       g.seed, g.sampling_key, g.text, g.input_tokens, g.output_tokens, g.latency_s, g.error, g.error_kind
FROM generations g LEFT JOIN test_cases c USING (case_id)
WHERE g.run_id = ?
ORDER BY g.model, g.condition, g.skill_id NULLS FIRST, g.case_id, g.epoch, g.gen_id
"""

GRADES_SQL = """
SELECT gen_id, grader, passed, score, coalesce(level, 'unknown') AS level, coalesce(infra_error, false) AS infra_error,
       detail_json
FROM grades WHERE run_id = ? ORDER BY gen_id, grader, grade_id
"""


def run_export(data_dir: Path | str, run_id: str) -> RunExport:
    """Every answer of ``run_id`` with its prompt and grades; a StorageError if the run stored none."""
    con = catalog(data_dir)
    try:
        run = con.execute("SELECT flow, started_at, config_json FROM runs WHERE run_id = ?", [run_id]).fetchone()
        cur = con.execute(ANSWERS_SQL, [run_id])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        grade_rows = con.execute(GRADES_SQL, [run_id]).fetchall()
    finally:
        con.close()
    if not rows:
        raise StorageError(f"run {run_id!r}: no answers stored in {data_dir}")
    grades: dict[str, list[ExportGrade]] = {}
    for gen_id, grader, passed, score, level, infra, detail_json in grade_rows:
        grades.setdefault(gen_id, []).append(
            ExportGrade(
                grader=grader, passed=passed, score=score, level=level, infra_error=infra, detail=_object(detail_json)
            )
        )
    flow, started_at, config_json = run if run else (None, None, "{}")
    return RunExport(
        run_id=run_id,
        flow=flow,
        started_at=started_at,
        config=_object(config_json),
        answers=[ExportAnswer(**row, grades=grades.get(row["gen_id"], [])) for row in rows],
    )


def _object(text: str | None) -> dict[str, object]:
    """A stored JSON object column as a dict (anything else is kept under 'value')."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}
