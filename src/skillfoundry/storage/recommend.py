"""What each configuration buys: the ``recommendations`` view and the per-answer cost it is built on.

A configuration is (student model, skill version or none, sampling key, grading level) over the held-out
test split,
pooled across the chosen runs (all runs in the view). Its pass rate weighs every test case equally
(mean over cases of the per-case pass rate), with the same cluster bootstrap CI as ``skill_lift``
(resampling cases, ``stats.bootstrap_groups``), clipped to [0, 1] as a rate's bounds are. Cost per solved case is the cost of every answer
of the configuration (errors included) divided by its passing answers: what one correct answer
costs on average, in USD, tokens (input + output, so skill text is counted) and GPU seconds.

Views
-----
``_answer_cost``     per answer (the ``answers`` view: winning copy, its level; NULL for an error): tokens,
                     latency, USD (price table of the ``cost`` view; NULL for an unpriced Anthropic model)
                     and GPU seconds of its benchmarks. An answer without a level (an error) counts at
                     its configuration's level when that is unique, else at 'unknown'.
``recommendations``  per configuration: n_cases, n_graded, n_solved, n_errors, pass_rate, ci_low,
                     ci_high, n_answers, tokens, usd, gpu_seconds, mean_latency_s, usd_per_solved,
                     tokens_per_solved, gpu_s_per_solved.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from skillfoundry.storage.views import (
    GPU_MS_SQL,
    GROUP_KEYS,
    UNKNOWN_LEVEL,
    LiftOptions,
    _sql_stats,
    _udf_stats,
    columns,
    literal,
)

CONFIG_KEYS = ("model", "skill_id", "sampling_key", "level")


def answer_cost_view() -> str:
    """One row per generation with its tokens, latency, USD and GPU seconds (see the module docstring)."""
    return f"""
WITH gpu AS (
    SELECT b.gen_id, fsum(coalesce({GPU_MS_SQL}, b.time_ms * b.trials, 0)) / 1000.0 AS gpu_seconds
    FROM kernel_benchmarks b WHERE b.gen_id IS NOT NULL GROUP BY b.gen_id)
SELECT g.run_id, g.gen_id, g.model, g.skill_id, g.condition, g.sampling_key, g.case_id, g.error_kind, g.level,
       g.input_tokens, g.output_tokens, g.latency_s,
       CASE WHEN coalesce(exact.usd_per_mtok_in, bare.usd_per_mtok_in) IS NOT NULL
                 THEN (g.input_tokens * coalesce(exact.usd_per_mtok_in, bare.usd_per_mtok_in)
                       + g.output_tokens * coalesce(exact.usd_per_mtok_out, bare.usd_per_mtok_out)) / 1e6
            WHEN g.model LIKE 'anthropic:%' THEN NULL
            ELSE 0.0 END AS usd,
       coalesce(gpu.gpu_seconds, 0.0) AS gpu_seconds
FROM answers g
LEFT JOIN _prices exact ON exact.model = g.model
LEFT JOIN _prices bare ON bare.model = regexp_extract(g.model, '^(?:[a-z]+:)?([^@]*)', 1)
LEFT JOIN gpu USING (gen_id)"""


def recommendations_sql(options: LiftOptions, runs: Sequence[str] | None = None) -> str:
    """The ``recommendations`` rows over ``runs`` (None: every run)."""
    chosen = "NULL" if runs is None else ", ".join(literal(r) for r in runs) or "NULL"
    run_filter = (lambda alias: "") if runs is None else (lambda alias: f" AND {alias}run_id IN ({chosen})")
    keys = columns(CONFIG_KEYS)
    outer_keys = [k for k in CONFIG_KEYS if k != "level"]
    outer, outer_u = columns(outer_keys), columns(outer_keys, "u.")
    same_outer = " AND ".join(f"o.{k} IS NOT DISTINCT FROM u.{k}" for k in outer_keys)
    stats = _udf_stats() if options.udf else _sql_stats(options)
    same = " AND ".join(f"g.{k} IS NOT DISTINCT FROM {{o}}.{k}" for k in CONFIG_KEYS)
    # the stats CTE of skill_lift groups by GROUP_KEYS over `groups` (case_keys, diffs, lift, n_cases); here
    # run_id is NULL (every chosen run) and the "diffs" are per-case pass rates, so its CI is the pass rate's
    assert set(CONFIG_KEYS) < set(GROUP_KEYS)
    return f"""
