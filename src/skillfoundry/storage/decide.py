"""Read-only queries behind ``skillfoundry recommend`` and ``skillfoundry compare``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel

from skillfoundry.storage.catalog import DEFAULT_MIN_CASES, catalog, lift_options, register_bootstrap
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.query import LiftSummary, _records, run_lift
from skillfoundry.storage.recommend import ConfigRow, recommendations_sql
from skillfoundry.storage.stats import DEFAULT_LEVEL, DEFAULT_N_BOOT, DEFAULT_SEED, case_key
from skillfoundry.storage.views import skill_lift_view

LIFT_SOURCE = "FROM _case_lift"


def config_rows(data_dir: Path | str, runs: Sequence[str] | None = None) -> list[ConfigRow]:
    """The ``recommendations`` rows over ``runs`` (None: every run); a run without answers is a StorageError."""
    con = catalog(data_dir)
    try:
        if runs is not None:
            known = {r["run_id"] for r in _records(con, "SELECT DISTINCT run_id FROM _cells")}
            missing = [r for r in runs if r not in known]
            if missing:
                raise StorageError(f"run {missing[0]!r}: no stored answers in {data_dir}")
        options = lift_options(
            min_cases=DEFAULT_MIN_CASES, n_boot=DEFAULT_N_BOOT, seed=DEFAULT_SEED, level=DEFAULT_LEVEL, udf=True
        )
        sql = "SELECT * FROM recommendations" if runs is None else recommendations_sql(options, runs)
        rows = _records(con, sql)
    finally:
        con.close()
    return [ConfigRow(**row) for row in rows]


class SideCase(BaseModel):
    """With-skill answers of one student to one held-out test case, at one grading level, on one side of a
    comparison."""

    model: str
    sampling_key: str
    level: str
    skill_id: str
    case_id: str
    problem_id: str | None
    n_graded: int
    n_passed: int


class SideCost(BaseModel):
    """What one student's with-skill answers on a side cost."""

    model: str
    n_answers: int
    tokens: int
    usd: float | None
    gpu_seconds: float


class Side(BaseModel):
    """One side of a comparison: a run (its latest skill version per student) or a skill version (all runs)."""

    kind: Literal["run", "skill"]
    ident: str
    cases: list[SideCase]
    lift: list[LiftSummary]
    cost: list[SideCost]


SIDE_CASES_SQL = """
WITH chosen AS (
    SELECT model, skill_id FROM (
        SELECT DISTINCT c.model, c.skill_id, coalesce(s.round, -1) AS round
        FROM _cells c LEFT JOIN skills s USING (skill_id)
        WHERE c.condition = 'with_skill' AND {where})
    QUALIFY row_number() OVER (PARTITION BY model ORDER BY round DESC, skill_id) = 1)
SELECT c.model, c.sampling_key, c.level, c.skill_id, c.case_id, any_value(t.problem_id) AS problem_id,
       sum(c.n_graded)::BIGINT AS n_graded, sum(c.n_passed)::BIGINT AS n_passed
FROM _cells c JOIN _cases t USING (case_id) JOIN chosen USING (model, skill_id)
WHERE t.split = 'test' AND c.condition = 'with_skill' AND {where}
GROUP BY c.model, c.sampling_key, c.level, c.skill_id, c.case_id
ORDER BY c.model, c.level, c.sampling_key, c.case_id"""

SIDE_COST_SQL = """
SELECT u.model, count(*) AS n_answers, sum(u.input_tokens + u.output_tokens)::BIGINT AS tokens,
       CASE WHEN bool_or(u.usd IS NULL) THEN NULL ELSE fsum(u.usd) END AS usd, fsum(u.gpu_seconds) AS gpu_seconds
FROM _answer_cost u JOIN _cases t USING (case_id)
JOIN (SELECT DISTINCT model, skill_id FROM ({cases})) k USING (model, skill_id)
WHERE t.split = 'test' AND u.condition = 'with_skill' AND {where}
GROUP BY u.model ORDER BY u.model"""


def side(data_dir: Path | str, ident: str, *, min_cases: int = DEFAULT_MIN_CASES) -> Side:
    """The side named ``ident``: a run id, else a skill id (or a unique prefix of 4+ characters)."""
    con = catalog(data_dir, min_cases=min_cases)
    try:
        runs = {r["run_id"] for r in _records(con, "SELECT run_id FROM runs UNION SELECT run_id FROM _cells")}
        if ident in runs:
            kind, key, where = "run", ident, "c.run_id = ?"
        else:
            skills = sorted(
                r["skill_id"]
                for r in _records(con, "SELECT DISTINCT skill_id FROM _cells WHERE starts_with(skill_id, ?)", [ident])
            )
            if len(ident) < 4 or not skills:
                raise StorageError(f"{ident!r}: neither a run id nor a skill id with answers in {data_dir}")
            if len(skills) > 1:
                raise StorageError(f"{ident!r}: ambiguous skill id prefix, matches {', '.join(skills[:5])}")
            kind, key, where = "skill", skills[0], "c.skill_id = ?"
        cases_sql = SIDE_CASES_SQL.format(where=where)
        cases = [SideCase(**r) for r in _records(con, cases_sql, [key, key])]
        cost_sql = SIDE_COST_SQL.format(cases=cases_sql, where=where.replace("c.", "u."))
        cost = [SideCost(**r) for r in _records(con, cost_sql, [key, key, key])]
        if kind == "run":
            chosen = {(c.model, c.skill_id) for c in cases}
            lift = [row for row in run_lift(con, key) if (row.model, row.skill_id) in chosen]
        else:
            latest = _records(
                con,
                "SELECT l.run_id FROM skill_lift l LEFT JOIN runs r USING (run_id) WHERE l.skill_id = ? "
                "ORDER BY r.started_at DESC NULLS LAST, l.run_id DESC LIMIT 1",
                [key],
            )
            lift = [r for r in run_lift(con, latest[0]["run_id"]) if r.skill_id == key] if latest else []
    finally:
        con.close()
    return Side(kind=kind, ident=key, cases=cases, lift=lift, cost=cost)


