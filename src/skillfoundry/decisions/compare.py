"""Compare two sides (runs or skill versions) per student: pass rates, lift and cost side by side, the
paired difference over the held-out test cases both answered, the cases that flipped, and a verdict.

The difference of a case is B's with-skill pass rate minus A's (each the mean over its answers); cases
pair by (student, grading level, case). The CI, the sign test and the verdict are the lift's, computed
by the lift's own SQL (``storage.decide.paired_lift``): ``better`` where lift would say ``helps``,
``worse`` where it would say ``hurts``. A case flipped when it passes (pass rate >= 0.5) on one side and
not on the other.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel

from skillfoundry.storage.decide import CasePair, PairedLift, Side, SideCase
from skillfoundry.storage.query import LiftSummary

PASSES_AT = 0.5
VERDICTS = {"helps": "better", "hurts": "worse", "inconclusive": "inconclusive"}


class SideModel(BaseModel):
    """One student on one side: with-skill pass rate over its test cases, its lift row, its cost."""

    skill_id: str
    n_cases: int
    pass_rate: float | None
    lift: LiftSummary | None
    tokens: int
    usd: float | None
    usd_per_solved: float | None
    tokens_per_solved: float | None


class CaseFlip(BaseModel):
    case_id: str
    problem_id: str | None
    rate_a: float
    rate_b: float


class ModelComparison(BaseModel):
    model: str
    level: str
    a: SideModel | None
    b: SideModel | None
    n_common: int
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str
    flips: list[CaseFlip]


class Comparison(BaseModel):
    a: str
    b: str
    models: list[ModelComparison]


Key = tuple[str, str]  # (model, level)


def _counts(cases: list[SideCase]) -> dict[Key, dict[str, tuple[int, int, str | None]]]:
    """(model, level) -> case id -> (passed, graded, problem id); sampling keys pooled."""
    out: dict[Key, dict[str, tuple[int, int, str | None]]] = defaultdict(dict)
    for c in cases:
        passed, graded, _ = out[(c.model, c.level)].get(c.case_id, (0, 0, None))
        out[(c.model, c.level)][c.case_id] = (passed + c.n_passed, graded + c.n_graded, c.problem_id)
    return out


def _rates(counts: dict[str, tuple[int, int, str | None]]) -> dict[str, tuple[float, str | None]]:
    return {case: (p / g, problem) for case, (p, g, problem) in counts.items() if g}


def _side_model(side: Side, key: Key, rates: dict[str, tuple[float, str | None]]) -> SideModel | None:
    model, level = key
    cases = [c for c in side.cases if (c.model, c.level) == key]
    if not cases:
        return None
    cost = next((c for c in side.cost if c.model == model), None)
    solved = sum(c.n_passed for c in cases)
    tokens = cost.tokens if cost else 0
    usd = cost.usd if cost else 0.0
    return SideModel(
        skill_id=cases[0].skill_id,
        n_cases=len(rates),
        pass_rate=sum(r for r, _ in rates.values()) / len(rates) if rates else None,
        lift=next((row for row in side.lift if (row.model, row.level) == key), None),
        tokens=tokens,
        usd=usd,
        usd_per_solved=usd / solved if solved and usd is not None else None,
        tokens_per_solved=tokens / solved if solved else None,
    )


def compare(a: Side, b: Side, *, paired: list[PairedLift]) -> Comparison:
    """The comparison of ``b`` against ``a`` per student and level (see the module docstring); ``paired``
    holds ``paired_lift(pairs(a, b))``."""
    counts_a, counts_b = _counts(a.cases), _counts(b.cases)
    stats = {(p.model, p.level): p for p in paired}
    models = []
    for key in sorted(set(counts_a) | set(counts_b)):
        ra, rb = _rates(counts_a.get(key, {})), _rates(counts_b.get(key, {}))
        common = sorted(set(ra) & set(rb))
        s = stats.get(key)
        flips = [
            CaseFlip(case_id=c, problem_id=ra[c][1], rate_a=ra[c][0], rate_b=rb[c][0])
            for c in common
            if (ra[c][0] >= PASSES_AT) != (rb[c][0] >= PASSES_AT)
        ]
        models.append(
            ModelComparison(
                model=key[0],
                level=key[1],
                a=_side_model(a, key, ra),
                b=_side_model(b, key, rb),
                n_common=len(common),
                diff=s.diff if s else None,
                ci_low=s.ci_low if s else None,
                ci_high=s.ci_high if s else None,
                p_value=s.p_value if s else None,
                verdict=VERDICTS[s.verdict] if s else "inconclusive",
                flips=flips,
            )
        )
    return Comparison(a=f"{a.kind} {a.ident}", b=f"{b.kind} {b.ident}", models=models)


def pairs(a: Side, b: Side) -> list[CasePair]:
    """The cases both sides answered, per student and level, with each side's counts."""
    counts_a, counts_b = _counts(a.cases), _counts(b.cases)
    out = []
    for key in sorted(set(counts_a) & set(counts_b)):
        for case in sorted(set(counts_a[key]) & set(counts_b[key])):
            (pa_, ga, _), (pb, gb, _) = counts_a[key][case], counts_b[key][case]
            out.append(
                CasePair(model=key[0], level=key[1], case_id=case, a_graded=ga, a_passed=pa_, b_graded=gb, b_passed=pb)
            )
    return out
