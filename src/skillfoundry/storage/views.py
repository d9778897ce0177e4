"""The SQL of the catalog: one deduplicated view per table plus the derived views.

Pure functions from (sources, options) to SQL text; ``catalog.py`` runs them. Views whose names
start with ``_`` are internal building blocks.

Which copy wins
---------------
Copies of a row share its id (retried batches, re-asked answers, an interrupted compaction). Per id
the best copy wins, by one total order (``copy_order``): the table's preference first (generations:
one without ``error_kind``; grades: one without ``infra_error``; runs: the latest status), then the
latest ``written_at`` (stamped by the writer; older files without it count as earliest; for
generations the ``answered_at`` of the copy: when its answer was first written, so an identical copy
written again is not a newer answer), then every column, so the choice never depends on file order
and compaction, which keeps the winner, changes nothing. "The latest successful copy wins",
everywhere: table views, answers, rollups, baselines, ``answered``.

Answers (``answers``; the one definition of a usable answer)
-------------------------------------------------------------
One row per (run_id, gen_id): the winning generation copy, the grades written for it (grade rows
of that run and gen_id written no earlier than its ``answered_at``: a re-asked answer is not graded
by its predecessor's grades; per grade id the winning copy), and its
``state``: 'error' (``error_kind`` set, or a grade with ``infra_error``), 'ungraded' (no grade yet)
or 'usable'. A usable answer passes when all its grades pass. Its ``level`` is the distinct grading
levels of its grades, sorted and joined by '+' (a grade row without a level reads 'unknown').

Derived views
-------------
``pass_rates``      run_id, model, skill_id, condition, sampling_key, level, split, n_cases,
                    n_generations, n_errors, n_ungraded, pass_rate (mean over cases of the per-case rate).
``case_lift``       per (run, model, skill, sampling key, level, case): with-skill and pooled baseline
                    counts and rates, diff, n_errors.
``skill_lift``      per (run, model, skill, sampling key, level), held-out test cases only: baseline
                    and with-skill pass rates, lift, 95% paired cluster-bootstrap CI (t-expanded, see
                    ``stats.py``), exact sign-test p, verdict.
``cost``            per (run, model, role: student, teacher, judge): tokens, USD, GPU seconds.
``kernel_speedups`` per (problem, model, condition, skill): fast_p at p = 0, 1, 1.5, 2.

Cells count answers per (run, model, skill, condition, sampling key, case, level). An answer with
no grade (an error or ungraded) has no level of its own; it counts under its run's level when the
run's answers of that model and sampling key have exactly one, else under 'unknown'.
Pairing: with-skill answers pair with baseline answers (skill_id NULL) of the same model, case,
sampling key and level from the same run or any earlier run (``run_order``: by first started_at; a
run without a runs row counts as the latest). ``answers.existing_baselines`` reuses baselines by
the same rule. ``n_errors`` counts the errored answers a run asked itself (with skill and baseline):
an earlier run's errors were asked again by the run that needed them. Rates and lift weigh every
test case equally (mean over cases of the per-case rate). The verdict is 'helps' or 'hurts' only when
the CI excludes 0, the sign test rejects at 1 - level, and at least ``min_cases`` cases are paired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from skillfoundry.storage.rollup import CELL_COUNTS, CELL_KEYS
from skillfoundry.storage.schemas import TIME, WRITTEN_AT, TableSpec, table_spec
from skillfoundry.storage.stats import (
    CORNISH_FISHER,
    FMIX_MULTIPLIERS,
    MASK32,
    POISSON_THRESHOLDS,
    SALT_MULTIPLIER,
    normal_quantile,
)

DUCK_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    TIME: "TIMESTAMPTZ",
}
KERNEL_THRESHOLDS: tuple[tuple[str, float], ...] = (
    ("fast_0", 0.0),
    ("fast_1", 1.0),
    ("fast_1_5", 1.5),
    ("fast_2", 2.0),
)
GROUP_KEYS = ("run_id", "model", "skill_id", "sampling_key", "level")
UNKNOWN_LEVEL = "unknown"
LEVEL_SEPARATOR = "+"
#: The answer states of ``answers``; only 'usable' answers enter rates and lift.
USABLE, ERROR, UNGRADED = "usable", "error", "ungraded"
#: Tables whose readers look at every copy: a run's first start (run order), the grades of each answer copy.
KEEP_EVERY_COPY = frozenset({"runs", "grades"})
_PREFERENCE = {
    "runs": ("greatest(started_at, coalesce(finished_at, started_at)) DESC", "finished_at IS NULL", "status"),
    "generations": ("error_kind IS NULL DESC",),
    "grades": ("coalesce(infra_error, false)",),
}


@dataclass(frozen=True)
class LiftOptions:
    """Settings of the lift statistics."""

    min_cases: int
    n_boot: int
    seed: int
    level: float
    udf: bool  # True: bootstrap in the registered numpy function; False: in plain SQL (portable)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def columns(names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + ident(n) for n in names)


def raw_view(spec: TableSpec, source: Sequence[str] | str | None, present: set[str], *, union_by_name: bool) -> str:
    """Every stored row of a table with the schema's column types.

    ``source`` is a list of files (a snapshot), a glob (live) or None (no files: an empty view
    that still has every column). Columns no file has yet read as NULL. ``union_by_name`` is
    needed only when files differ in their columns (it makes DuckDB read every footer).
    """
    cols = []
    for field in spec.schema:
        duck = DUCK_TYPES[field.type]
        if source is None or field.name not in present:
            cols.append(f"CAST(NULL AS {duck}) AS {ident(field.name)}")
        else:
            cols.append(f"CAST({ident(field.name)} AS {duck}) AS {ident(field.name)}")
    if source is None:
        return f"SELECT {', '.join(cols)} WHERE false"
    files = literal(source) if isinstance(source, str) else "[" + ", ".join(literal(s) for s in source) + "]"
    return (
        f"SELECT {', '.join(cols)} FROM read_parquet({files}, hive_partitioning = true, "
        f"union_by_name = {str(union_by_name).lower()}, hive_types_autocast = false)"
    )


def files_view(spec: TableSpec, layouts: Mapping[Path, Sequence[str]]) -> str:
    """Every row of exactly these checked files (file -> its columns); no files: an empty view."""
    if not layouts:
        return raw_view(spec, None, set(), union_by_name=False)
    present = {name for names in layouts.values() for name in names}
    uniform = len({tuple(names) for names in layouts.values()}) == 1
    return raw_view(spec, [str(p) for p in sorted(layouts)], present, union_by_name=not uniform)


EARLIEST = "'-infinity'::TIMESTAMPTZ"
ANSWERED_AT = "answered_at"


def copy_order(spec: TableSpec) -> str:
    """ORDER BY of the copies of one row (same id), the winner first (see the module docstring).

    Generations order by ``answered_at`` (the first time their content was written) instead of
    ``written_at``: a copy that repeats an earlier one's answer is that answer, not a newer one, and
    of identical copies the first written wins (its ``written_at`` is the ``answered_at``).
    """
    rest = [f"{ident(f.name)} NULLS LAST" for f in spec.schema if f.name != WRITTEN_AT]
    if spec.name == "generations":
        return ", ".join([*_PREFERENCE[spec.name], f"{ANSWERED_AT} DESC", *rest, f"{WRITTEN_AT} NULLS FIRST"])
    return ", ".join([*_PREFERENCE.get(spec.name, ()), f"{ident(WRITTEN_AT)} DESC NULLS LAST", *rest])


def generation_copies(source: str) -> str:
    """The generation rows of ``source``, each with ``answered_at``: the earliest ``written_at`` (NULL:
    earliest of all) of the copies with the same answer (text and error)."""
    return (
        f"SELECT *, min(coalesce({WRITTEN_AT}, {EARLIEST})) OVER "
        f"(PARTITION BY run_id, gen_id, text, error_kind, error) AS {ANSWERED_AT} FROM {source}"
    )


def winners(source: str, spec: TableSpec, partition: Sequence[str]) -> str:
    """The winning copy per ``partition`` of the rows of ``source`` (generations also get ``answered_at``)."""
    if spec.name == "generations":
        source = f"({generation_copies(source)})"
    return (
        f"SELECT * FROM {source} "
        f"QUALIFY row_number() OVER (PARTITION BY {columns(partition)} ORDER BY {copy_order(spec)}) = 1"
    )


def dedup_view(spec: TableSpec) -> str:
    """One row per id: the winning copy."""
    sql = winners(ident(f"_raw_{spec.name}"), spec, (spec.id_column,))
    return f"SELECT * EXCLUDE ({ANSWERED_AT}) FROM ({sql})" if spec.name == "generations" else sql


def merged_rows(source: str, spec: TableSpec) -> str:
    """What compaction keeps of one run's rows: the winning copy per id (``dedup_view`` keeps the same
    row), or in ``KEEP_EVERY_COPY`` tables every distinct row."""
    if spec.name in KEEP_EVERY_COPY:
        return f"SELECT DISTINCT * FROM {source}"
    sql = winners(source, spec, (spec.id_column,))
    return f"SELECT * EXCLUDE ({ANSWERED_AT}) FROM ({sql})" if spec.name == "generations" else sql


LEVEL_SQL = (
    f"array_to_string(list_sort(list_distinct(list(coalesce(level, {literal(UNKNOWN_LEVEL)})))), "
    f"{literal(LEVEL_SEPARATOR)})"
)


def answers_sql(generations: str, grades: str, *, details: bool = False) -> str:
    """One row per (run_id, gen_id): the winning generation copy, its grades' verdict, level and state.

    ``details`` adds ``reasons``: the detail_json of its failed grades, joined by spaces.
    """
    reasons = ", string_agg(detail_json, ' ' ORDER BY grade_id) FILTER (WHERE NOT passed) AS reasons" if details else ""
    return f"""
