"""What the KernelBench runner sends its worker (no torch needed to build one)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class KBJob(BaseModel):
    """One KernelBench answer to check (and, on a GPU, time) against its reference."""

    problem_id: str
    problem_source: str
    answer_source: str
    dims: dict[str, int]
    result_path: str
    event_key: str  # hex; the worker signs its events with it, so lines the answer writes are ignored
    device: Literal["cuda", "cpu"] = "cuda"
    seed: int = 0
    trials: int = Field(default=5, ge=1)
    post_trials: int = Field(default=2, ge=1)
    timing_trials: int = Field(default=100, ge=1)
    warmup: int = Field(default=10, ge=1)
    timing_budget_s: float = 20.0
    phase_s: float = 60.0
    build_phase_s: float = 900.0
