"""Number formatting shared by the CLI and the reports."""

from __future__ import annotations


def fmt(value: float | None, *, signed: bool = False) -> str:
    """Three decimals, '-' for missing, optional sign."""
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"
