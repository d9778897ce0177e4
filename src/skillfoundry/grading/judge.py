"""LLM-judge grading: a caller-supplied judge scores an answer against the check's rubric."""

from __future__ import annotations

import math
from collections.abc import Callable

from skillfoundry.grading.outcome import CheckOutcome, GradingLevel, infra_failure
from skillfoundry.skills.model import JudgeCheck

#: ``judge(rubric, answer) -> (score in [0, 1], reason)``; built by the pipeline from a model endpoint.
Judge = Callable[[str, str], tuple[float, str]]

LEVEL = GradingLevel.JUDGED


def grade_judge(check: JudgeCheck, answer: str, judge: Judge | None) -> CheckOutcome:
    """Pass when the judge's score reaches ``check.threshold``. No judge, a judge that raises or
    returns junk: an infrastructure error (not the answer's fault), never a pass."""
    detail: dict[str, object] = {"rubric": check.rubric[:200]}
    if check.model is not None:
        detail["requested_model"] = check.model
    if judge is None:
        return infra_failure("judge", LEVEL, "no judge model configured", **detail)
    try:
        score, reason = judge(check.rubric, answer)
        score = float(score)
        reason = str(reason)
    except Exception as exc:  # a judge is remote code: any failure is an infrastructure error
        return infra_failure("judge", LEVEL, f"judge error: {type(exc).__name__}: {exc}"[:500], **detail)
    if not math.isfinite(score):
        return infra_failure("judge", LEVEL, f"judge returned a non-finite score {score}", **detail)
    clamped = min(1.0, max(0.0, score))
    return CheckOutcome(
        grader="judge",
        level=LEVEL,
        passed=clamped >= check.threshold,
        score=clamped,
        detail={**detail, "reason": reason[:1000], "raw_score": score},
    )
