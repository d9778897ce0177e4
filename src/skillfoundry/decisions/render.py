"""Rich tables of comparisons and recommendations, readable at 80 columns."""

from __future__ import annotations

from rich.table import Table

from skillfoundry.decisions.compare import Comparison
from skillfoundry.decisions.recommend import Recommendation
from skillfoundry.report.format import fmt


def _ci(low: float | None, high: float | None) -> str:
    return f"[{fmt(low, signed=True)},{fmt(high, signed=True)}]"


def _money(value: float | None) -> str:
    return "unpriced" if value is None else f"{value:.4f}"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(title: str, columns: tuple[str, ...], wrap: int = 0) -> Table:
    """A compact table that fits 80 columns: only column ``wrap`` (names) wraps; numbers never do."""
    out = Table(title=title, box=None, pad_edge=False, title_justify="left", padding=(0, 2, 0, 0), header_style="bold")
    for i, column in enumerate(columns):
        out.add_column(column, overflow="fold", no_wrap=i != wrap, min_width=min(len(column), 8) if i == wrap else None)
    return out


def levels_note(levels: set[str]) -> str:
    """The grading level of every row when they share one (said once, in the title), else ''."""
    return f", graded {next(iter(levels))}" if len(levels) == 1 else ""


def who(model: str, level: str, levels: set[str]) -> str:
    """A student, with the grading level of its numbers (what a pass means) when rows differ in level."""
    return model if len(levels) == 1 else f"{model} ({level})"


def comparison_tables(c: Comparison) -> list[Table]:
    """Side by side per student, then the paired difference with its verdict, then the flipped cases."""
    levels = {m.level for m in c.models}
    sides = table(
        f"A = {c.a}, B = {c.b} (with skill, test split{levels_note(levels)})",
        ("student", "side/skill", "cases", "pass", "lift", "95% CI", "$/solved", "tok/solved"),
    )
    for m in c.models:
        for label, s in (("A", m.a), ("B", m.b)):
            if s is None:
                sides.add_row(who(m.model, m.level, levels), label, "0", "-", "-", "-", "-", "-")
                continue
            sides.add_row(
                who(m.model, m.level, levels),
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
            who(m.model, m.level, levels),
            str(m.n_common),
            fmt(m.diff, signed=True),
            _ci(m.ci_low, m.ci_high),
            fmt(m.p_value),
            m.verdict,
            str(len(m.flips)),
        )
    tables = [sides, paired]
    flips = [(who(m.model, m.level, levels), f) for m in c.models for f in m.flips]
    if flips:
        flipped = table("Flipped cases (pass: rate >= 0.5)", ("student", "case", "A", "B", "now"))
        for model, f in flips:
            now = "passes" if f.rate_b > f.rate_a else "fails"
            flipped.add_row(model, f.problem_id or f.case_id[:12], fmt(f.rate_a), fmt(f.rate_b), now)
        tables.append(flipped)
    return tables


def recommendation_table(rec: Recommendation) -> Table:
    """Every configuration with pass rate, CI and cost per solved case; ``*`` marks the Pareto front,
    ``>`` the pick."""
    levels = {r.level for r in rec.rows}
    out = table(
        f"Configurations on held-out test cases (cost per solved case{levels_note(levels)})",
        ("", "student", "skill", "pass", "95% CI", "USD", "tokens", "GPU s", "lat s"),
        wrap=1,
    )
    front = {id(r) for r in rec.front}
    for r in rec.rows:
        mark = (">" if r is rec.pick else " ") + ("*" if id(r) in front else " ")
        out.add_row(
            mark,
            who(r.model, r.level, levels),
            r.skill_id[:8] if r.skill_id else "none",
            fmt(r.pass_rate),
            f"[{fmt(r.ci_low)},{fmt(r.ci_high)}]",
            _money(r.usd_per_solved),
            _count(r.tokens_per_solved),
            "-" if r.gpu_s_per_solved is None else f"{r.gpu_s_per_solved:.2f}",
            "-" if r.mean_latency_s is None else f"{r.mean_latency_s:.1f}",
        )
    return out


def recommendation_markdown(rec: Recommendation) -> str:
    """The recommendation as Markdown (a Prefect artifact): the statement, then every configuration."""
    from skillfoundry.decisions.recommend import label

    front = {id(r) for r in rec.front}
    lines = [
        f"# Recommendation (target: lower 95% bound >= {rec.target:.2f})",
        "",
        rec.statement,
        "",
        "| configuration | pass rate | 95% CI | USD / solved | tokens / solved | GPU s / solved | Pareto front |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rec.rows:
        lines.append(
            f"| {label(r)}{' (pick)' if r is rec.pick else ''} | {fmt(r.pass_rate)} | [{fmt(r.ci_low)}, {fmt(r.ci_high)}] "
            f"| {_money(r.usd_per_solved)} | {_count(r.tokens_per_solved)} "
            f"| {'-' if r.gpu_s_per_solved is None else f'{r.gpu_s_per_solved:.2f}'} | {'*' if id(r) in front else ''} |"
        )
    return "\n".join(lines)
