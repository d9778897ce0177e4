"""Inline SVG plots of the HTML report, readable without colour: shapes tell the series apart (open
circle = without skill, filled square = with skill), every point carries its value as text, and each
plot has a legend. Pure functions from rows to SVG text; every stored string is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from pydantic import BaseModel

from skillfoundry.decisions.recommend import cost_key, label, pareto_front
from skillfoundry.report.format import fmt
from skillfoundry.storage.query import LiftSummary
from skillfoundry.storage.recommend import ConfigRow

FONT = 'font-family="sans-serif" font-size="11"'
SPEEDUP_THRESHOLDS: tuple[float, ...] = tuple(round(0.25 * i, 2) for i in range(13))  # 0, 0.25, ..., 3.0


class FastPCurve(BaseModel):
    """fast_p of one student and condition: the share of its kernel answers that are correct and faster
    than the reference by more than p, at each threshold p."""

    model: str
    condition: str
    n_answers: int
    points: list[tuple[float, float]]


def fast_p_curve(model: str, condition: str, n_answers: int, correct_speedups: Sequence[float]) -> FastPCurve:
    """The curve over SPEEDUP_THRESHOLDS (p = 0 counts every correct answer, as KernelBench's fast_0)."""
    points = [
        (p, sum(1 for s in correct_speedups if p == 0 or s > p) / n_answers if n_answers else 0.0)
        for p in SPEEDUP_THRESHOLDS
    ]
    return FastPCurve(model=model, condition=condition, n_answers=n_answers, points=points)


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _marker(x: float, y: float, with_skill: bool, size: float = 5) -> str:
    if with_skill:
        return f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size}" height="{2 * size}" fill="#000"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size}" fill="#fff" stroke="#000" stroke-width="1.5"/>'


def _legend(x: float, y: float) -> str:
    return (
        _marker(x, y, False)
        + f'<text x="{x + 10}" y="{y + 4}" {FONT}>without skill</text>'
        + _marker(x + 100, y, True)
        + f'<text x="{x + 110}" y="{y + 4}" {FONT}>with skill</text>'
    )


