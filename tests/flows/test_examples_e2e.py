"""The shipped examples measure a lift known in advance, through `skillfoundry eval` on the embedded model.

examples/acme-ports teaches a fact the 135M student cannot guess (every Acme service listens on port
8437); its 12 cases ask for a service's port and check for "8437": the student passes them only with
the skill, so the verdict must be `helps`. examples/acme-ports-internal is the mirror image: the same
knowledge, but its cases are a public help desk's, which must never disclose an internal port
(`not_contains` "8437"): the skill makes the student break that rule, so the verdict must be `hurts`.
The lift, its CI and the sign test are checked against an independent computation from the raw rows.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from skillfoundry.storage.catalog import catalog

pytestmark = pytest.mark.server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def sign_test_p(better: int, worse: int) -> float:
    """Exact two-sided sign test over the cases that changed."""
    n = better + worse
    tail = sum(math.comb(n, k) for k in range(min(better, worse) + 1)) / 2**n
    return min(1.0, 2 * tail)


def case_rates(data: Path, run_id: str) -> dict[str, dict[str, float]]:
    """Pass rate per case and condition from the raw rows: an answer passes when all its grades pass."""
    rows = catalog(data).execute(
        """
        select g.case_id, g.condition, bool_and(gr.passed)
        from generations g join grades gr using (gen_id)
        where g.run_id = ? group by g.gen_id, g.case_id, g.condition
        """,
        [run_id],
    ).fetchall()
    answers: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for case_id, condition, passed in rows:
        answers[case_id][condition].append(passed)
    return {c: {k: sum(v) / len(v) for k, v in by.items()} for c, by in answers.items()}


@pytest.mark.parametrize(("example", "verdict"), [("acme-ports", "helps"), ("acme-ports-internal", "hurts")])
def test_an_example_skill_shows_the_lift_known_in_advance(example: str, verdict: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    # a generous request timeout: on a busy CPU, answers that time out would be errors, not grades
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "SKILLFOUNDRY_REQUEST_TIMEOUT_S": "1800"}
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "skillfoundry", "eval", str(EXAMPLES / example), "--data-dir", str(data),
         "--run-id", "ex"],
        capture_output=True, text=True, env=env, timeout=3000,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ((n_cases, n_epochs, base, skill, lift, ci_low, ci_high, p_value, found),) = catalog(data).execute(
        """
        select n_cases, n_epochs, baseline_pass_rate, skill_pass_rate, lift, ci_low, ci_high, p_value, verdict
        from skill_lift where run_id = 'ex'
        """
    ).fetchall()
    rates = case_rates(data, "ex")
    diffs = [r["with_skill"] - r["baseline"] for r in rates.values()]
    assert (n_cases, n_epochs) == (12, 2) and len(diffs) == 12
    assert base == pytest.approx(sum(r["baseline"] for r in rates.values()) / 12)
    assert skill == pytest.approx(sum(r["with_skill"] for r in rates.values()) / 12)
    assert lift == pytest.approx(sum(diffs) / 12) and lift == pytest.approx(skill - base)
    better, worse = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    assert sign_test_p(better, worse) < 0.05 and p_value < 0.05
    assert found == verdict and verdict in done.stdout
    if verdict == "helps":
        assert 0 < ci_low <= lift <= ci_high <= 1.0 and lift >= 0.5
    else:
        assert -1.0 <= ci_low <= lift <= ci_high < 0 and lift <= -0.5
