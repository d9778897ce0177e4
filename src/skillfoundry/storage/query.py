"""Read-only queries over the catalog: SQL in any output format, run listings, a portable database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from skillfoundry.storage.catalog import DEFAULT_MIN_CASES, catalog, create_views, lift_options
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.files import scan
from skillfoundry.storage.prices import Price
from skillfoundry.storage.stats import DEFAULT_LEVEL, DEFAULT_N_BOOT, DEFAULT_SEED

Format = Literal["table", "csv", "json", "parquet"]
FORMATS: tuple[str, ...] = ("table", "csv", "json", "parquet")
READ_STATEMENTS = {"SELECT", "EXPLAIN"}


def one_line(err: BaseException) -> str:
    """The first meaningful line of a DuckDB error, without its LINE/caret context."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """A StorageError unless ``sql`` is exactly one read-only statement (SELECT or EXPLAIN)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as err:
        raise StorageError(f"query: {one_line(err)}") from None
    if len(statements) != 1:
        raise StorageError(f"query: expected one statement, got {len(statements)}")
    kind = statements[0].type.name
    if kind not in READ_STATEMENTS:
        raise StorageError(f"query: only SELECT queries are allowed, got {kind}")


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Run one read-only statement; any other statement or a DuckDB error is a one-line StorageError."""
    check_read_only(con, sql)
    try:
        return con.execute(sql, params) if params is not None else con.execute(sql)
    except duckdb.Error as err:
        raise StorageError(f"query: {one_line(err)}") from None


def arrow_of(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The result of one read-only statement as an Arrow table."""
    check_read_only(con, sql)
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as err:
        raise StorageError(f"query: {one_line(err)}") from None


def run_query(data_dir: Path | str, sql: str, fmt: Format = "table", out: Path | None = None) -> str:
    """Run ``sql`` over the catalog of ``data_dir``; return it as text (and write it to ``out`` if given).

    ``parquet`` needs ``out``; it returns a one-line summary. Text formats are written to ``out``
    as they are returned.
    """
    if fmt not in FORMATS:
        raise StorageError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out is None:
        raise StorageError("format 'parquet' needs an output file (--out)")
    con = catalog(data_dir)
    try:
        if fmt == "parquet":
            table = arrow_of(con, sql)
            pq.write_table(table, out, compression="zstd")
            return f"wrote {table.num_rows} rows to {out}"
        result = execute(con, sql)
        names = [d[0] for d in result.description]
        rows = result.fetchall()
    finally:
        con.close()
    text = render(names, rows, fmt)
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def render(names: list[str], rows: list[tuple[Any, ...]], fmt: Format, title: str | None = None) -> str:
    """Rows as a rich table, CSV or JSON text."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[_cell(v) for v in row] for row in rows])
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps(
            [{n: _cell(v) for n, v in zip(names, row, strict=True)} for row in rows], default=str, indent=1
        )
    table = Table(title=title)
    for name in names:
        table.add_column(name)
    for row in rows:
        table.add_row(*("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(_cell(v)) for v in row))
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(table)
    return console.export_text()


class RunSummary(BaseModel):
    """One row of ``skillfoundry runs``."""

    run_id: str
    flow: str | None
    status: str | None
    started_at: datetime | None
    finished_at: datetime | None
    models: list[str]
    n_generations: int


class LiftSummary(BaseModel):
    """Lift of one student and skill in a run."""

    model: str
    skill_id: str | None
    sampling_key: str
    level: str = "unknown"  # the grading level of every answer behind this row (see views.py)
    n_cases: int
    n_epochs: int
    n_errors: int
    baseline_pass_rate: float | None
    skill_pass_rate: float | None
    lift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str
    skill_tokens: int | None
    leaks: int
    non_discriminating: int

    @property
    def lift_per_1k_tokens(self) -> float | None:
        """Lift bought per 1,000 tokens of skill text loaded into the student's context."""
        if self.lift is None or not self.skill_tokens:
            return None
        return self.lift * 1000 / self.skill_tokens


LIFT_SQL = """
SELECT l.model, l.skill_id, l.sampling_key, l.level, l.n_cases, l.n_epochs, l.n_errors, l.baseline_pass_rate,
       l.skill_pass_rate, l.lift, l.ci_low, l.ci_high, l.p_value, l.verdict,
       any_value(s.tokens) AS skill_tokens,
       count(DISTINCT f.finding_id) FILTER (WHERE f.kind LIKE 'leak-%') AS leaks,
       count(DISTINCT f.finding_id) FILTER (WHERE f.kind IN ('always-passes', 'always-fails')) AS non_discriminating
FROM skill_lift l
LEFT JOIN skills s USING (skill_id)
LEFT JOIN skill_findings f ON f.run_id = l.run_id AND f.skill_id = l.skill_id
WHERE l.run_id = ?
GROUP BY ALL
ORDER BY l.model, l.skill_id, l.level
"""


