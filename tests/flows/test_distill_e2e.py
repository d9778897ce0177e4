"""End to end: `skillfoundry run` on the embedded local model, then the stored tables are checked."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from skillfoundry.config import Settings
from skillfoundry.domain import cuda
from skillfoundry.kernels.gpu import available
from skillfoundry.kernels.problems import list_problems
from skillfoundry.llm.llama_build import ENV_OVERRIDE, ensure_llama_server
from skillfoundry.report.format import lift_cells
from skillfoundry.skills.folder import load_skill
from skillfoundry.skills.validate import validate_skill_dir
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.query import run_lift

pytestmark = pytest.mark.server


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillfoundry", *args], capture_output=True, text=True, env=env, timeout=3000
    )


def cli_on_a_terminal(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``cli`` with stderr on a pseudo-terminal, as a user at a shell sees it (the live display draws there);
    stderr comes back with the terminal's control sequences removed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "skillfoundry", *args], stdout=subprocess.PIPE, stderr=slave,
                            text=True, env=env)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=3000)
    reader.join(timeout=30)
    os.close(master)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", b"".join(chunks).decode(errors="replace"))
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, screen)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect"),
        "COLUMNS": "80",
        "SKILLFOUNDRY_MAX_TOKENS": "96",
        "SKILLFOUNDRY_TEACHER_MAX_TOKENS": "384",
        "SKILLFOUNDRY_TEACHER_MAX_TURNS": "2",  # the 135M teacher: a short trace is enough here
        "SKILLFOUNDRY_REQUEST_TIMEOUT_S": "1800",  # a busy CPU must not turn answers into timeouts
    }
    for name in ("ANTHROPIC_API_KEY", "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"):
        env.pop(name, None)  # as a newcomer runs it: the CLI's own Prefect defaults apply
    data = root / "data"
    done = cli_on_a_terminal("run", "--cases", "3", "--epochs", "2", "--data-dir", str(data), "--run-id", "e2e",
                             env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return data, env, done


def test_query_counts_students_x_cases_x_conditions_x_epochs(finished_run) -> None:
    data, env, _ = finished_run
    out = cli("query", "--data-dir", str(data), "--format", "csv", "select count(*) from generations", env=env)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[-1] == ["12"]


def test_every_generation_has_one_grade_per_grader(finished_run) -> None:
    data, _, _ = finished_run
    con = catalog(data)
    graders = {r[0] for r in con.execute("select distinct grader from grades").fetchall()}
    assert graders == {"kernel"}
    per_gen = con.execute(
        """
        select g.gen_id, count(gr.grade_id) from generations g
        left join grades gr using (gen_id) where g.error_kind is null group by g.gen_id
        """
    ).fetchall()
    assert len(per_gen) == 12 - con.execute("select count(*) from generations where error_kind is not null").fetchone()[0]
    assert all(n == len(graders) for _, n in per_gen)


def test_skill_folder_is_valid_and_named_like_its_folder(finished_run) -> None:
    data, _, done = finished_run
    con = catalog(data)
    (skill_id, name), = con.execute("select skill_id, name from skills where run_id = 'e2e'").fetchall()
    folder = data / "skill_folders" / skill_id / name
    assert f"skill {skill_id} at {folder}\n" in done.stdout  # whole, though longer than the 80 columns
    skill = load_skill(folder)
    assert skill.name == folder.name
    assert [f for f in validate_skill_dir(folder) if f.severity == "error"] == []


def test_one_lift_row_for_the_chosen_skill_over_every_test_case_is_printed(finished_run) -> None:
    """The shape of the lift row; its arithmetic is checked where the lift is known and not 0 vs 0
    (tests/flows/test_examples_e2e.py): the 135M student solves no kernel with or without the skill."""
    data, _, done = finished_run
    con = catalog(data)
    (skill_id,) = con.execute("select skill_id from skills where run_id = 'e2e'").fetchone()
    rows = con.execute("select model, skill_id, n_cases, n_epochs from skill_lift where run_id = 'e2e'").fetchall()
    assert rows == [("local", skill_id, 3, 2)]
    assert "Skill lift" in done.stdout and skill_id in done.stdout


def test_run_prints_no_traceback_nor_error_and_its_result_reads_at_80_columns(finished_run) -> None:
    data, _, done = finished_run
    for stream in (done.stdout, done.stderr):
        assert "Traceback" not in stream and not re.search(r"\bERROR\b", stream), stream[-3000:]
    result = done.stdout[done.stdout.index("Skill lift, run e2e"):].splitlines()
    assert all(len(line) <= 80 for line in result), result
    text = "\n".join(result)
    assert "…" not in text
    (row,) = run_lift(catalog(data), "e2e")
    for value in lift_cells(row):
        assert value in text or value == f"{row.n_cases} x {row.n_epochs}", value


def test_a_terminal_sees_live_progress_of_the_student_and_grading_stages(finished_run) -> None:
    _, _, done = finished_run
    # a bar is NAME, the bar itself (no spaces), DONE/TOTAL; redraws run together once cursor moves are gone
    for name in ("skill extraction", "local baseline", "local with_skill", "grading"):  # done == total
        assert re.search(rf"{name}\s+\S+\s+(\d+)/\1\b", done.stderr), done.stderr[-3000:]
    assert re.search(r"teacher turns \S+\s+\S+\s+[1-9]\d*/2\b", done.stderr), done.stderr[-3000:]
    assert re.search(r"local with_skill\s+\S+\s+6/6 \d+ tok/s\s+\d+ err\s+\$0\.0000", done.stderr), done.stderr[-3000:]


def test_lineage_links_trace_to_skill_to_evaluation(finished_run) -> None:
    data, _, _ = finished_run
    con = catalog(data)
    kinds = set(con.execute("select src_kind || '->' || dst_kind from lineage where run_id = 'e2e'").fetchall())
    assert {("trace->skill",), ("skill->evaluation",)} <= kinds


PREFECT_PROBE = """
import asyncio, json, sys
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