WITH gen AS ({winners(generations, table_spec("generations"), ("run_id", "gen_id"))}),
own AS (
    SELECT r.* FROM {grades} r JOIN gen g ON r.run_id = g.run_id AND r.gen_id = g.gen_id
    WHERE coalesce(r.{WRITTEN_AT}, {EARLIEST}) >= g.{ANSWERED_AT}),
grade AS ({winners("own", table_spec("grades"), ("run_id", "grade_id"))}),
verdict AS (
    SELECT run_id, gen_id, count(*) AS n_grades, bool_and(passed) AS passed,
           bool_or(coalesce(infra_error, false)) AS infra, {LEVEL_SQL} AS level{reasons}
    FROM grade GROUP BY run_id, gen_id)
SELECT g.* EXCLUDE ({ANSWERED_AT}), v.* EXCLUDE (run_id, gen_id, infra),
       CASE WHEN g.error_kind IS NOT NULL OR v.infra THEN '{ERROR}'
            WHEN v.passed IS NULL THEN '{UNGRADED}'
            ELSE '{USABLE}' END AS state
FROM gen g LEFT JOIN verdict v ON v.run_id = g.run_id AND v.gen_id = g.gen_id"""


def cells_sql(generations: str, grades: str) -> str:
    """Answers counted per (run, model, skill, condition, sampling key, case, level); see ``answers_sql``.

    Only whole runs are counted together (a run's cells never depend on another run's rows).
    """
    keys = [k for k in CELL_KEYS if k != "level"]
    return f"""