def run_lift(con: duckdb.DuckDBPyConnection, run_id: str) -> list[LiftSummary]:
    """Lift per student and skill of one run (held-out test split), with skill tokens and findings."""
    return [LiftSummary(**row) for row in _records(con, LIFT_SQL, [run_id])]


class CostSummary(BaseModel):
    """Tokens, dollars and GPU seconds of one model in one role in a run."""

    model: str | None
    role: Literal["student", "teacher", "judge"]
    input_tokens: int
    output_tokens: int
    usd: float | None
    gpu_seconds: float


class RunDetail(BaseModel):
    """What ``skillfoundry show RUN_ID`` prints."""

    run: RunSummary
    config: dict[str, Any]
    lift: list[LiftSummary]
    cost: list[CostSummary]


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    result = execute(con, sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


RUNS_SQL = """
SELECT coalesce(r.run_id, g.run_id) AS run_id, r.flow, r.status, r.started_at, r.finished_at,
       coalesce(g.models, []) AS models, coalesce(g.n_generations, 0) AS n_generations
FROM runs r
FULL OUTER JOIN (SELECT run_id, list(DISTINCT model ORDER BY model) AS models, sum(n_gens)::BIGINT AS n_generations
                 FROM _cells GROUP BY run_id) g USING (run_id)
"""


def list_runs(data_dir: Path | str) -> list[RunSummary]:
    """Every run, newest first, with its students and number of answers."""
    con = catalog(data_dir)
    try:
        rows = _records(con, f"SELECT * FROM ({RUNS_SQL}) ORDER BY started_at DESC NULLS FIRST, run_id DESC")
    finally:
        con.close()
    return [RunSummary(**row) for row in rows]


def show_run(data_dir: Path | str, run_id: str, *, min_cases: int = DEFAULT_MIN_CASES) -> RunDetail:
    """One run: its config, the lift per student and skill with CI, and its cost."""
    con = catalog(data_dir, min_cases=min_cases)
    try:
        runs = _records(con, f"SELECT * FROM ({RUNS_SQL}) WHERE run_id = ?", [run_id])
        if not runs:
            raise StorageError(f"run {run_id!r} not found in {data_dir}")
        config = _records(con, "SELECT config_json FROM runs WHERE run_id = ?", [run_id])
        lift = run_lift(con, run_id)
        cost = _records(
            con,
            f"SELECT {', '.join(CostSummary.model_fields)} FROM cost WHERE run_id = ? ORDER BY role, model",
            [run_id],
        )
    finally:
        con.close()
    try:
        parsed = json.loads(config[0]["config_json"]) if config else {}
    except json.JSONDecodeError:
        parsed = {"config_json": config[0]["config_json"]}
    return RunDetail(
        run=RunSummary(**runs[0]),
        config=parsed if isinstance(parsed, dict) else {"config": parsed},
        lift=lift,
        cost=[CostSummary(**row) for row in cost],
    )


def export_db(
    data_dir: Path | str,
    path: Path | str,
    *,
    min_cases: int = DEFAULT_MIN_CASES,
    prices: Mapping[str, Price] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> Path:
    """Write a DuckDB database file with the catalog's views over absolute Parquet globs.

    Plain ``duckdb PATH`` opens it: the bootstrap runs in SQL (same weights and results as the
    catalog, slower on big stores), and the views see runs written later. A table with no files
    at export time stays an empty view until the next export.
    """
    options = lift_options(min_cases=min_cases, n_boot=n_boot, seed=seed, level=level, udf=False)
    inventory = scan(data_dir)
    target = Path(path).expanduser().absolute()
    if target.is_dir():
        raise StorageError(f"database path {str(target)!r} is a folder")
    if not target.parent.is_dir():
        raise StorageError(f"database folder {str(target.parent)!r} does not exist")
    try:
        con = duckdb.connect(str(target))
    except duckdb.Error as err:
        raise StorageError(f"database {str(target)!r}: {one_line(err)}") from None
    try:
        create_views(con, inventory, options, prices, snapshot=False)
    finally:
        con.close()
    return target