async def main(flow_run_id):
    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        arts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
        tasks = await client.read_task_runs()
        print(json.dumps({"flow": run.state.type.value,
                          "artifacts": sorted(a.key for a in arts if a.key),
                          "tasks": sorted({t.name.rsplit("-", 1)[0] for t in tasks if t.flow_run_id == run.id})}))

asyncio.run(main(sys.argv[1]))
"""


def test_prefect_recorded_the_flow_run_its_tasks_and_artifacts(finished_run) -> None:
    data, env, _ = finished_run
    (flow_run_id,) = catalog(data).execute("select prefect_flow_run_id from runs where run_id = 'e2e'").fetchone()
    assert flow_run_id
    probe = subprocess.run(
        [sys.executable, "-c", PREFECT_PROBE, flow_run_id], capture_output=True, text=True, env=env, timeout=300
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen["flow"] == "COMPLETED"
    assert seen["artifacts"] == ["recommendation", "run-summary", "skill-lift", "skill-lift-report"]
    assert {"capture-trace", "extract-skill", "generate", "grade"} <= set(seen["tasks"])


def test_non_discriminating_cases_are_stored_as_findings(finished_run) -> None:
    data, _, _ = finished_run
    con = catalog(data)
    outcomes = con.execute(
        """
        select g.case_id, list(distinct gr.passed) from generations g join grades gr using (gen_id)
        where g.run_id = 'e2e' group by g.case_id
        """
    ).fetchall()
    expected = {
        (case_id, "always-passes" if seen == [True] else "always-fails") for case_id, seen in outcomes if len(seen) == 1
    }
    found = set(
        con.execute(
            "select case_id, kind from skill_findings where run_id = 'e2e' and kind like 'always-%'"
        ).fetchall()
    )
    assert found == expected


def test_report_writes_an_html_page_for_the_run(finished_run, tmp_path: Path) -> None:
    data, env, _ = finished_run
    out = tmp_path / "report.html"
    done = cli("report", "e2e", "--data-dir", str(data), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "Run e2e" in page and "<svg" in page


def table_shape(data: Path, run_id: str) -> dict[str, object]:
    """What a run stored, keyed by what each row is: skill versions by round, answers by (model, case,
    condition, epoch, skill round). The teacher's practice cases are left out: how many it proposes
    differs from run to run."""
    con = catalog(data)
    rounds = dict(con.execute("select skill_id, round from skills where run_id = ?", [run_id]).fetchall())
    gens = con.execute(
        "select gen_id, model, case_id, condition, epoch, skill_id from generations where run_id = ?", [run_id]
    ).fetchall()
    keys = {g[0]: (g[1], g[2], g[3], g[4], rounds.get(g[5])) for g in gens}
    grades = con.execute("select gen_id, grader, level from grades where run_id = ?", [run_id]).fetchall()
    problems = con.execute(
        "select case_id, split from test_cases where run_id = ? and kind = 'kernel' order by all", [run_id]
    ).fetchall()
    return {
        "skills": sorted(rounds.values()),
        "traces": sorted(r[0] for r in con.execute("select task_id from traces where run_id = ?", [run_id]).fetchall()),
        "cases": problems,
        "generations": sorted(keys.values()),
        "grades": sorted((keys[g[0]], g[1], g[2]) for g in grades),
        "lift": con.execute(
            "select model, n_cases from skill_lift where run_id = ? order by all", [run_id]
        ).fetchall(),
    }


def uninterrupted_shape() -> dict[str, object]:
    """The rows an uninterrupted `run --cases 3 --epochs 2` stores (default seed and one train problem)."""
    train, test = cuda.split_problems(list_problems(), seed=0, n_train=1, n_test=3)
    level = "kernel-gpu" if available() else "kernel-static"
    gens = sorted(
        ("local", cuda.problem_case(p, "test").case_id(), condition, epoch, 0 if condition == "with_skill" else None)
        for p in test
        for condition in ("baseline", "with_skill")
        for epoch in (0, 1)
    )
    return {
        "skills": [0],
        "traces": sorted([train[0].id, "extract-skill"]),
        "cases": sorted(
            [(cuda.problem_case(train[0], "train").case_id(), "train")]
            + [(cuda.problem_case(p, "test").case_id(), "test") for p in test]
        ),
        "generations": gens,
        "grades": sorted((g, "kernel", level) for g in gens),
        "lift": [("local", 3)],
    }


def test_the_uninterrupted_run_stored_exactly_its_rows(finished_run) -> None:
    data, _, _ = finished_run
    assert table_shape(data, "e2e") == uninterrupted_shape()


def held_out_split_stored(data: Path) -> bool:
    files = [str(f) for f in (data / "test_cases").rglob("*.parquet")]
    query = f"select count(*) from read_parquet({files}) where split = 'test'"
    return bool(files) and duckdb.connect().execute(query).fetchone()[0] > 0


def test_a_run_killed_in_the_student_stage_resumes_to_the_rows_of_an_uninterrupted_run(tmp_path: Path) -> None:
    """kill -9 while students answer, then the same command again: the same skill, and exactly the
    rows and the one lift row an uninterrupted run stores. The run has caches of its own (answers,
    kernels), so its student stage takes the model's time and the kill lands inside it; the resume
    reuses what the killed run cached, as a real resume does."""
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "SKILLFOUNDRY_CACHE_DIR": str(tmp_path / "cache"),
        ENV_OVERRIDE: str(ensure_llama_server(Settings().cache_dir)),  # the built server, not a new build
        "SKILLFOUNDRY_MAX_TOKENS": "96",
        "SKILLFOUNDRY_TEACHER_MAX_TOKENS": "384",
        "SKILLFOUNDRY_TEACHER_MAX_TURNS": "2",  # the 135M teacher: a short trace is enough here
        "SKILLFOUNDRY_REQUEST_TIMEOUT_S": "1800",
    }
    env.pop("ANTHROPIC_API_KEY", None)
    args = ["run", "--cases", "3", "--epochs", "2", "--data-dir", str(data), "--run-id", "e2e"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "skillfoundry", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 2400
    while not held_out_split_stored(data) and time.monotonic() < deadline:  # stored just before the student stage
        assert proc.poll() is None, "the run ended before its test split was stored"
        time.sleep(0.2)
    time.sleep(2)
    assert proc.poll() is None, "the run ended before it could be killed in its student stage"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    con = catalog(data)
    (skill_before,), = con.execute("select skill_id from skills where run_id = 'e2e'").fetchall()
    cases_before = con.execute("select case_id from test_cases order by all").fetchall()
    graded = con.execute("select count(distinct gen_id) from grades where run_id = 'e2e'").fetchone()[0]
    assert graded < 12 and con.execute("select count(*) from skill_lift where n_cases > 0").fetchone()[0] == 0
    (status,) = con.execute("select status from runs where run_id = 'e2e'").fetchone()
    assert status == "running"

    resumed = cli(*args, env=env)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    con = catalog(data)
    assert [r[0] for r in con.execute("select skill_id from skills").fetchall()] == [skill_before]
    assert con.execute("select case_id from test_cases order by all").fetchall() == cases_before
    assert f"skill {skill_before}" in resumed.stdout.replace("\n", " ")
    assert con.execute("select skill_id from skill_lift").fetchall() == [(skill_before,)]
    assert table_shape(data, "e2e") == uninterrupted_shape()
