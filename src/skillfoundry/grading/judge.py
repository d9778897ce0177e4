"""LLM-judge grading: a caller-supplied judge scores an answer against the check's rubric."""

from __future__ import annotations

import math
from collections.abc import Callable

from skillfoundry.grading.outcome import CheckOutcome
from skillfoundry.skills.model import JudgeCheck

#: ``judge(rubric, answer) -> (score in [0, 1], reason)``; built by the pipeline from a model endpoint.
Judge = Callable[[str, str], tuple[float, str]]


def grade_judge(check: JudgeCheck, answer: str, judge: Judge | None) -> CheckOutcome:
    """Pass when the judge's score reaches ``check.threshold``. No judge, a judge that raises or
    returns junk: failed, with ``detail["infra_error"] = True`` (not the answer's fault)."""
    detail: dict[str, object] = {"rubric": check.rubric[:200]}
    if check.model is not None:
        detail["requested_model"] = check.model
    if judge is None:
        return CheckOutcome(
            grader="judge",
            passed=False,
            score=0.0,
            detail={**detail, "reason": "no judge model configured", "infra_error": True},
        )
    try:
        score, reason = judge(check.rubric, answer)
        score = float(score)
        reason = str(reason)
    except Exception as exc:  # a judge is remote code: any failure is an infrastructure error
        return CheckOutcome(
            grader="judge",
            passed=False,
            score=0.0,
            detail={**detail, "reason": f"judge error: {type(exc).__name__}: {exc}"[:500], "infra_error": True},
        )
    if not math.isfinite(score):
        return CheckOutcome(
            grader="judge",
            passed=False,
            score=0.0,
            detail={**detail, "reason": f"judge returned a non-finite score {score}", "infra_error": True},
        )
    clamped = min(1.0, max(0.0, score))
    return CheckOutcome(
        grader="judge",
        passed=clamped >= check.threshold,
        score=clamped,
        detail={**detail, "reason": reason[:1000], "raw_score": score},
    )
