"""LLM-judge grading: a caller-supplied judge scores an answer against the check's rubric."""

from __future__ import annotations

import math
from collections.abc import Callable

from pydantic import BaseModel

from skillfoundry.grading.outcome import CheckOutcome, GradingLevel, ModelUsage, infra_failure
from skillfoundry.skills.model import JudgeCheck


class JudgeVerdict(BaseModel):
    """A judge's answer: a score in [0, 1] (clamped), its reason, and what asking cost (None: free)."""

    score: float
    reason: str
    usage: ModelUsage | None = None


class JudgeError(RuntimeError):
    """A judge call that gave no verdict but cost ``usage`` all the same."""

    def __init__(self, message: str, usage: ModelUsage) -> None:
        super().__init__(message)
        self.usage = usage


#: ``judge(rubric, answer) -> JudgeVerdict``; built by the pipeline from a model endpoint.
Judge = Callable[[str, str], JudgeVerdict]

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
        verdict = JudgeVerdict.model_validate(judge(check.rubric, answer))
    except Exception as exc:  # a judge is remote code: any failure is an infrastructure error
        failed = infra_failure("judge", LEVEL, f"judge error: {type(exc).__name__}: {exc}"[:500], **detail)
        return failed.model_copy(update={"usage": exc.usage}) if isinstance(exc, JudgeError) else failed
    if not math.isfinite(verdict.score):
        failed = infra_failure("judge", LEVEL, f"judge returned a non-finite score {verdict.score}", **detail)
        return failed.model_copy(update={"usage": verdict.usage})
    clamped = min(1.0, max(0.0, verdict.score))
    return CheckOutcome(
        grader="judge",
        level=LEVEL,
        passed=clamped >= check.threshold,
        score=clamped,
        detail={**detail, "reason": verdict.reason[:1000], "raw_score": verdict.score},
        usage=verdict.usage,
    )
