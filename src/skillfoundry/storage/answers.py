"""What the pipeline asks the store about answers: which are usable, which baselines to reuse, how a run did.

Every function reads the catalog's ``answers`` view (the one definition of a usable answer: the
winning copy of a generation, without ``error_kind``, graded, no grade infra-errored; see
``views.py``) or the views derived from it, so the pipeline, the lift and the report agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.query import execute
from skillfoundry.storage.views import LEVEL_SEPARATOR, UNKNOWN_LEVEL, USABLE

AnswerKeys = frozenset[tuple[str, int]]


def combine_levels(levels: Iterable[str]) -> str:
    """The grading level of an answer graded by several checks: its distinct levels, sorted, joined by '+'
    (the form the ``answers`` view gives; no level at all is 'unknown')."""
    distinct = sorted(set(levels))
    return LEVEL_SEPARATOR.join(distinct) if distinct else UNKNOWN_LEVEL


def _level_filter(levels: Mapping[str, str] | None) -> tuple[str, dict[str, Any]]:
    """SQL (on alias a) keeping answers graded at the level expected for their case, and its parameters."""
    if levels is None:
        return "", {}
    cases = sorted(levels)
    return (
        " AND (a.case_id, a.level) IN (SELECT unnest($level_cases::VARCHAR[]), unnest($level_values::VARCHAR[]))",
        {"level_cases": cases, "level_values": [levels[c] for c in cases]},
    )


def _pairs(data_dir: Path | str, sql: str, params: dict[str, Any]) -> AnswerKeys:
    if not Path(data_dir).exists():
        return frozenset()
    con = catalog(data_dir)
    try:
        rows = con.execute(sql, params).fetchall()
    finally:
        con.close()
    return frozenset((case_id, int(epoch)) for case_id, epoch in rows)


def answered(
    data_dir: Path | str,
    *,
    run_id: str,
    model: str,
    skill_id: str | None,
    sampling_key: str,
    levels: Mapping[str, str] | None = None,
) -> AnswerKeys:
    """(case_id, epoch) of this run's usable answers of ``model`` with ``skill_id`` (None: its baselines)
    under ``sampling_key``; with ``levels`` (case id -> the level this environment grades it at), only
    answers graded at that level. A resumed run asks again for everything else."""
    where, params = _level_filter(levels)
    condition = "with_skill" if skill_id is not None else "baseline"
    return _pairs(
        data_dir,
        f"""
        SELECT a.case_id, a.epoch FROM answers a
        WHERE a.run_id = $run AND a.model = $model AND a.skill_id IS NOT DISTINCT FROM $skill
          AND a.condition = $condition AND a.sampling_key = $key AND a.state = '{USABLE}'{where}
        """,
        {"run": run_id, "model": model, "skill": skill_id, "condition": condition, "key": sampling_key, **params},
    )


def existing_baselines(
    data_dir: Path | str,
    *,
    run_id: str,
    model: str,
    sampling_key: str,
    case_ids: Iterable[str],
    epochs: Iterable[int],
    levels: Mapping[str, str] | None = None,
) -> AnswerKeys:
    """The (case_id, epoch) among ``case_ids`` x ``epochs`` that run ``run_id`` may reuse a baseline for.

    By the pairing rule of the lift (``views.py``): a usable baseline answer of ``model`` (no skill)
    under ``sampling_key`` from this run or an earlier one (``_run_order``), at the level ``levels``
    expects for its case when given. Errored, ungraded or infra-errored answers are not listed, so the
    pipeline asks again. A data dir that does not exist yet holds none.
    """
    cases, wanted = sorted(set(case_ids)), sorted(set(epochs))
    if not cases or not wanted:
        return frozenset()
    where, params = _level_filter(levels)
    return _pairs(
        data_dir,
        f"""
        SELECT DISTINCT a.case_id, a.epoch FROM answers a JOIN _run_order o USING (run_id)
        WHERE a.model = $model AND a.sampling_key = $key AND a.condition = 'baseline' AND a.skill_id IS NULL
          AND a.state = '{USABLE}'
          AND a.case_id IN (SELECT unnest($cases::VARCHAR[])) AND a.epoch IN (SELECT unnest($epochs::BIGINT[]))
          AND o.run_seq <= coalesce((SELECT run_seq FROM _run_order WHERE run_id = $run), 9223372036854775807){where}
        """,
        {"run": run_id, "model": model, "key": sampling_key, "cases": cases, "epochs": wanted, **params},
    )


class GradedAnswer(BaseModel):
    """A usable answer with its verdict and, when it failed, the failed checks' details."""

    case_id: str
    epoch: int
    text: str
    passed: bool
    reasons: str | None


