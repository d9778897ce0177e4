"""What a grader returns: one outcome per check, plus kernel artefacts for storage."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CheckOutcome(BaseModel):
    """The verdict of one check on one answer. ``grader`` names the check type (e.g. 'contains', 'kernel')."""

    grader: str
    passed: bool
    score: float = Field(ge=0.0, le=1.0)
    detail: dict[str, Any] = Field(default_factory=dict)


class GradeBundle(BaseModel):
    """Every outcome for one answer, plus kernel builds/benchmarks (as dicts shaped like their records,
    without run_id) that the pipeline stores in kernel_builds / kernel_benchmarks."""

    outcomes: list[CheckOutcome]
    kernel_builds: list[dict[str, Any]] = Field(default_factory=list)
    kernel_benchmarks: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)
