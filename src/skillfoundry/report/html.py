"""A self-contained HTML report of one run: lift with CI (inline SVG), per-case lift, findings, cost."""

from __future__ import annotations

from html import escape

from skillfoundry.report.format import LIFT_HEADERS, fmt, lift_cells
from skillfoundry.report.plots import CaseRates, ReportPlots, plots_section
from skillfoundry.storage.answers import CaseLift, Finding
from skillfoundry.storage.query import LiftSummary, RunDetail


def lift_svg(rows: list[LiftSummary], width: int = 640, row_h: int = 28) -> str:
    """Horizontal lift per student on a [-1, 1] axis with its 95% CI as a bar."""
    left, right = 180, width - 20
    x = lambda v: left + (v + 1.0) / 2.0 * (right - left)  # noqa: E731
    height = row_h * (len(rows) + 1) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        'aria-label="skill lift with 95% confidence intervals">',
        f'<line x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{height - 20}" stroke="#888" stroke-dasharray="4"/>',
    ]
    for tick in (-1.0, -0.5, 0.0, 0.5, 1.0):
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 5}" font-size="11" text-anchor="middle">{tick:+.1f}</text>')
    for i, r in enumerate(rows):
        y = row_h * i + row_h // 2 + 4
        parts.append(f'<text x="4" y="{y + 4}" font-size="12">{escape(f"{r.model[:18]} {r.level}"[:28])}</text>')
        if r.ci_low is not None and r.ci_high is not None:
            parts.append(
                f'<line x1="{x(r.ci_low):.1f}" y1="{y}" x2="{x(r.ci_high):.1f}" y2="{y}" stroke="#4a7" stroke-width="6"/>'
            )
        if r.lift is not None:
            parts.append(f'<circle cx="{x(r.lift):.1f}" cy="{y}" r="5" fill="#153"/>')
    parts.append("</svg>")
    return "".join(parts)


def plots_html(detail: RunDetail, cases: list[CaseLift], plots: ReportPlots) -> str:
    """The recommendation and plot sections of the report (``report.plots``)."""
    rates = [
        CaseRates(
            model=c.model, case=c.problem_id or c.case_id[:12], baseline_rate=c.baseline_rate, skill_rate=c.skill_rate
        )
        for c in sorted(cases, key=lambda c: (c.model, c.problem_id or c.case_id))
    ]
    return plots_section(detail.lift, rates, plots)


def table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_report(
    detail: RunDetail, cases: list[CaseLift], findings: list[Finding], plots: ReportPlots | None = None
) -> str:
    """The whole report as one HTML page; every value from the store is escaped. Every pass rate and
    lift is shown with its grading level (what a pass means: e.g. kernel-static = compiles and passes
    static checks, kernel-gpu = correct on a GPU). With ``plots``: the recommendation and the plots
    (``report.plots``) after the lift table."""
    run = detail.run
    decisions = plots_html(detail, cases, plots) if plots is not None else ""
    case_rows = [
        [
            c.model,
            c.level,
            c.problem_id or c.case_id,
            fmt(c.baseline_rate),
            fmt(c.skill_rate),
            fmt(c.diff, signed=True),
        ]
        for c in sorted(cases, key=lambda c: (c.model, c.level, c.diff if c.diff is not None else 0.0))
    ]
    cost_rows = [
        [c.role, c.model or "-", str(c.input_tokens), str(c.output_tokens), fmt(c.usd), f"{c.gpu_seconds:.1f}"]
        for c in detail.cost
    ]
    config_rows = [[k, str(v)] for k, v in sorted(detail.config.items())]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>skillfoundry run {escape(run.run_id)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}th{{background:#f3f3f3}}</style></head>
<body>
<h1>Run {escape(run.run_id)}</h1>
<p>flow {escape(run.flow or "-")}, status {escape(run.status or "-")}, started {escape(str(run.started_at))}</p>
<h2>Skill lift (held-out test split)</h2>
{lift_svg(detail.lift)}
{table(list(LIFT_HEADERS), [lift_cells(r) for r in detail.lift])}
{decisions}
<h2>Per case (worst first)</h2>
{table(["student", "grading level", "case", "baseline", "with skill", "diff"], case_rows)}
<h2>Findings</h2>
{table(["kind", "case", "detail"], [[f.kind, f.case, f.detail] for f in findings])}
<h2>Cost</h2>
{table(["role", "model", "tokens in", "tokens out", "USD", "GPU s"], cost_rows)}
<h2>Config</h2>
{table(["setting", "value"], config_rows)}
</body></html>
"""
