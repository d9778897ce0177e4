"""The HTML report in headless Chromium: the page text carries the numbers of ``show`` and ``recommend``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from decisions_builders import add_benchmarks, add_config, new_store

from skillfoundry.report.plots import case_plot, cost_plot, fast_p_curve, fast_p_plot, lift_plot
from skillfoundry.storage.records import TestCaseRecord as CaseRecord

CHROMIUM = shutil.which("chromium")
HAIKU = "anthropic:claude-haiku-4-5"
EVIL = "<script>alert(1)</script>"


def cli(*args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillfoundry", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": str(columns)},
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report") / "data"
    store = new_store(root, 12, ["r1"])
    store.cases = [
        CaseRecord(
            run_id="r1",
            case_id=f"case{i}",
            skill_name="demo",
            split="test",
            prompt="p",
            checks_json="[]",
            kind="kernel",
            problem_id=f"kernel_{i:02d}",
        )
        for i in range(12)
    ]
    add_config(store, "r1", "local", None, [1] * 6 + [2] * 6)
    add_config(store, "r1", "local", "skill-k1", [3] * 10 + [1] * 2)
    add_config(store, "r1", HAIKU, None, [2] * 12, tokens=(900, 300))
    add_config(store, "r1", HAIKU, "skill-k1", [4] * 11 + [2], tokens=(1100, 300))
    store.write()
    add_benchmarks(store, root, {"local": 0.8, HAIKU: 1.4})
    return root


def page_text(html: str) -> str:
    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def show_rows(run_id: str, data: Path) -> list[list[str]]:
    """The cells of the lift table ``skillfoundry show`` prints."""
    out = cli("show", run_id, "--data-dir", str(data), columns=400).stdout
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) > 8 and cells[0].startswith("skill-"):
            rows.append(cells)
    return rows


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_report_in_headless_chromium_carries_the_numbers_of_show(data: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    done = cli("report", "r1", "--data-dir", str(data), "--out", str(page))
    assert done.returncode == 0, done.stderr
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-500:]
    text = page_text(dom.stdout)
    rows = show_rows("r1", data)
    assert {r[1] for r in rows} == {"local", HAIKU}
    for cells in rows:
        for cell in cells[1:11]:  # student, level, baseline, with skill, lift, CI, p, cases x epochs, errors, verdict
            assert cell in text, (cell, cells)
    statement = " ".join(cli("recommend", "--runs", "r1", "--data-dir", str(data), columns=400).stdout.split()[-40:])
    assert "Deploy anthropic:claude-haiku-4-5 with skill skill-k1" in text
    assert re.search(r"pass rate (\d\.\d{3}) \(95% CI", statement).group(0) in text
    for title in ("Lift per student", "Pass rate per case", "Cost per solved case", "fast_p over speedup"):
        assert title in text
    assert text.count("fast_1") == 4  # one label per student and condition
    shot = tmp_path / "report.png"
    subprocess.run(
        [*base, "--window-size=1000,2600", f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if os.environ.get("SKILLFOUNDRY_UPDATE_SCREENSHOT"):
        shutil.copy(shot, Path(__file__).resolve().parents[2] / "docs" / "report.png")


def test_plots_escape_stored_strings_and_show_values_as_text() -> None:
    from skillfoundry.storage.query import LiftSummary
    from skillfoundry.storage.recommend import ConfigRow

    lift = LiftSummary(
        model=EVIL,
        skill_id="s1",
        level="deterministic",
        sampling_key="k",
        n_cases=12,
        n_epochs=3,
        n_errors=0,
        baseline_pass_rate=0.2,
        skill_pass_rate=0.45,
        lift=0.25,
        ci_low=0.1,
        ci_high=0.4,
        p_value=0.01,
        verdict="helps",
        skill_tokens=1,
        leaks=0,
        non_discriminating=0,
    )
    svg = lift_plot([lift])
    assert EVIL not in svg and "&lt;script&gt;" in svg and "+0.250 [+0.100, +0.400] helps" in svg
    config = ConfigRow(
        model=EVIL,
        condition="baseline",
        skill_id=None,
        sampling_key="k",
        level="deterministic",
        n_cases=3,
        n_graded=9,
        n_solved=3,
        n_errors=0,
        pass_rate=1 / 3,
        ci_low=0.1,
        ci_high=0.6,
        n_answers=9,
        tokens=900,
        usd=0.0,
        gpu_seconds=0.0,
        mean_latency_s=1.0,
        usd_per_solved=0.0,
        tokens_per_solved=300.0,
        gpu_s_per_solved=0.0,
    )
    assert (
        EVIL not in cost_plot([config])
        and "0.333" in cost_plot([config])
        and "tokens per solved case" in cost_plot([config])
    )
    from skillfoundry.report.plots import CaseRates

    assert "0.250 &#8594; 0.750" in case_plot([CaseRates(model=EVIL, case=EVIL, baseline_rate=0.25, skill_rate=0.75)])
    curve = fast_p_curve("m", "with_skill", 4, [0.5, 1.2, 2.5])
    assert dict(curve.points)[0.0] == 0.75 and dict(curve.points)[1.0] == 0.5 and dict(curve.points)[2.5] == 0.0
    assert "fast_1 0.50" in fast_p_plot([curve])
