"""An LLM judge built from a model endpoint: structured verdicts, score in [0, 1]."""

from __future__ import annotations

import threading
from typing import Literal

from pydantic import BaseModel, Field

from skillfoundry.grading.judge import JudgeError, JudgeVerdict
from skillfoundry.grading.outcome import ModelUsage
from skillfoundry.llm.budget import Budget, BudgetExceededError
from skillfoundry.llm.spec import Endpoint
from skillfoundry.llm.structured import StructuredOutputError, generate_structured

JUDGE_SYSTEM = (
    "You grade answers strictly against a rubric. Answer 'meets' when the answer fully meets the rubric, "
    "'fails' when it does not, 'partly' for partial credit. Judge only what the answer contains."
)


SCORES = {"meets": 1.0, "partly": 0.5, "fails": 0.0}


class Verdict(BaseModel):
    """The judge's structured reply. A three-way verdict rather than a number: grammar-constrained
    decoding enforces enums exactly, but not numeric bounds."""

    reason: str = Field(min_length=1, max_length=400)
    verdict: Literal["meets", "partly", "fails"]


class LLMJudge:
    """A judge for ``grade_judge`` that asks a model endpoint: (rubric, answer) -> JudgeVerdict with the
    call's tokens and USD, charged to ``budget``. Once the budget is spent no call is sent: the check
    is an infrastructure error (asked again on resume) and ``refused`` counts it."""

    def __init__(self, endpoint: Endpoint, *, budget: Budget | None = None, max_tokens: int = 256, clip: int = 8000) -> None:
        self.endpoint, self.budget, self.max_tokens, self.clip = endpoint, budget, max_tokens, clip
        self.refused = 0
        self._lock = threading.Lock()

    def __call__(self, rubric: str, answer: str) -> JudgeVerdict:
        if self.budget is not None and self.budget.exhausted:
            with self._lock:
                self.refused += 1
            raise BudgetExceededError(self.budget.message("a judge call"))
        prompt = f"<rubric>\n{rubric}\n</rubric>\n<answer>\n{answer[:self.clip]}\n</answer>\nGive a reason, then a verdict."
        try:
            result = generate_structured(
                self.endpoint, system=JUDGE_SYSTEM, prompt=prompt, schema=Verdict, max_tokens=self.max_tokens
            )
        except StructuredOutputError as err:  # no verdict, but the calls were made and paid for
            raise JudgeError(str(err), self._charged(*err.usage)) from err
        usage = self._charged(result.input_tokens, result.output_tokens, result.cost_usd)
        return JudgeVerdict(score=SCORES[result.obj.verdict], reason=result.obj.reason, usage=usage)

    def _charged(self, input_tokens: int, output_tokens: int, usd: float) -> ModelUsage:
        if self.budget is not None:
            self.budget.charge(usd)
        return ModelUsage(model=str(self.endpoint.spec), input_tokens=input_tokens, output_tokens=output_tokens,
                          cost_usd=usd)
