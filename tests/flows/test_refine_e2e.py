"""Refinement in `distill`: new skill versions from TRAIN failures, the best on train is evaluated on test.

Whether the 135M teacher's revision differs from the original is up to the model, so both outcomes are
checked exactly: a changed revision is a child version; an unchanged one adds no version and no edge.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillfoundry.storage.catalog import catalog

pytestmark = pytest.mark.server


def test_refinement_makes_a_child_version_and_evaluates_the_best_on_train(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "SKILLFOUNDRY_MAX_TOKENS": "64",
        "SKILLFOUNDRY_TEACHER_MAX_TOKENS": "256",
        "SKILLFOUNDRY_TEACHER_MAX_TURNS": "2",  # the 135M teacher: a short trace is enough here
    }
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "skillfoundry", "run", "--cases", "1", "--epochs", "1", "--train-cases", "1",
         "--refine-rounds", "1", "--data-dir", str(data), "--run-id", "rf"],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    con = catalog(data)
    versions = con.execute("select skill_id, parent_skill_id, round from skills order by round").fetchall()
    refine_traces = con.execute("select count(*) from traces where task_id like 'refine-skill-%'").fetchone()[0]
    assert refine_traces == 1  # the teacher was shown the train failures once
    skill_edges = con.execute("select src_id, dst_id from lineage where src_kind = 'skill' and dst_kind = 'skill'").fetchall()
    if len(versions) == 1:  # the teacher's revision was identical: no new version, no self-edge
        assert versions[0][2] == 0 and skill_edges == []
    else:
        assert [v[2] for v in versions] == [0, 1]
        assert versions[1][1] == versions[0][0]
        assert skill_edges == [(versions[0][0], versions[1][0])]
    # over every train case, whatever its grading level (the kernel problem and the text practice cases
    # are graded at different levels, so the view has a row per level); one epoch: a case is one answer
    train_rates = dict(
        con.execute(
            """
            select p.skill_id, sum(p.pass_rate * p.n_cases) / sum(p.n_cases) from pass_rates p
            where p.split = 'train' and p.condition = 'with_skill' group by p.skill_id
            """
        ).fetchall()
    )
    assert set(train_rates) == {v[0] for v in versions}
    (tested,) = con.execute("select distinct skill_id from skill_lift where run_id = 'rf'").fetchone()
    best = max(versions, key=lambda v: (train_rates[v[0]], -v[2]))[0]
    assert tested == best
    test_ids = {r[0] for r in con.execute("select case_id from test_cases where split = 'test'").fetchall()}
    train_ids = {r[0] for r in con.execute("select case_id from test_cases where split = 'train'").fetchall()}
    assert test_ids and train_ids and not test_ids & train_ids
