"""What to deploy: the cheapest configuration whose pass rate is good enough, and the cost/quality front.

Rows come from the ``recommendations`` view (``storage.recommend``). Cost orders configurations by USD per
solved case, then tokens per solved case, then GPU seconds per solved case (a configuration with no
solved case, or an unpriced model, sorts last on that measure). A configuration qualifies when the
lower bound of its pass rate's 95% CI reaches the target, so the choice holds with the data's
uncertainty, not only on average.
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from skillfoundry.storage.recommend import ConfigRow


class Recommendation(BaseModel):
    target: float
    rows: list[ConfigRow]
    front: list[ConfigRow]
    pick: ConfigRow | None
    closest: ConfigRow | None
    statement: str


def _measure(value: float | None) -> float:
    return math.inf if value is None else value


def cost_key(row: ConfigRow) -> tuple[float, float, float]:
    """USD, then tokens, then GPU seconds per solved case (missing: infinitely expensive)."""
    return _measure(row.usd_per_solved), _measure(row.tokens_per_solved), _measure(row.gpu_s_per_solved)


def label(row: ConfigRow) -> str:
    """``model with skill <id8>`` or ``model without a skill``."""
    return f"{row.model} with skill {row.skill_id[:8]}" if row.skill_id else f"{row.model} without a skill"


def pareto_front(rows: list[ConfigRow]) -> list[ConfigRow]:
    """Rows no other row beats on both cost and pass rate (at least as good on both, better on one),
    cheapest first."""
    rated = [r for r in rows if r.pass_rate is not None]

    def beaten(r: ConfigRow) -> bool:
        return any(
            cost_key(o) <= cost_key(r)
            and o.pass_rate >= r.pass_rate  # type: ignore[operator]
            and (cost_key(o) < cost_key(r) or o.pass_rate > r.pass_rate)  # type: ignore[operator]
            for o in rated
        )

    return sorted((r for r in rated if not beaten(r)), key=lambda r: (cost_key(r), -(r.pass_rate or 0.0)))


def _costs(row: ConfigRow) -> str:
    usd = "unpriced" if row.usd_per_solved is None else f"${row.usd_per_solved:.4f}"
    tokens = "-" if row.tokens_per_solved is None else f"{row.tokens_per_solved:,.0f} tokens"
    gpu = "-" if row.gpu_s_per_solved is None else f"{row.gpu_s_per_solved:.2f} GPU s"
    return f"{usd}, {tokens}, {gpu} per solved case"


def _rate(row: ConfigRow) -> str:
    return (
        f"pass rate {row.pass_rate:.3f} (95% CI {row.ci_low:.3f} to {row.ci_high:.3f}, {row.n_cases} cases, "
        f"grading level {row.level})"
    )


def recommend(rows: list[ConfigRow], target: float) -> Recommendation:
    """The cheapest row whose CI lower bound reaches ``target``; else the row that came closest."""
    if not 0.0 < target <= 1.0:
        raise ValueError(f"--target-pass-rate {target}: expected a pass rate above 0 and at most 1")
    bounded = [r for r in rows if r.ci_low is not None and r.pass_rate is not None]
    good = [r for r in bounded if r.ci_low >= target]  # type: ignore[operator]
    pick = min(good, key=lambda r: (cost_key(r), -(r.pass_rate or 0.0), r.model, r.skill_id or "")) if good else None
    closest = None
    if pick is not None:
        statement = f"Deploy {label(pick)}: {_rate(pick)}, lower bound >= {target:.2f}; {_costs(pick)}."
    elif bounded:
        closest = max(bounded, key=lambda r: (r.ci_low, r.pass_rate, -cost_key(r)[0]))  # type: ignore[arg-type]
        statement = (
            f"No configuration reaches a lower bound of {target:.2f}. Closest: {label(closest)}, "
            f"{_rate(closest)}; {_costs(closest)}."
        )
    else:
        statement = "No configuration has graded answers on held-out test cases yet."
    return Recommendation(
        target=target, rows=rows, front=pareto_front(rows), pick=pick, closest=closest, statement=statement
    )