WITH a AS ({answers_sql(generations, grades)}),
run_level AS (
    SELECT run_id, model, sampling_key, min(level) AS level FROM a WHERE level IS NOT NULL
    GROUP BY run_id, model, sampling_key HAVING count(DISTINCT level) = 1)
SELECT {columns(keys, "a.")}, coalesce(a.level, u.level, {literal(UNKNOWN_LEVEL)}) AS level,
       count(*)::BIGINT AS n_gens,
       count(*) FILTER (WHERE a.state = '{ERROR}')::BIGINT AS n_errors,
       count(*) FILTER (WHERE a.state = '{UNGRADED}')::BIGINT AS n_ungraded,
       count(*) FILTER (WHERE a.state = '{USABLE}')::BIGINT AS n_graded,
       count(*) FILTER (WHERE a.state = '{USABLE}' AND a.passed)::BIGINT AS n_passed,
       count(DISTINCT a.epoch) FILTER (WHERE a.state = '{USABLE}')::BIGINT AS n_epochs
FROM a LEFT JOIN run_level u ON u.run_id = a.run_id AND u.model = a.model AND u.sampling_key = a.sampling_key
GROUP BY ALL"""


def cells_view(rollups: Mapping[Path, Sequence[str] | None], generations: str, grades: str) -> str:
    """Cells from current rollups (file -> runs to take, None: all) plus every other run counted raw."""
    counts = ", ".join(f"{ident(n)}::BIGINT AS {ident(n)}" for n in CELL_COUNTS)
    select = f"SELECT {columns(CELL_KEYS)}, {counts} FROM read_parquet"
    parts = []
    whole = [str(p) for p, runs in sorted(rollups.items()) if runs is None]
    if whole:
        parts.append(f"{select}([{', '.join(literal(p) for p in whole)}], hive_partitioning = false)")
    for path, runs in sorted(rollups.items()):
        if runs is not None:
            wanted = ", ".join(literal(r) for r in runs)
            parts.append(f"{select}({literal(str(path))}, hive_partitioning = false) WHERE run_id IN ({wanted})")
    parts.append(f"({cells_sql(generations, grades)})")
    return "\nUNION ALL\n".join(parts)


CASE_KEY_SQL = "('0x' || left(md5(case_id), 16))::UBIGINT"


def cases_view() -> str:
    """One row per test case id with its split, kind, problem and bootstrap key (see ``stats.case_key``)."""
    return f"SELECT case_id, split, kind, problem_id, {CASE_KEY_SQL} AS case_key FROM test_cases"


def pass_rates_view() -> str:
    return """
