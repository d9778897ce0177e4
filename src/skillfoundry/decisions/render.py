"""Rich tables of comparisons and recommendations, readable at 80 columns."""

from __future__ import annotations

from rich.table import Table

from skillfoundry.decisions.compare import Comparison
from skillfoundry.report.format import fmt


def _ci(low: float | None, high: float | None) -> str:
    return f"[{fmt(low, signed=True)},{fmt(high, signed=True)}]"


def _money(value: float | None) -> str:
    return "unpriced" if value is None else f"{value:.4f}"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(title: str, columns: tuple[str, ...]) -> Table:
    """A compact table (light rules, no outer padding) that fits 80 columns: only the first column
    (names) wraps; numbers never do."""
    out = Table(title=title, box=None, pad_edge=False, title_justify="left", padding=(0, 2, 0, 0), header_style="bold")
    for i, column in enumerate(columns):
        out.add_column(column, overflow="fold", no_wrap=i > 0, min_width=min(len(column), 8) if i == 0 else None)
    return out


def comparison_tables(c: Comparison) -> list[Table]:
    """Side by side per student, then the paired difference with its verdict, then the flipped cases."""
    sides = table(
        f"A = {c.a}, B = {c.b} (with skill, test split)",
        ("student", "side/skill", "cases", "pass", "lift", "95% CI", "$/solved", "tok/solved"),
    )
    for m in c.models:
        for label, s in (("A", m.a), ("B", m.b)):
            if s is None:
                sides.add_row(m.model, label, "0", "-", "-", "-", "-", "-")
                continue
            sides.add_row(
                m.model,
                f"{label} {s.skill_id[:8]}",
                str(s.n_cases),
                fmt(s.pass_rate),
                fmt(s.lift.lift, signed=True) if s.lift else "-",
                _ci(s.lift.ci_low, s.lift.ci_high) if s.lift else "-",
                _money(s.usd_per_solved),
                _count(s.tokens_per_solved),
            )
    paired = table(
        "B - A over common test cases (bootstrap CI, sign test)",
        ("student", "common", "B - A", "95% CI", "p", "verdict", "flipped"),
    )
    for m in c.models:
        paired.add_row(
            m.model,
            str(m.n_common),
            fmt(m.diff, signed=True),
            _ci(m.ci_low, m.ci_high),
            fmt(m.p_value),
            m.verdict,
            str(len(m.flips)),
        )
    tables = [sides, paired]
    flips = [(m.model, f) for m in c.models for f in m.flips]
    if flips:
        flipped = table("Flipped cases (pass: rate >= 0.5)", ("student", "case", "A", "B", "now"))
        for model, f in flips:
            now = "passes" if f.rate_b > f.rate_a else "fails"
            flipped.add_row(model, f.problem_id or f.case_id[:12], fmt(f.rate_a), fmt(f.rate_b), now)
        tables.append(flipped)
    return tables
