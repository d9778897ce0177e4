"""The SQL of the catalog: one deduplicated view per table plus the derived views.

Pure functions from (sources, options) to SQL text; ``catalog.py`` runs them. Views whose names
start with ``_`` are internal building blocks.

Derived views
-------------
``pass_rates``      run_id, model, skill_id, condition, sampling_key, split, n_cases, n_generations,
                    n_errors, n_ungraded, pass_rate (mean over cases of the per-case pass rate).
``case_lift``       per (run, model, skill, sampling key, case): with-skill and pooled baseline counts
                    and rates, diff, n_errors.
``skill_lift``      per (run, model, skill, sampling key), held-out test cases only: baseline and
                    with-skill pass rates, lift, 95% paired cluster-bootstrap CI, sign-test p, verdict.
``cost``            per (run, model, role): tokens, USD, GPU seconds.
``kernel_speedups`` per (problem, model, condition, skill): fast_p at p = 0, 1, 1.5, 2.

Table views keep one row per id (copies from retried batches are read once). In the derived
views a generation is its gen_id within its run (the pipeline's ids include the run id), so
per-run rollups and raw rows give identical results. A generation passes when all of its grade
rows pass; one with ``error_kind`` set is an infrastructure error: left out of every rate and
counted in ``n_errors``; one without grades yet is left out and counted in ``n_ungraded``.
With-skill answers pair with baseline answers (skill_id NULL) of the same model, case and sampling
key from the same run or any earlier run (by started_at; a run without a runs row counts as the
latest). Rates and lift weigh every test case equally (mean over cases of the per-case rate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from skillfoundry.storage.rollup import CELL_COUNTS, CELL_KEYS
from skillfoundry.storage.schemas import TIME, TableSpec
from skillfoundry.storage.stats import FMIX_MULTIPLIERS, MASK32, POISSON_THRESHOLDS, SALT_MULTIPLIER

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
GROUP_KEYS = ("run_id", "model", "skill_id", "sampling_key")


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


def dedup_view(spec: TableSpec) -> str:
    """One row per id. Copies of a row share its id; for runs the latest status wins."""
    raw = ident(f"_raw_{spec.name}")
    key = ident(spec.id_column)
    if spec.name == "runs":
        order = "greatest(started_at, coalesce(finished_at, started_at)) DESC, finished_at IS NULL, status"
        return f"SELECT * FROM {raw} QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) = 1"
    return f"SELECT DISTINCT ON ({key}) * FROM {raw}"


def cells_sql(generations: str, grades: str) -> str:
    """Generations counted per (run, model, skill, condition, sampling key, case).

    A generation is its gen_id within its run (copies are counted once); its grades are the grade
    rows of the same run and gen_id, and it passes when all of them pass. A grade that failed for
    infrastructure reasons (``infra_error``) makes its generation an error: neither pass nor fail.
    """
    return f"""
SELECT {columns(CELL_KEYS, "g.")},
       count(*)::BIGINT AS n_gens,
       count(*) FILTER (WHERE g.error_kind IS NOT NULL OR p.infra)::BIGINT AS n_errors,
       count(*) FILTER (WHERE g.error_kind IS NULL AND p.passed IS NULL)::BIGINT AS n_ungraded,
       count(*) FILTER (WHERE g.error_kind IS NULL AND p.passed IS NOT NULL AND NOT p.infra)::BIGINT AS n_graded,
       count(*) FILTER (WHERE g.error_kind IS NULL AND p.passed AND NOT p.infra)::BIGINT AS n_passed,
       count(DISTINCT g.epoch)::BIGINT AS n_epochs
FROM (SELECT DISTINCT ON (run_id, gen_id) {columns(("gen_id", *CELL_KEYS, "epoch", "error_kind"))}
      FROM {generations}) g
LEFT JOIN (SELECT run_id, gen_id, bool_and(passed) AS passed, bool_or(coalesce(infra_error, false)) AS infra
           FROM {grades} GROUP BY run_id, gen_id) p
       ON p.run_id = g.run_id AND p.gen_id = g.gen_id
GROUP BY {columns(CELL_KEYS, "g.")}"""


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
    return f"""
SELECT case_id, any_value(split) AS split, any_value(kind) AS kind, any_value(problem_id) AS problem_id,
       {CASE_KEY_SQL} AS case_key
FROM _raw_test_cases GROUP BY case_id"""


def pass_rates_view() -> str:
    return """
SELECT c.run_id, c.model, c.skill_id, c.condition, c.sampling_key, t.split,
       count(*) FILTER (WHERE c.n_graded > 0) AS n_cases,
       sum(c.n_graded)::BIGINT AS n_generations,
       sum(c.n_errors)::BIGINT AS n_errors,
       sum(c.n_ungraded)::BIGINT AS n_ungraded,
       favg(c.n_passed / c.n_graded) FILTER (WHERE c.n_graded > 0) AS pass_rate
FROM _cells c LEFT JOIN _cases t USING (case_id)
GROUP BY ALL"""


def case_lift_view() -> str:
    """Per with-skill cell: its counts and the pooled baseline of the same model, sampling key and
    case from the same or any earlier run (a running sum over runs in start order)."""
    return """
WITH cells AS MATERIALIZED (
    SELECT * FROM _cells WHERE condition = 'with_skill' OR (condition = 'baseline' AND skill_id IS NULL)),
