"""End to end: `skillfoundry run` on the embedded local model, then the stored tables are checked."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from run_shapes import table_shape, uninterrupted_shape
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


def test_the_uninterrupted_run_stored_exactly_its_rows(finished_run) -> None:
    data, _, _ = finished_run
    assert table_shape(data, "e2e") == uninterrupted_shape()
