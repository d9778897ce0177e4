"""Compare two sides (runs or skill versions) per student: pass rates, lift and cost side by side, the
paired difference over the held-out test cases both answered, the cases that flipped, and a verdict.

The difference of a case is B's with-skill pass rate minus A's (each the mean over its answers); cases
pair by (student, case). The CI, the sign test and the verdict are the lift's (``storage.stats``):
``better`` where lift would say ``helps``, ``worse`` where it would say ``hurts``. A case flipped when it
passes (pass rate >= 0.5) on one side and not on the other.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel

from skillfoundry.storage.decide import Side, SideCase
from skillfoundry.storage.query import LiftSummary
from skillfoundry.storage.stats import paired_bootstrap_ci, sign_test_p, verdict

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


def _rates(cases: list[SideCase]) -> dict[str, dict[str, tuple[float, str | None]]]:
    """model -> case id -> (pass rate over every graded answer, problem id); sampling keys pooled."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    problems: dict[str, str | None] = {}
    for c in cases:
        counts[(c.model, c.case_id)][0] += c.n_passed
        counts[(c.model, c.case_id)][1] += c.n_graded
        problems[c.case_id] = c.problem_id
    out: dict[str, dict[str, tuple[float, str | None]]] = defaultdict(dict)
    for (model, case_id), (passed, graded) in counts.items():
        if graded:
            out[model][case_id] = (passed / graded, problems[case_id])
    return out


def _side_model(side: Side, model: str, rates: dict[str, tuple[float, str | None]]) -> SideModel | None:
    cases = [c for c in side.cases if c.model == model]
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
        lift=next((row for row in side.lift if row.model == model), None),
        tokens=tokens,
        usd=usd,
        usd_per_solved=usd / solved if solved and usd is not None else None,
        tokens_per_solved=tokens / solved if solved else None,
    )


def compare(a: Side, b: Side, *, min_cases: int) -> Comparison:
    """The comparison of ``b`` against ``a`` per student (see the module docstring)."""
    rates_a, rates_b = _rates(a.cases), _rates(b.cases)
    models = []
    for model in sorted(set(rates_a) | set(rates_b)):
        ra, rb = rates_a.get(model, {}), rates_b.get(model, {})
        common = sorted(set(ra) & set(rb))
        diffs = [rb[c][0] - ra[c][0] for c in common]
        lo, hi = paired_bootstrap_ci(common, diffs) if common else (None, None)
        flips = [
            CaseFlip(case_id=c, problem_id=ra[c][1], rate_a=ra[c][0], rate_b=rb[c][0])
            for c in common
            if (ra[c][0] >= PASSES_AT) != (rb[c][0] >= PASSES_AT)
        ]
        models.append(
            ModelComparison(
                model=model,
                a=_side_model(a, model, ra),
                b=_side_model(b, model, rb),
                n_common=len(common),
                diff=sum(diffs) / len(diffs) if diffs else None,
                ci_low=lo,
                ci_high=hi,
                p_value=sign_test_p(diffs) if diffs else None,
                verdict=VERDICTS[verdict(lo, hi, len(common), min_cases)],
                flips=flips,
            )
        )
    return Comparison(a=f"{a.kind} {a.ident}", b=f"{b.kind} {b.ident}", models=models)
