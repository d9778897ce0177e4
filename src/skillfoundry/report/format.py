"""Number formatting and the lift row shared by the CLI, the Prefect artifact and the HTML report."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skillfoundry.storage.query import LiftSummary

LIFT_HEADERS = (
    "student",
    "baseline",
    "with skill",
    "lift",
    "95% CI",
    "p",
    "cases x epochs",
    "errors",
    "verdict",
    "lift / 1k skill tokens",
    "leaks",
    "non-discriminating",
)


def fmt(value: float | None, *, signed: bool = False) -> str:
    """Three decimals, '-' for missing, optional sign."""
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def lift_cells(r: LiftSummary) -> list[str]:
    """One lift row as text, in the order of LIFT_HEADERS."""
    return [
        r.model,
        fmt(r.baseline_pass_rate),
        fmt(r.skill_pass_rate),
        fmt(r.lift, signed=True),
        f"[{fmt(r.ci_low, signed=True)}, {fmt(r.ci_high, signed=True)}]",
        fmt(r.p_value),
        f"{r.n_cases} x {r.n_epochs}",
        str(r.n_errors),
        r.verdict,
        fmt(r.lift_per_1k_tokens, signed=True),
        str(r.leaks),
        str(r.non_discriminating),
    ]
