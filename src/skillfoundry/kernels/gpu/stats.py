"""Summaries of timing samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pydantic import BaseModel


class Summary(BaseModel):
    """Median and spread (inter-quartile range) of timing samples, in milliseconds."""

    n: int
    median: float
    iqr: float
    minimum: float
    maximum: float


def summarize(samples: Sequence[float]) -> Summary | None:
    """Median, IQR, min and max of ``samples``; None for no samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return Summary(
        n=len(ordered), median=statistics.median(ordered), iqr=q3 - q1, minimum=ordered[0], maximum=ordered[-1]
    )
