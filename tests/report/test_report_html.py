"""The HTML report: every number shown, every stored string escaped, the CI drawn on the right scale."""

from __future__ import annotations

from html.parser import HTMLParser

from skillfoundry.report.html import lift_svg, render_report
from skillfoundry.storage.answers import CaseLift, Finding
from skillfoundry.storage.query import CostSummary, LiftSummary, RunDetail, RunSummary

EVIL = "<script>alert(1)</script>"


def lift(model: str, value: float, low: float, high: float) -> LiftSummary:
    return LiftSummary(
        model=model, skill_id="s1", sampling_key="k", level="kernel-static", n_cases=12, n_epochs=3, n_errors=1, baseline_pass_rate=0.25,
        skill_pass_rate=0.25 + value, lift=value, ci_low=low, ci_high=high, p_value=0.03, verdict="helps",
        skill_tokens=500, leaks=0, non_discriminating=2,
    )


def detail() -> RunDetail:
    return RunDetail(
        run=RunSummary(run_id="r1", flow="distill", status="completed", started_at=None, finished_at=None,
                       models=[EVIL], n_generations=72),
        config={"epochs": 3, "teacher": EVIL},
        lift=[lift(EVIL, 0.25, 0.1, 0.4)],
        cost=[CostSummary(model="local", role="student", input_tokens=10, output_tokens=20, usd=0.0, gpu_seconds=0.0)],
    )


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_shows_the_numbers_and_escapes_stored_strings() -> None:
    page = render_report(
        detail(),
        [
            CaseLift(
                model="local", skill_id="s1", level="kernel-static", case_id="c1", problem_id="softmax", split="test",
                skill_n=1, skill_passed=1, base_n=1, base_passed=0, baseline_rate=0.0, skill_rate=1.0, diff=1.0,
            )
        ],
        [Finding(kind="always-fails", case="c2", detail=EVIL)],
    )
    parsed = Collect()
    parsed.feed(page)
    assert "script" not in parsed.tags
    text = " ".join(parsed.text)
    for needle in ("+0.250", "[+0.100, +0.400]", "12 x 3", "helps", "+0.500", "softmax", "always-fails", EVIL,
                   "kernel-static"):
        assert needle in text


def test_svg_places_lift_and_ci_on_the_minus_one_to_one_axis() -> None:
    svg = lift_svg([lift("m", 0.5, 0.0, 1.0)], width=620)
    # axis from x=180 (-1) to x=600 (+1): 0 -> 390, 0.5 -> 495, 1 -> 600
    assert '<line x1="390.0" y1="18" x2="600.0" y2="18"' in svg
    assert '<circle cx="495.0"' in svg