run_order AS (
    SELECT run_id, row_number() OVER (ORDER BY started_at NULLS LAST, run_id) AS run_seq
    FROM (SELECT run_id, min(started_at) AS started_at
          FROM (SELECT run_id, started_at FROM _raw_runs
                UNION ALL SELECT DISTINCT run_id, NULL FROM cells)
          GROUP BY run_id)),
pairs AS (
    SELECT model, sampling_key, case_id, row_number() OVER () AS pair
    FROM (SELECT DISTINCT model, sampling_key, case_id FROM cells)),
pooled AS (
    SELECT c.*, c.condition = 'with_skill' AS is_skill,
           sum(CASE WHEN c.condition = 'with_skill' THEN 0 ELSE c.n_graded END) OVER w AS base_n,
           sum(CASE WHEN c.condition = 'with_skill' THEN 0 ELSE c.n_passed END) OVER w AS base_passed,
           sum(CASE WHEN c.condition = 'with_skill' THEN 0 ELSE c.n_errors END) OVER w AS base_errors
    FROM cells c JOIN run_order o USING (run_id) JOIN pairs p USING (model, sampling_key, case_id)
    WINDOW w AS (PARTITION BY p.pair ORDER BY o.run_seq, c.condition = 'with_skill'
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
SELECT s.run_id, s.model, s.skill_id, s.sampling_key, s.case_id, t.split, t.case_key,
       s.n_epochs,
       s.n_graded AS skill_n, s.n_passed AS skill_passed,
       s.base_n::BIGINT AS base_n, s.base_passed::BIGINT AS base_passed,
       CASE WHEN s.n_graded > 0 THEN s.n_passed / s.n_graded END AS skill_rate,
       CASE WHEN s.base_n > 0 THEN s.base_passed / s.base_n END AS baseline_rate,
       CASE WHEN s.n_graded > 0 AND s.base_n > 0 THEN s.n_passed / s.n_graded - s.base_passed / s.base_n END AS diff,
       (s.n_errors + s.base_errors)::BIGINT AS n_errors
FROM pooled s LEFT JOIN _cases t ON t.case_id = s.case_id
WHERE s.is_skill"""


def skill_lift_view(options: LiftOptions) -> str:
    """Lift per (run, model, skill, sampling key) on the test split with CI, p-value and verdict."""
    keys = columns(GROUP_KEYS)
    stats = _udf_stats() if options.udf else _sql_stats(options)
    same_group = " AND ".join(f"g.{ident(k)} IS NOT DISTINCT FROM s.{ident(k)}" for k in GROUP_KEYS)
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
{stats}
SELECT {columns(GROUP_KEYS, "g.")}, 'test' AS split,
       g.n_cases, g.n_epochs, g.n_generations, g.n_errors,
       g.baseline_pass_rate, g.skill_pass_rate, g.lift,
       s.ci_low, s.ci_high,
       {_sign_test_sql("g.n_better", "g.n_worse")} AS p_value,
       CASE WHEN g.n_cases < {int(options.min_cases)} OR s.ci_low IS NULL OR s.ci_high IS NULL THEN 'inconclusive'
            WHEN s.ci_low > 0 THEN 'helps'
            WHEN s.ci_high < 0 THEN 'hurts'
            ELSE 'inconclusive' END AS verdict
FROM groups g LEFT JOIN stats s ON {same_group}"""


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
    """The same Poisson bootstrap as ``stats.bootstrap_replicates``, in plain SQL (slower, portable)."""
    mask = f"{MASK32}::UBIGINT"
    salt = _fmix32_sql(
        f"(({options.seed & MASK32}::UBIGINT * {SALT_MULTIPLIER}::UBIGINT + b::UBIGINT) % {MASK32 + 1}::UBIGINT)"
    )
    first = _fmix32_sql(f"xor(k & {mask}, r.salt)")
    u = _fmix32_sql(f"((h1 + (k >> 32)) & {mask})")
    weight = " + ".join(f"(u >= {t}::UBIGINT)::INTEGER" for t in POISSON_THRESHOLDS)
    alpha = (1.0 - options.level) / 2.0
    return f"""replicate AS (SELECT b, {salt} AS salt FROM range({int(options.n_boot)}) t(b)),
case_rows AS (SELECT {columns(GROUP_KEYS)}, unnest(case_keys) AS k, unnest(diffs) AS d FROM groups),
hashed AS (SELECT c.*, r.b, {first} AS h1 FROM case_rows c CROSS JOIN replicate r),
weighted AS (SELECT *, {weight} AS w FROM (SELECT *, {u} AS u FROM hashed)),
reps AS (SELECT {columns(GROUP_KEYS)}, b, fsum(w * d) / nullif(sum(w), 0) AS rep
         FROM weighted GROUP BY {columns(GROUP_KEYS)}, b),
stats AS (SELECT {columns(GROUP_KEYS)},
                 quantile_cont(rep, {alpha!r}) AS ci_low, quantile_cont(rep, {1.0 - alpha!r}) AS ci_high
          FROM reps GROUP BY {columns(GROUP_KEYS)})"""


GPU_MS_SQL = (
    "CASE WHEN json_valid(b.samples_json) THEN coalesce(list_sum(TRY_CAST(b.samples_json AS DOUBLE[])), "
    "list_sum([coalesce(list_sum(TRY_CAST(v AS DOUBLE[])), 0) FOR v IN json_extract(b.samples_json, '$.*')])) END"
)


def cost_view(prices: dict[str, tuple[float, float]]) -> tuple[str, str]:
    """(prices view SQL, cost view SQL): tokens and dollars per run, model and role."""
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
FROM traces GROUP BY run_id, model"""
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
