"""Number formatting and the lift row shared by the CLI, the Prefect artifact and the HTML report."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skillfoundry.storage.query import LiftSummary

LIFT_HEADERS = (
    "student", "level", "baseline", "with skill", "lift", "95% CI", "p", "cases x epochs", "errors", "verdict",
    "lift / 1k skill tokens", "leaks", "non-discriminating",
)
# The numbers a run's result is read by, in one aligned row per student (the rest go on a line below).
KEY_HEADERS = ("baseline", "with skill", "lift", "95% CI", "p", "verdict")
INDENT = "  "


def fmt(value: float | None, *, signed: bool = False) -> str:
    """Three decimals, '-' for missing, optional sign."""
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def lift_cells(r: LiftSummary) -> list[str]:
    """One lift row as text, in the order of LIFT_HEADERS."""
    return [
        r.model,
        r.level,
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


def lift_block(r: LiftSummary, width: int = 80) -> list[str]:
    """One student's lift as lines of at most ``width`` characters (``width`` >= 40), no value cut short.

    A heading names the student (wrapped if long), its grading level and sample; the key numbers stand
    under their headers; the other columns of ``lift_cells`` follow as ``name value`` pairs.
    """
    cells = dict(zip(LIFT_HEADERS, lift_cells(r), strict=True))
    heading = f"{r.model}  ({r.level} grading, {r.n_cases} cases x {r.n_epochs} epochs)"
    widths = [max(len(h), len(cells[h])) for h in KEY_HEADERS]
    aligned = [
        INDENT + "  ".join(text.ljust(w) for text, w in zip(row, widths, strict=True)).rstrip()
        for row in (KEY_HEADERS, [cells[h] for h in KEY_HEADERS])
    ]
    shown = {"student", "level", "cases x epochs"}
    if max(len(line) for line in aligned) > width:  # too narrow to align: every value as a pair
        aligned = []
    else:
        shown.update(KEY_HEADERS)
    pairs = [f"{h} {cells[h]}" for h in LIFT_HEADERS if h not in shown]
    return [*textwrap.wrap(heading, width, break_on_hyphens=False), *aligned, *_pack(pairs, width)]


def _pack(parts: list[str], width: int) -> list[str]:
    """Indented lines of ``parts`` joined by ``,  ``, broken only between parts."""
    lines: list[str] = []
    for part in parts:
        joined = f"{lines[-1]},  {part}" if lines else ""
        if lines and len(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(INDENT + part)
    return lines
