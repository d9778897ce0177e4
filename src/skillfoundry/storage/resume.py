"""What a run already stored, so a resumed run reuses it: its configuration, traces, skill versions, cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.records import SkillRecord, TestCaseRecord, TraceRecord


class StoredRun(BaseModel):
    """A run's stored state: the flow and configuration it started with, its traces, skill versions
    (every round) and test cases. Empty lists for a run that never got that far."""

    flow: str | None = None
    config: dict[str, Any] | None = None
    traces: list[TraceRecord] = []
    skills: list[SkillRecord] = []
    cases: list[TestCaseRecord] = []


def _records(con, model: type[BaseModel], table: str, run_id: str, order: str) -> list[Any]:
    cursor = con.execute(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY {order}", [run_id])
    names = [d[0] for d in cursor.description]
    fields = set(model.model_fields)
    return [model(**{k: v for k, v in zip(names, row, strict=True) if k in fields}) for row in cursor.fetchall()]


def stored_traces(data_dir: Path, trace_ids: list[str]) -> list[TraceRecord]:
    """The traces with these ids, whatever run stored them, in the order asked; a one-line ValueError
    naming the first id not stored under ``data_dir``."""
    found: dict[str, TraceRecord] = {}
    if Path(data_dir).exists() and trace_ids:
        con = catalog(data_dir)
        try:
            cursor = con.execute("SELECT * FROM traces WHERE list_contains(?, trace_id)", [trace_ids])
            names = [d[0] for d in cursor.description]
            fields = set(TraceRecord.model_fields)
            for row in cursor.fetchall():
                record = TraceRecord(**{k: v for k, v in zip(names, row, strict=True) if k in fields})
                found.setdefault(record.trace_id, record)
        finally:
            con.close()
    for trace_id in trace_ids:
        if trace_id not in found:
            raise ValueError(
                f"trace {trace_id} is not stored in {data_dir} (store one with `skillfoundry trace import FILE.jsonl`)"
            )
    return [found[t] for t in trace_ids]


def teacher_usd(data_dir: Path, run_id: str) -> float:
    """What the run's teacher calls stored so far cost (traces, extraction, refinement), in USD."""
    return _stored_usd(data_dir, run_id, ("traces",))


def spent_usd(data_dir: Path, run_id: str) -> float:
    """What the run's stored calls cost so far, in USD: teacher traces, student answers, judge calls."""
    return _stored_usd(data_dir, run_id, ("traces", "generations", "grades"))


def _stored_usd(data_dir: Path, run_id: str, tables: tuple[str, ...]) -> float:
    if not Path(data_dir).exists():
        return 0.0
    sums = " UNION ALL ".join(f"SELECT coalesce(sum(cost_usd), 0) AS usd FROM {t} WHERE run_id = $run" for t in tables)
    con = catalog(data_dir)
    try:
        (usd,) = con.execute(f"SELECT sum(usd) FROM ({sums})", {"run": run_id}).fetchone()
    finally:
        con.close()
    return float(usd)


def load_run(data_dir: Path, run_id: str) -> StoredRun:
    """Everything ``run_id`` stored under ``data_dir`` (nothing, for a new run or a new data dir)."""
    if not Path(data_dir).exists():
        return StoredRun()
    con = catalog(data_dir)
    try:
        row = con.execute("SELECT flow, config_json FROM runs WHERE run_id = ?", [run_id]).fetchone()
        return StoredRun(
            flow=row[0] if row else None,
            config=json.loads(row[1]) if row else None,
            traces=_records(con, TraceRecord, "traces", run_id, "task_id, trace_id"),
            skills=_records(con, SkillRecord, "skills", run_id, "round, skill_id"),
            cases=_records(con, TestCaseRecord, "test_cases", run_id, "split, case_id"),
        )
    finally:
        con.close()