def _axis(x0: float, x1: float, y: float, ticks: Sequence[tuple[float, str]], scale: Callable[[float], float]) -> str:
    parts = [f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#000"/>']
    for value, text in ticks:
        parts.append(f'<line x1="{scale(value):.1f}" y1="{y}" x2="{scale(value):.1f}" y2="{y + 4}" stroke="#000"/>')
        parts.append(f'<text x="{scale(value):.1f}" y="{y + 15}" {FONT} text-anchor="middle">{escape(text)}</text>')
    return "".join(parts)


def lift_plot(rows: list[LiftSummary], width: int = 720) -> str:
    """Lift per student (filled square) with its 95% CI as a bar with end caps, value and CI as text."""
    left, right, row_h = 200, width - 190, 30
    height = row_h * len(rows) + 50
    x = lambda v: left + (max(-1.0, min(1.0, v)) + 1.0) / 2.0 * (right - left)  # noqa: E731
    body = [f'<line x1="{x(0):.1f}" y1="5" x2="{x(0):.1f}" y2="{height - 35}" stroke="#000" stroke-dasharray="4"/>']
    for i, r in enumerate(rows):
        y = 20 + row_h * i
        name = r.model if not r.skill_id else f"{r.model} ({r.skill_id[:8]})"
        body.append(f'<text x="4" y="{y + 4}" {FONT}>{escape(name[:34])}</text>')
        if r.ci_low is not None and r.ci_high is not None:
            lo, hi = x(r.ci_low), x(r.ci_high)
            body.append(f'<line x1="{lo:.1f}" y1="{y}" x2="{hi:.1f}" y2="{y}" stroke="#000" stroke-width="2"/>')
            for end in (lo, hi):
                body.append(
                    f'<line x1="{end:.1f}" y1="{y - 6}" x2="{end:.1f}" y2="{y + 6}" stroke="#000" stroke-width="2"/>'
                )
        if r.lift is not None:
            body.append(_marker(x(r.lift), y, True, 4))
        text = f"{fmt(r.lift, signed=True)} [{fmt(r.ci_low, signed=True)}, {fmt(r.ci_high, signed=True)}] {r.verdict}"
        body.append(f'<text x="{right + 10}" y="{y + 4}" {FONT}>{escape(text)}</text>')
    ticks = [(v, f"{v:+.1f}") for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]
    body.append(_axis(left, right, height - 30, ticks, x))
    body.append(
        f'<text x="{(left + right) / 2}" y="{height - 2}" {FONT} text-anchor="middle">lift (with - without), 95% CI</text>'
    )
    return _svg(width, height, "skill lift per student with 95% confidence intervals", body)


class CaseRates(BaseModel):
    """One test case's pass rate without and with the skill, for one student."""

    model: str
    case: str
    baseline_rate: float | None
    skill_rate: float | None


def case_plot(rows: list[CaseRates], width: int = 720) -> str:
    """Per case and student: pass rate without (open circle) and with the skill (filled square), joined
    by a line; the two rates as text at the right."""
    left, right, row_h = 260, width - 120, 22
    height = row_h * len(rows) + 70
    x = lambda v: left + v * (right - left)  # noqa: E731
    body = [_legend(left, 12)]
    for i, r in enumerate(rows):
        y = 38 + row_h * i
        body.append(f'<text x="4" y="{y + 4}" {FONT}>{escape((r.model + " / " + r.case)[:44])}</text>')
        if r.baseline_rate is not None and r.skill_rate is not None:
            body.append(
                f'<line x1="{x(r.baseline_rate):.1f}" y1="{y}" x2="{x(r.skill_rate):.1f}" y2="{y}" stroke="#777"/>'
            )
        if r.baseline_rate is not None:
            body.append(_marker(x(r.baseline_rate), y, False, 4))
        if r.skill_rate is not None:
            body.append(_marker(x(r.skill_rate), y, True, 4))
        body.append(
            f'<text x="{right + 10}" y="{y + 4}" {FONT}>{fmt(r.baseline_rate)} &#8594; {fmt(r.skill_rate)}</text>'
        )
    ticks = [(v, f"{v:.2f}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    body.append(_axis(left, right, height - 30, ticks, x))
    body.append(
        f'<text x="{(left + right) / 2}" y="{height - 2}" {FONT} text-anchor="middle">pass rate per case</text>'
    )
    return _svg(width, height, "pass rate per test case with and without the skill", body)


def cost_plot(rows: list[ConfigRow], width: int = 720, height: int = 360) -> str:
    """Cost per solved case (x; USD, or tokens when every configuration is free) against pass rate (y);
    the Pareto front joined by a dashed line; each point labelled."""
    rated = [r for r in rows if r.pass_rate is not None]
    priced = any((r.usd_per_solved or 0) > 0 for r in rated)
    cost = (lambda r: r.usd_per_solved) if priced else (lambda r: r.tokens_per_solved)
    drawn = [r for r in rated if cost(r) is not None]
    left, right, top, bottom = 60, width - 60, 30, height - 45
    top_cost = max((cost(r) or 0.0 for r in drawn), default=1.0) or 1.0
    x = lambda v: left + v / top_cost * (right - left)  # noqa: E731
    y = lambda v: bottom - v * (bottom - top)  # noqa: E731
    body = [_legend(left, 12), f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#000"/>']
    for v in (0.0, 0.5, 1.0):
        body.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" {FONT} text-anchor="end">{v:.1f}</text>')
    front = sorted((r for r in pareto_front(rows) if cost(r) is not None), key=cost_key)
    if len(front) > 1:
        points = " ".join(f"{x(cost(r)):.1f},{y(r.pass_rate):.1f}" for r in front)  # type: ignore[arg-type]
        body.append(f'<polyline points="{points}" fill="none" stroke="#000" stroke-dasharray="5,3"/>')
    for r in drawn:
        px, py = x(cost(r)), y(r.pass_rate)  # type: ignore[arg-type]
        body.append(_marker(px, py, r.skill_id is not None, 5))
        star = " *" if any(r is f for f in front) else ""
        anchor, dx = ("end", -8) if px > (left + right) / 2 else ("start", 8)
        body.append(
            f'<text x="{px + dx:.1f}" y="{py - 8:.1f}" {FONT} text-anchor="{anchor}">'
            f"{escape(label(r)[:44])} {fmt(r.pass_rate)}{star}</text>"
        )
    unit = "USD" if priced else "tokens"
    ticks = [(top_cost * f, f"{top_cost * f:.4f}" if priced else f"{top_cost * f:,.0f}") for f in (0.0, 0.5, 1.0)]
    body.append(_axis(left, right, bottom, ticks, x))
    body.append(
        f'<text x="{(left + right) / 2}" y="{height - 5}" {FONT} text-anchor="middle">'
        f"{unit} per solved case (* Pareto front, dashed)</text>"
    )
    return _svg(width, height, "cost per solved case against pass rate, with the Pareto front", body)


def fast_p_plot(curves: list[FastPCurve], width: int = 720, height: int = 320) -> str:
    """fast_p against the speedup threshold p, one line per student and condition, labelled at its end."""
    left, right, top, bottom = 70, width - 300, 20, height - 45
    x = lambda p: left + p / SPEEDUP_THRESHOLDS[-1] * (right - left)  # noqa: E731
    y = lambda v: bottom - v * (bottom - top)  # noqa: E731
    body = [_legend(left, 10), f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#000"/>']
    for v in (0.0, 0.5, 1.0):
        body.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" {FONT} text-anchor="end">{v:.1f}</text>')
    for i, c in enumerate(curves):
        with_skill = c.condition == "with_skill"
        dash = "" if with_skill else ' stroke-dasharray="4,3"'
        points = " ".join(f"{x(p):.1f},{y(v):.1f}" for p, v in c.points)
        body.append(f'<polyline points="{points}" fill="none" stroke="#000"{dash}/>')
        body.extend(_marker(x(p), y(v), with_skill, 3) for p, v in c.points)
        at_1 = next(v for p, v in c.points if p == 1.0)
        p0, v0 = c.points[0]
        body.append(
            f'<text x="{x(p0) - 8:.1f}" y="{y(v0) - 4 - 9 * (i % 2):.1f}" {FONT} text-anchor="end">{i + 1}</text>'
        )
        text = f"{i + 1}: fast_1 {at_1:.2f}, {c.model} {'with skill' if with_skill else 'without'}"
        body.append(f'<text x="{right + 8}" y="{top + 10 + 14 * i:.1f}" {FONT}>{escape(text[:52])}</text>')
    ticks = [(p, f"{p:g}") for p in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)]
    body.append(_axis(left, right, bottom, ticks, x))
    body.append(
        f'<text x="{(left + right) / 2}" y="{height - 5}" {FONT} text-anchor="middle">'
        "speedup threshold p (fast_p: correct and faster than the reference by more than p)</text>"
    )
    return _svg(width, height, "fast_p over speedup thresholds", body)


class ReportPlots(BaseModel):
    """What the decision sections need beyond the run detail: the run's configurations (``recommendations``
    over this run), its GPU results, and the target pass rate of the recommendation."""

    configs: list[ConfigRow]
    fast_p: list[FastPCurve]
    target: float = 0.8


def plots_section(lift: list[LiftSummary], cases: list[CaseRates], plots: ReportPlots) -> str:
    """The recommendation and the plots of the report, each under its heading; fast_p only with GPU results."""
    parts = [
        recommendation_section(plots.configs, plots.target),
        "<h2>Plots</h2>",
        "<h3>Lift per student (95% CI)</h3>",
        lift_plot(lift),
        "<h3>Pass rate per case, without and with the skill</h3>",
        case_plot(cases),
        "<h3>Cost per solved case against pass rate</h3>",
        cost_plot(plots.configs),
    ]
    if plots.fast_p:
        parts += ["<h3>fast_p over speedup thresholds (GPU)</h3>", fast_p_plot(plots.fast_p)]
    return "\n".join(parts)


def recommendation_section(configs: list[ConfigRow], target: float) -> str:
    """The recommendation (same numbers as ``skillfoundry recommend --runs RUN`` and the view)."""
    from skillfoundry.decisions.recommend import recommend

    rec = recommend(configs, target)
    front = {id(r) for r in rec.front}
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "configuration",
            "cases",
            "pass rate",
            "95% CI",
            "USD / solved",
            "tokens / solved",
            "GPU s / solved",
            "latency s",
            "front",
        )
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(c)}</td>"
            for c in (
                label(r) + (" (pick)" if r is rec.pick else ""),
                str(r.n_cases),
                fmt(r.pass_rate),
                f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
                "unpriced" if r.usd_per_solved is None else f"{r.usd_per_solved:.4f}",
                "-" if r.tokens_per_solved is None else f"{r.tokens_per_solved:.0f}",
                "-" if r.gpu_s_per_solved is None else f"{r.gpu_s_per_solved:.2f}",
                "-" if r.mean_latency_s is None else f"{r.mean_latency_s:.2f}",
                "*" if id(r) in front else "",
            )
        )
        + "</tr>"
        for r in rec.rows
    )
    return (
        f"<h2>Recommendation (target: lower 95% bound of the pass rate &gt;= {target:.2f})</h2>\n"
        f"<p>{escape(rec.statement)}</p>\n<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