SELECT c.run_id, c.model, c.skill_id, c.condition, c.sampling_key, c.level, t.split,
       count(*) FILTER (WHERE c.n_graded > 0) AS n_cases,
       sum(c.n_graded)::BIGINT AS n_generations,
       sum(c.n_errors)::BIGINT AS n_errors,
       sum(c.n_ungraded)::BIGINT AS n_ungraded,
       favg(c.n_passed / c.n_graded) FILTER (WHERE c.n_graded > 0) AS pass_rate
FROM _cells c LEFT JOIN _cases t USING (case_id)
GROUP BY ALL"""


def run_order_view() -> str:
    """Every run with its place in time: by its first started_at (no runs row: the latest), then id."""
    return """
SELECT run_id, row_number() OVER (ORDER BY started_at NULLS LAST, run_id) AS run_seq
FROM (SELECT run_id, min(started_at) AS started_at
      FROM (SELECT run_id, started_at FROM _raw_runs
            UNION ALL SELECT DISTINCT run_id, NULL FROM _cells)
      GROUP BY run_id)"""


def case_lift_view() -> str:
    """Per with-skill cell: its counts and the pooled baseline of the same model, sampling key, case and
    level from the same or any earlier run (a running sum over runs in ``_run_order``)."""
    return """
WITH cells AS MATERIALIZED (
    SELECT * FROM _cells WHERE condition = 'with_skill' OR (condition = 'baseline' AND skill_id IS NULL)),
pairs AS (
    SELECT model, sampling_key, case_id, level, row_number() OVER () AS pair
    FROM (SELECT DISTINCT model, sampling_key, case_id, level FROM cells)),
