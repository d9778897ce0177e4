"""End to end on the embedded model: import KernelBench level 1, `run --suite kernelbench-l1` (compile-level
grading on CPU), then `export inspect` and read the logs back with inspect_ai."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillfoundry.storage.catalog import catalog

pytestmark = [pytest.mark.server, pytest.mark.timeout(1800)]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "kernelbench"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillfoundry", *args], capture_output=True, text=True, env=env, timeout=1500
    )


def test_kernelbench_level1_run_end_to_end_and_export(tmp_path: Path) -> None:
    read_eval_log = pytest.importorskip("inspect_ai.log").read_eval_log
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "SKILLFOUNDRY_MAX_TOKENS": "96",
        "SKILLFOUNDRY_TEACHER_MAX_TOKENS": "384",
        "SKILLFOUNDRY_TEACHER_MAX_TURNS": "2",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",  # a loaded shared machine starts it slowly
    }
    env.pop("ANTHROPIC_API_KEY", None)
    data = tmp_path / "data"
    imported = cli("kernels", "import-kernelbench", str(FIXTURES), "--level", "1", "--data-dir", str(data), env=env)
    assert imported.returncode == 0, imported.stderr
    args = ["--suite", "kernelbench-l1", "--cases", "2", "--train-cases", "1", "--epochs", "1"]
    done = cli("run", *args, "--data-dir", str(data), "--run-id", "kb", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    con = catalog(data)
    problems = con.execute("select problem_id from test_cases where run_id = 'kb' and kind = 'kernel'").fetchall()
    assert len(problems) == 3 and all(p.startswith("kb-l1-") for (p,) in problems)
    grades = con.execute(
        "select distinct grader, level from grades gr join generations g using (gen_id) "
        "join test_cases t on t.case_id = g.case_id where g.run_id = 'kb' and t.kind = 'kernel'"
    ).fetchall()
    assert grades == [("kernelbench", "kernel-static")]
    n_gens = dict(
        con.execute("select condition, count(*) from generations where run_id = 'kb' group by condition").fetchall()
    )

    out = tmp_path / "logs"
    exported = cli("export", "inspect", "kb", "--out", str(out), "--data-dir", str(data), env=env)
    assert exported.returncode == 0, exported.stderr
    logs = [read_eval_log(str(p)) for p in sorted(out.glob("*.eval"))]
    assert sorted(log.eval.metadata["condition"] for log in logs) == ["baseline", "with_skill"]
    for log in logs:
        assert log.eval.model == "local"
        assert len(log.samples) == n_gens[log.eval.metadata["condition"]]
        assert all(s.model_usage["local"].output_tokens > 0 for s in log.samples if s.error is None)
