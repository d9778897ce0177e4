"""What the KernelBench runner sends its worker (no torch needed to build one)."""

from __future__ import annotations

from typing import Literal

from skillfoundry.kernels.gpu.protocol import TrialPlan


class KBJob(TrialPlan):
    """One KernelBench answer to check (and, on a GPU, time) against its reference."""

    problem_id: str
    problem_source: str
    answer_source: str
    dims: dict[str, int]
    result_path: str
    event_key: str  # hex; the worker signs its events with it, so lines the answer writes are ignored
    device: Literal["cuda", "cpu"] = "cuda"
    phase_s: float = 60.0
    build_phase_s: float = 900.0