pooled AS (
    SELECT c.*, c.condition = 'with_skill' AS is_skill,
           sum(CASE WHEN c.condition = 'with_skill' THEN 0 ELSE c.n_graded END) OVER w AS base_n,
           sum(CASE WHEN c.condition = 'with_skill' THEN 0 ELSE c.n_passed END) OVER w AS base_passed
    FROM cells c JOIN _run_order o USING (run_id) JOIN pairs p USING (model, sampling_key, case_id, level)
    WINDOW w AS (PARTITION BY p.pair ORDER BY o.run_seq, c.condition = 'with_skill'
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
SELECT s.run_id, s.model, s.skill_id, s.sampling_key, s.level, s.case_id, t.split, t.case_key,
       s.n_epochs,
       s.n_graded AS skill_n, s.n_passed AS skill_passed,
       s.base_n::BIGINT AS base_n, s.base_passed::BIGINT AS base_passed,
       CASE WHEN s.n_graded > 0 THEN s.n_passed / s.n_graded END AS skill_rate,
       CASE WHEN s.base_n > 0 THEN s.base_passed / s.base_n END AS baseline_rate,
       CASE WHEN s.n_graded > 0 AND s.base_n > 0 THEN s.n_passed / s.n_graded - s.base_passed / s.base_n END AS diff,
       (s.n_errors + coalesce(b.n_errors, 0))::BIGINT AS n_errors
FROM pooled s LEFT JOIN _cases t ON t.case_id = s.case_id
LEFT JOIN cells b ON b.condition = 'baseline' AND b.run_id = s.run_id AND b.model = s.model
     AND b.sampling_key = s.sampling_key AND b.case_id = s.case_id AND b.level = s.level
WHERE s.is_skill"""


def skill_lift_view(options: LiftOptions) -> str:
    """Lift per (run, model, skill, sampling key, level) on the test split with CI, p-value and verdict."""
    keys = columns(GROUP_KEYS)
    stats = _udf_stats() if options.udf else _sql_stats(options)
    same_group = " AND ".join(f"g.{ident(k)} IS NOT DISTINCT FROM s.{ident(k)}" for k in GROUP_KEYS)
    alpha = 1.0 - options.level
    return f"""
WITH per_case AS (
    SELECT * FROM _case_lift WHERE split = 'test'),
groups AS MATERIALIZED (
    SELECT {keys},
           count(diff) AS n_cases,
           coalesce(max(n_epochs) FILTER (WHERE diff IS NOT NULL), 0) AS n_epochs,
           (coalesce(sum(skill_n + base_n) FILTER (WHERE diff IS NOT NULL), 0))::BIGINT AS n_generations,
           sum(n_errors)::BIGINT AS n_errors,
           favg(baseline_rate) FILTER (WHERE diff IS NOT NULL) AS baseline_pass_rate,
           favg(skill_rate) FILTER (WHERE diff IS NOT NULL) AS skill_pass_rate,
           favg(diff) AS lift,
           count(*) FILTER (WHERE diff > 0) AS n_better,
           count(*) FILTER (WHERE diff < 0) AS n_worse,
           list(case_key) FILTER (WHERE diff IS NOT NULL) AS case_keys,
           list(diff) FILTER (WHERE diff IS NOT NULL) AS diffs
    FROM per_case GROUP BY {keys}),
{stats},
tested AS (
    SELECT {columns(GROUP_KEYS, "g.")}, 'test' AS split,
           g.n_cases, g.n_epochs, g.n_generations, g.n_errors,
           g.baseline_pass_rate, g.skill_pass_rate, g.lift,
           s.ci_low, s.ci_high,
           {_sign_test_sql("g.n_better", "g.n_worse")} AS p_value
    FROM groups g LEFT JOIN stats s ON {same_group})
SELECT *,
       CASE WHEN n_cases < {int(options.min_cases)} OR ci_low IS NULL OR ci_high IS NULL
                 OR NOT p_value < {alpha!r} THEN 'inconclusive'
            WHEN ci_low > 0 THEN 'helps'
            WHEN ci_high < 0 THEN 'hurts'
            ELSE 'inconclusive' END AS verdict
FROM tested"""


def expansion_sql(n_cases: str, level: float) -> str:
    """``stats.expansion`` in SQL: t(1 - a/2, n - 1) / z(1 - a/2) by the same Cornish-Fisher terms."""
    z = normal_quantile(level)
    df = f"greatest({n_cases} - 1.0, 1.0)"
    t = repr(z)
    for power, (divisor, terms) in enumerate(CORNISH_FISHER, start=1):
        g = sum(c * z**k for c, k in terms) / divisor
        t = f"({t} + {g!r} / pow({df}, {power}.0))"
    return f"CASE WHEN {n_cases} >= 2 THEN {t} / {z!r} ELSE 1.0 END"


def _sign_test_sql(n_pos: str, n_neg: str) -> str:
    """Two-sided exact sign test p-value from counts of positive and negative differences."""
    n = f"({n_pos} + {n_neg})"
    m = f"least({n_pos}, {n_neg})"
    term = f"exp(lgamma({n} + 1) - lgamma(k + 1) - lgamma({n} - k + 1) - {n} * ln(2))"
    return f"CASE WHEN {n} = 0 THEN 1.0 ELSE least(1.0, 2 * list_sum([{term} for k in range(0, {m} + 1)])) END"


def _udf_stats() -> str:
    return f"""stats AS (
    SELECT {columns(GROUP_KEYS)}, ci.ci_low, ci.ci_high
    FROM (SELECT {columns(GROUP_KEYS)}, sf_bootstrap_ci(case_keys, diffs) AS ci FROM groups))"""


def _fmix32_sql(h: str) -> str:
    c1, c2 = (f"{m}::UBIGINT" for m in FMIX_MULTIPLIERS)
    mod = f"{MASK32 + 1}::UBIGINT"
    return f"sf_fmix_c(sf_fmix_b(sf_fmix_a({h}, {c1}, {mod}), {c2}, {mod}))"


FMIX_MACROS = (
    "CREATE OR REPLACE MACRO sf_fmix_a(h, c, m) AS (xor(h, h >> 16) * c) % m",
    "CREATE OR REPLACE MACRO sf_fmix_b(h, c, m) AS (xor(h, h >> 13) * c) % m",
    "CREATE OR REPLACE MACRO sf_fmix_c(h) AS xor(h, h >> 16)",
)


def _sql_stats(options: LiftOptions) -> str:
    """The same Poisson bootstrap and t-expanded interval as ``stats.bootstrap_groups``, in plain SQL
    (slower, portable)."""
    mask = f"{MASK32}::UBIGINT"
    salt = _fmix32_sql(
        f"(({options.seed & MASK32}::UBIGINT * {SALT_MULTIPLIER}::UBIGINT + b::UBIGINT) % {MASK32 + 1}::UBIGINT)"
    )
    first = _fmix32_sql(f"xor(k & {mask}, r.salt)")
    u = _fmix32_sql(f"((h1 + (k >> 32)) & {mask})")
    weight = " + ".join(f"(u >= {t}::UBIGINT)::INTEGER" for t in POISSON_THRESHOLDS)
    alpha = (1.0 - options.level) / 2.0
    same = " AND ".join(f"g.{ident(k)} IS NOT DISTINCT FROM p.{ident(k)}" for k in GROUP_KEYS)
    return f"""replicate AS (SELECT b, {salt} AS salt FROM range({int(options.n_boot)}) t(b)),
case_rows AS (SELECT {columns(GROUP_KEYS)}, unnest(case_keys) AS k, unnest(diffs) AS d FROM groups),
hashed AS (SELECT c.*, r.b, {first} AS h1 FROM case_rows c CROSS JOIN replicate r),
weighted AS (SELECT *, {weight} AS w FROM (SELECT *, {u} AS u FROM hashed)),
reps AS (SELECT {columns(GROUP_KEYS)}, b, fsum(w * d) / nullif(sum(w), 0) AS rep
         FROM weighted GROUP BY {columns(GROUP_KEYS)}, b),
pct AS (SELECT {columns(GROUP_KEYS)},
               quantile_cont(rep, {alpha!r}) AS lo, quantile_cont(rep, {1.0 - alpha!r}) AS hi
        FROM reps GROUP BY {columns(GROUP_KEYS)}),
stats AS (SELECT {columns(GROUP_KEYS, "p.")},
                 greatest(g.lift - k * (g.lift - p.lo), -1.0) AS ci_low,
                 least(g.lift + k * (p.hi - g.lift), 1.0) AS ci_high
          FROM pct p JOIN (SELECT *, {expansion_sql("n_cases", options.level)} AS k FROM groups) g ON {same})"""


GPU_MS_SQL = (
    "CASE WHEN json_valid(b.samples_json) THEN coalesce(list_sum(TRY_CAST(b.samples_json AS DOUBLE[])), "
    "list_sum([coalesce(list_sum(TRY_CAST(v AS DOUBLE[])), 0) FOR v IN json_extract(b.samples_json, '$.*')])) END"
)


def cost_view(prices: dict[str, tuple[float, float]]) -> tuple[str, str]:
    """(prices view SQL, cost view SQL): tokens and dollars per run, model and role (student, teacher,
    judge: every judge call stored, re-grades of an answer included, since each was paid for)."""
    rows = ", ".join(f"({literal(m)}, {float(i)!r}, {float(o)!r})" for m, (i, o) in sorted(prices.items()))
    prices_sql = f"SELECT * FROM (VALUES {rows}) AS p(model, usd_per_mtok_in, usd_per_mtok_out)"
    cost_sql = f"""
WITH student AS (
    SELECT run_id, model, sum(input_tokens)::BIGINT AS input_tokens, sum(output_tokens)::BIGINT AS output_tokens
    FROM generations GROUP BY run_id, model),
gpu AS (
    SELECT b.run_id, g.model,
           fsum(coalesce({GPU_MS_SQL}, b.time_ms * b.trials, 0)) / 1000.0 AS gpu_seconds
    FROM kernel_benchmarks b LEFT JOIN generations g USING (gen_id) GROUP BY b.run_id, g.model),
priced AS (
    SELECT s.*, coalesce(exact.usd_per_mtok_in, bare.usd_per_mtok_in) AS usd_in,
           coalesce(exact.usd_per_mtok_out, bare.usd_per_mtok_out) AS usd_out
    FROM student s
    LEFT JOIN _prices exact ON exact.model = s.model
    LEFT JOIN _prices bare ON bare.model = regexp_extract(s.model, '^(?:[a-z]+:)?([^@]*)', 1))
SELECT coalesce(p.run_id, gpu.run_id) AS run_id, coalesce(p.model, gpu.model) AS model, 'student' AS role,
       coalesce(p.input_tokens, 0)::BIGINT AS input_tokens, coalesce(p.output_tokens, 0)::BIGINT AS output_tokens,
       CASE WHEN p.usd_in IS NOT NULL THEN (p.input_tokens * p.usd_in + p.output_tokens * p.usd_out) / 1e6
            WHEN p.model LIKE 'anthropic:%' THEN NULL
            ELSE 0.0 END AS usd,
       coalesce(gpu.gpu_seconds, 0.0) AS gpu_seconds
FROM priced p FULL OUTER JOIN gpu ON p.run_id = gpu.run_id AND p.model IS NOT DISTINCT FROM gpu.model
UNION ALL
SELECT run_id, model, 'teacher' AS role, sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT, fsum(cost_usd), 0.0
FROM traces GROUP BY run_id, model
UNION ALL
SELECT run_id, model, 'judge' AS role, sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT, fsum(cost_usd), 0.0
FROM grades WHERE model IS NOT NULL GROUP BY run_id, model"""
    return prices_sql, cost_sql


def kernel_speedups_view() -> str:
    fast = ",\n       ".join(
        f"avg((coalesce(b.correct, false) AND coalesce(b.speedup > {p!r}, {p!r} = 0))::INTEGER) AS {name}"
        for name, p in KERNEL_THRESHOLDS
    )
    return f"""
WITH bench AS (
    SELECT gen_id, bool_and(correct AND NOT suspect) AS correct, min(speedup) AS speedup
    FROM kernel_benchmarks WHERE gen_id IS NOT NULL GROUP BY gen_id)
SELECT t.problem_id, g.model, g.condition, g.skill_id,
       count(*) AS n_generations,
       count(b.gen_id) AS n_benchmarked,
       count(*) FILTER (WHERE b.correct) AS n_correct,
       max(b.speedup) FILTER (WHERE b.correct) AS best_speedup,
       {fast}
FROM generations g JOIN _cases t USING (case_id) LEFT JOIN bench b USING (gen_id)
WHERE t.kind = 'kernel' AND t.problem_id IS NOT NULL AND g.error_kind IS NULL
GROUP BY t.problem_id, g.model, g.condition, g.skill_id"""