def graded_answers(data_dir: Path | str, *, run_id: str, skill_id: str, case_ids: Iterable[str]) -> list[GradedAnswer]:
    """This run's usable with-skill answers of ``skill_id`` to ``case_ids`` (every student), by case and epoch."""
    con = catalog(data_dir)
    try:
        result = execute(
            con,
            f"""
            SELECT case_id, epoch, text, passed, reasons FROM answers
            WHERE run_id = ? AND skill_id = ? AND state = '{USABLE}' AND case_id IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY case_id, epoch, model
            """,
            [run_id, skill_id, sorted(set(case_ids))],
        )
        names = [d[0] for d in result.description]
        return [GradedAnswer(**dict(zip(names, row, strict=True))) for row in result.fetchall()]
    finally:
        con.close()


class CaseLift(BaseModel):
    """One test case of one student and skill in a run: with-skill and paired baseline counts and rates."""

    model: str
    skill_id: str | None
    level: str
    case_id: str
    problem_id: str | None
    split: str | None
    skill_n: int
    skill_passed: int
    base_n: int
    base_passed: int
    baseline_rate: float | None
    skill_rate: float | None
    diff: float | None

    def outcomes(self) -> Iterator[tuple[str, str, bool]]:
        """(case_id, condition, passed) per graded answer behind these counts (pooled baselines included)."""
        for condition, n, passed in (
            ("with_skill", self.skill_n, self.skill_passed),
            ("baseline", self.base_n, self.base_passed),
        ):
            for index in range(n):
                yield self.case_id, condition, index < passed


def case_lifts(
    data_dir: Path | str, run_id: str, *, skill_id: str | None = None, case_ids: Iterable[str] | None = None
) -> list[CaseLift]:
    """The run's per-case lift rows (``case_lift``), optionally of one skill and some cases."""
    con = catalog(data_dir)
    try:
        result = execute(
            con,
            """
            SELECT l.model, l.skill_id, l.level, l.case_id, t.problem_id, l.split, l.skill_n, l.skill_passed,
                   l.base_n, l.base_passed, l.baseline_rate, l.skill_rate, l.diff
            FROM case_lift l LEFT JOIN test_cases t USING (case_id)
            WHERE l.run_id = $run AND ($skill IS NULL OR l.skill_id = $skill)
              AND ($all_cases OR l.case_id IN (SELECT unnest($cases::VARCHAR[])))
            ORDER BY l.model, l.skill_id, l.level, l.case_id
            """,
            {
                "run": run_id,
                "skill": skill_id,
                "all_cases": case_ids is None,
                "cases": sorted(set(case_ids or ())),
            },
        )
        names = [d[0] for d in result.description]
        return [CaseLift(**dict(zip(names, row, strict=True))) for row in result.fetchall()]
    finally:
        con.close()


class Finding(BaseModel):
    """A stored skill finding; ``case`` names the case by its problem id where it has one."""

    kind: str
    case: str
    detail: str


def findings(data_dir: Path | str, run_id: str) -> list[Finding]:
    """This run's skill findings, by kind and case."""
    con = catalog(data_dir)
    try:
        rows = execute(
            con,
            """
            SELECT f.kind, coalesce(t.problem_id, f.case_id) AS name, f.detail
            FROM skill_findings f LEFT JOIN test_cases t USING (case_id)
            WHERE f.run_id = ? ORDER BY f.kind, name
            """,
            [run_id],
        ).fetchall()
    finally:
        con.close()
    return [Finding(kind=kind, case=name, detail=detail) for kind, name, detail in rows]