class KernelAnswers(BaseModel):
    """One student's kernel answers in one condition of a run: how many, and the speedups of the correct
    ones (GPU-benchmarked, not suspect; the slowest of a kernel's benchmarks, as ``kernel_speedups``)."""

    model: str
    condition: str
    n_answers: int
    correct_speedups: list[float]


KERNEL_ANSWERS_SQL = """
WITH bench AS (
    SELECT gen_id, bool_and(correct AND NOT suspect) AS correct, min(speedup) AS speedup
    FROM kernel_benchmarks WHERE gen_id IS NOT NULL GROUP BY gen_id)
SELECT g.model, g.condition, count(*) AS n_answers,
       coalesce(list(coalesce(b.speedup, 0.0)) FILTER (WHERE b.correct), []) AS correct_speedups
FROM generations g JOIN _cases t USING (case_id) LEFT JOIN bench b USING (gen_id)
WHERE g.run_id = ? AND t.kind = 'kernel' AND t.split = 'test' AND g.error_kind IS NULL
GROUP BY g.model, g.condition
HAVING count(b.gen_id) > 0
ORDER BY g.model, g.condition"""


def kernel_answers(data_dir: Path | str, run_id: str) -> list[KernelAnswers]:
    """Per student and condition of a run, its GPU-benchmarked kernel answers (none without a GPU stage)."""
    con = catalog(data_dir)
    try:
        return [KernelAnswers(**row) for row in _records(con, KERNEL_ANSWERS_SQL, [run_id])]
    finally:
        con.close()


class CasePair(BaseModel):
    """One test case answered on both sides of a comparison by one student at one grading level."""

    model: str
    level: str
    case_id: str
    a_graded: int
    a_passed: int
    b_graded: int
    b_passed: int


class PairedLift(BaseModel):
    """B - A over the paired cases of one student and level, with the lift's CI, sign test and verdict."""

    model: str
    level: str
    n_cases: int
    a_pass_rate: float | None
    b_pass_rate: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str


PAIR_COLUMNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("model", pa.string()),
        ("skill_id", pa.string()),
        ("sampling_key", pa.string()),
        ("level", pa.string()),
        ("case_id", pa.string()),
        ("split", pa.string()),
        ("case_key", pa.uint64()),
        ("n_epochs", pa.int64()),
        ("skill_n", pa.int64()),
        ("base_n", pa.int64()),
        ("skill_rate", pa.float64()),
        ("baseline_rate", pa.float64()),
        ("diff", pa.float64()),
        ("n_errors", pa.int64()),
    ]
)


def paired_lift(pairs: list[CasePair], *, min_cases: int = DEFAULT_MIN_CASES) -> list[PairedLift]:
    """B - A per (student, level) by the very statistics of ``skill_lift`` (its SQL, CI, sign test and
    verdict rule), run over these pairs as if A were the baseline and B the with-skill answers."""
    rows = [
        {
            "run_id": None,
            "model": p.model,
            "skill_id": None,
            "sampling_key": "-",
            "level": p.level,
            "case_id": p.case_id,
            "split": "test",
            "case_key": case_key(p.case_id),
            "n_epochs": 0,
            "skill_n": p.b_graded,
            "base_n": p.a_graded,
            "skill_rate": p.b_passed / p.b_graded,
            "baseline_rate": p.a_passed / p.a_graded,
            "diff": p.b_passed / p.b_graded - p.a_passed / p.a_graded,
            "n_errors": 0,
        }
        for p in pairs
        if p.a_graded and p.b_graded
    ]
    options = lift_options(min_cases=min_cases, n_boot=DEFAULT_N_BOOT, seed=DEFAULT_SEED, level=DEFAULT_LEVEL, udf=True)
    sql = skill_lift_view(options)
    if sql.count(LIFT_SOURCE) != 1:
        raise StorageError(f"skill_lift no longer reads {LIFT_SOURCE} once; compare cannot reuse its statistics")
    con = duckdb.connect()
    try:
        register_bootstrap(con, options)
        con.register("_compare_pairs", pa.Table.from_pylist(rows, schema=PAIR_COLUMNS))
        result = _records(
            con,
            f"SELECT model, level, n_cases, baseline_pass_rate AS a_pass_rate, skill_pass_rate AS b_pass_rate, "
            f"lift AS diff, ci_low, ci_high, p_value, verdict FROM ({sql.replace(LIFT_SOURCE, 'FROM _compare_pairs')}) "
            f"ORDER BY model, level",
        )
    finally:
        con.close()
    return [PairedLift(**row) for row in result]
