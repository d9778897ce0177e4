"""What a grader returns: one outcome per check, plus kernel artefacts for storage."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator


class GradingLevel(StrEnum):
    """How strong a pass is: decided by the grader AND the environment, never by how far an answer got."""

    DETERMINISTIC = "deterministic"  # contains / not_contains / regex / json checks
    SANDBOXED = "sandboxed"  # python check run in the sandbox
    JUDGED = "judged"  # LLM judge
    KERNEL_STATIC = "kernel-static"  # kernel compiled (NVRTC) + static/PTX checks; no GPU in this environment
    KERNEL_GPU = "kernel-gpu"  # kernel compiled + checks + GPU correctness (and timing) vs torch reference


class ModelUsage(BaseModel):
    """What one model call made for grading cost: the model, its tokens and USD (0 for local models)."""

    model: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0.0)


class CheckOutcome(BaseModel):
    """The verdict of one check on one answer. ``grader`` names the check type (e.g. 'contains', 'kernel').

    ``infra_error`` set means the check could not run for infrastructure reasons (harness, driver,
    missing dependency, unreachable judge): the answer was not graded, so it neither passes nor scores.
    ``usage`` is the model call the check made (an LLM judge), None for checks that ask no model.
    """

    grader: str
    passed: bool
    score: float = Field(ge=0.0, le=1.0)
    level: GradingLevel
    infra_error: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    usage: ModelUsage | None = None

    @model_validator(mode="after")
    def _infra_error_is_no_pass(self) -> CheckOutcome:
        if self.infra_error is not None and (self.passed or self.score != 0.0):
            raise ValueError(f"{self.grader}: an outcome with infra_error must have passed=False and score=0")
        return self


def infra_failure(grader: str, level: GradingLevel, error: str, **detail: Any) -> CheckOutcome:
    """The outcome of a check that could not run: not the answer's fault, and not a pass."""
    return CheckOutcome(grader=grader, passed=False, score=0.0, level=level, infra_error=error, detail=detail)


class GradeBundle(BaseModel):
    """Every outcome for one answer, plus kernel builds/benchmarks (as dicts shaped like their records,
    without run_id) that the pipeline stores in kernel_builds / kernel_benchmarks."""

    outcomes: list[CheckOutcome]
    kernel_builds: list[dict[str, Any]] = Field(default_factory=list)
    kernel_benchmarks: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)
