"""`skillfoundry eval` on a skill folder with evals/evals.json, graded by text checks and an LLM judge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillfoundry.storage.catalog import catalog

pytestmark = pytest.mark.server

SKILL_MD = """---
name: polite-greeting
description: Greet the user politely and by name. Use when asked to greet someone.
---
Say "Hello" followed by the person's name, then wish them a good day.
"""


def make_skill(root: Path) -> Path:
    folder = root / "polite-greeting"
    (folder / "evals").mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD)
    evals = {
        "skill_name": "polite-greeting",
        "evals": [
            {
                "id": "greet-ada",
                "prompt": "Greet Ada.",
                "expected_output": "Hello Ada, have a good day.",
                "assertions": [
                    {"text": "says hello", "check": {"type": "contains", "values": ["hello"]}},
                    "The answer greets Ada by name.",
                ],
            },
            {
                "id": "greet-bob",
                "prompt": "Greet Bob.",
                "expected_output": "Hello Bob, have a good day.",
                "assertions": [{"text": "names Bob", "check": {"type": "contains", "values": ["bob"]}}],
            },
        ],
    }
    (folder / "evals" / "evals.json").write_text(json.dumps(evals))
    return folder


def run_eval(skill: Path, data: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillfoundry", "eval", str(skill), "--judge", "local", "--epochs", "2",
         "--data-dir", str(data), "--run-id", "ev"],
        capture_output=True, text=True, env=env, timeout=900,
    )


def test_eval_grades_every_answer_with_every_check_and_resumes_without_asking_again(tmp_path: Path) -> None:
    skill = make_skill(tmp_path)
    data = tmp_path / "data"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "SKILLFOUNDRY_MAX_TOKENS": "48"}
    env.pop("ANTHROPIC_API_KEY", None)
    done = run_eval(skill, data, env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    con = catalog(data)
    assert con.execute("select count(*) from generations where run_id = 'ev'").fetchone()[0] == 2 * 2 * 2
    per_grader = dict(con.execute("select grader, count(*) from grades group by grader").fetchall())
    assert per_grader == {"contains": 8, "judge": 4}
    levels = dict(con.execute("select grader, list(distinct level) from grades group by grader").fetchall())
    assert levels == {"contains": ["deterministic"], "judge": ["judged"]}
    infra = con.execute("select detail_json from grades where infra_error").fetchall()
    assert infra == []  # the judge answered every time
    calls = con.execute("select model, input_tokens, output_tokens, cost_usd from grades where grader = 'judge'").fetchall()
    assert {c[0] for c in calls} == {"local"} and all(c[1] > 0 and c[2] > 0 and c[3] == 0.0 for c in calls)
    (judge_in,) = con.execute("select input_tokens from cost where run_id = 'ev' and role = 'judge'").fetchone()
    assert judge_in == sum(c[1] for c in calls)  # every judge call counts in the run's cost
    (flow,) = con.execute("select flow from runs where run_id = 'ev'").fetchone()
    assert flow == "evaluate-skill"
    assert "Skill lift" in done.stdout
    answers = {r[0]: r[1] for r in con.execute("select gen_id, text from generations").fetchall()}

    again = run_eval(skill, data, env)  # same run id: every answer is stored and graded already
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    con = catalog(data)
    assert {r[0]: r[1] for r in con.execute("select gen_id, text from generations").fetchall()} == answers
    assert con.execute("select count(*) from generations").fetchone()[0] == 8
    assert "local with_skill: 0 answers" not in again.stderr  # nothing was even planned