WITH per_case AS (
    SELECT {keys}, c.case_id, any_value(t.case_key) AS case_key,
           sum(c.n_graded) AS n_graded, sum(c.n_passed) AS n_passed, sum(c.n_errors) AS n_errors
    FROM _cells c JOIN _cases t USING (case_id)
    WHERE t.split = 'test' AND (c.condition = 'with_skill' OR c.skill_id IS NULL){run_filter("c.")}
    GROUP BY {keys}, c.case_id),
groups AS MATERIALIZED (
    SELECT NULL::VARCHAR AS run_id, {keys},
           count(*) FILTER (WHERE n_graded > 0) AS n_cases,
           sum(n_graded)::BIGINT AS n_graded, sum(n_passed)::BIGINT AS n_solved, sum(n_errors)::BIGINT AS n_errors,
           favg(n_passed / n_graded) FILTER (WHERE n_graded > 0) AS pass_rate,
           favg(n_passed / n_graded) FILTER (WHERE n_graded > 0) AS lift,
           list(case_key) FILTER (WHERE n_graded > 0) AS case_keys,
           list(n_passed / n_graded) FILTER (WHERE n_graded > 0) AS diffs
    FROM per_case GROUP BY {keys}),
{stats},
only_level AS (
    SELECT {outer}, min(level) AS level FROM groups GROUP BY {outer} HAVING count(*) = 1),
usage AS (
    SELECT {outer_u}, coalesce(u.level, o.level, '{UNKNOWN_LEVEL}') AS level,
           count(*) AS n_answers, sum(input_tokens + output_tokens)::BIGINT AS tokens,
           fsum(usd) AS usd, bool_or(usd IS NULL) AS unpriced, fsum(gpu_seconds) AS gpu_seconds,
           favg(latency_s) AS mean_latency_s
    FROM _answer_cost u JOIN _cases t USING (case_id) LEFT JOIN only_level o ON {same_outer}
    WHERE t.split = 'test' AND (u.condition = 'with_skill' OR u.skill_id IS NULL){run_filter("u.")}
    GROUP BY ALL)
SELECT g.model, CASE WHEN g.skill_id IS NULL THEN 'baseline' ELSE 'with_skill' END AS condition,
       g.skill_id, g.sampling_key, g.level, g.n_cases, g.n_graded, g.n_solved, g.n_errors, g.pass_rate,
       greatest(0.0, least(1.0, s.ci_low)) AS ci_low, greatest(0.0, least(1.0, s.ci_high)) AS ci_high,
       u.n_answers, u.tokens, CASE WHEN u.unpriced THEN NULL ELSE u.usd END AS usd, u.gpu_seconds, u.mean_latency_s,
       CASE WHEN g.n_solved > 0 AND NOT u.unpriced THEN u.usd / g.n_solved END AS usd_per_solved,
       CASE WHEN g.n_solved > 0 THEN u.tokens / g.n_solved END AS tokens_per_solved,
       CASE WHEN g.n_solved > 0 THEN u.gpu_seconds / g.n_solved END AS gpu_s_per_solved
FROM groups g
LEFT JOIN stats s ON s.run_id IS NULL AND {same.format(o="s")}
LEFT JOIN usage u ON {same.format(o="u")}
ORDER BY g.model, g.skill_id NULLS FIRST, g.sampling_key, g.level"""


class ConfigRow(BaseModel):
    """One row of ``recommendations``: a configuration's pass rate with CI and what a solved case costs."""

    model: str
    condition: str
    skill_id: str | None
    sampling_key: str
    level: str
    n_cases: int
    n_graded: int
    n_solved: int
    n_errors: int
    pass_rate: float | None
    ci_low: float | None
    ci_high: float | None
    n_answers: int
    tokens: int
    usd: float | None
    gpu_seconds: float
    mean_latency_s: float | None
    usd_per_solved: float | None
    tokens_per_solved: float | None
    gpu_s_per_solved: float | None
