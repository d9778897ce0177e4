"""An LLM judge built from a model endpoint: structured verdicts, score in [0, 1]."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from skillfoundry.grading.judge import Judge
from skillfoundry.llm.spec import Endpoint
from skillfoundry.llm.structured import generate_structured

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


def make_judge(endpoint: Endpoint, *, max_tokens: int = 256, clip: int = 8000) -> Judge:
    """A judge callable for ``grade_judge``: (rubric, answer) -> (score, reason)."""

    def judge(rubric: str, answer: str) -> tuple[float, str]:
        prompt = f"<rubric>\n{rubric}\n</rubric>\n<answer>\n{answer[:clip]}\n</answer>\nGive a reason, then a verdict."
        result = generate_structured(
            endpoint, system=JUDGE_SYSTEM, prompt=prompt, schema=Verdict, max_tokens=max_tokens
        )
        return SCORES[result.obj.verdict], result.obj.reason

    return judge
