"""Every grade carries its grading level; only answers of the same level pair, and every pass rate and
lift says which level it is (issue 10, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from storage_builders import case_row, gen_row, grade_rows, run_row, synthetic_store

from skillfoundry.report.format import LIFT_HEADERS, lift_cells
from skillfoundry.storage.answers import answered, combine_levels, existing_baselines
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.compact import compact
from skillfoundry.storage.convert import to_arrow
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.query import show_run
from skillfoundry.storage.schemas import WRITTEN_AT, table_spec
from skillfoundry.storage.writer import write_rows
from skillfoundry.tasks.summary import lift_markdown


def write_old_file(root: Path, table: str, rows: list, name: str = "old") -> None:
    """A part file as written before ``level`` and ``written_at`` existed."""
    spec = table_spec(table)
    arrow = to_arrow(spec, rows).drop_columns([c for c in ("level", WRITTEN_AT) if c in spec.schema.names])
    folder = root / table / f"run_id={rows[0].run_id}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow.replace_schema_metadata(spec.metadata), folder / f"part-{name}.parquet")


def test_grades_written_before_levels_read_as_unknown_and_survive_compaction(data_dir: Path) -> None:
    write_rows(data_dir, "runs", [run_row("r", 0)])
    write_rows(data_dir, "test_cases", [case_row("c1")])
    base, skill = gen_row("r", "c1", "baseline", 0), gen_row("r", "c1", "with_skill", 0, skill_id="s")
    write_old_file(data_dir, "generations", [base, skill])
    write_old_file(data_dir, "grades", grade_rows(base, [False]))
    write_old_file(data_dir, "grades", grade_rows(skill, [True]), name="older")
    query = "SELECT level, lift FROM skill_lift"
    assert catalog(data_dir, min_cases=1).execute(query).fetchall() == [("unknown", 1.0)]
    compact(data_dir)
    assert len(list((data_dir / "grades").rglob("*.parquet"))) == 1
    assert catalog(data_dir, min_cases=1).execute(query).fetchall() == [("unknown", 1.0)]


def test_new_grades_must_state_their_level() -> None:
    row = grade_rows(gen_row("r", "c1", "baseline", 0), [True])[0].model_dump()
    with pytest.raises(StorageError, match="level"):
        to_arrow(table_spec("grades"), [{k: v for k, v in row.items() if k != "level"}])
    columns = {k: [v] for k, v in row.items()}
    with pytest.raises(StorageError, match="'level' row 0: value None is not allowed"):
        to_arrow(table_spec("grades"), {**columns, "level": [None]})


def test_only_answers_graded_at_the_same_level_pair(data_dir: Path) -> None:
    write_rows(data_dir, "runs", [run_row("cpu", 0), run_row("gpu", 1)])
    write_rows(data_dir, "test_cases", [case_row("c1")])
    base = gen_row("cpu", "c1", "baseline", 0)  # compiled only: no GPU on that machine
    cpu_skill = gen_row("cpu", "c1", "with_skill", 0, skill_id="s")
    gpu_skill = gen_row("gpu", "c1", "with_skill", 0, skill_id="s")  # correct on a GPU
    write_rows(data_dir, "generations", [base, cpu_skill, gpu_skill])
    grades = grade_rows(base, [True], level="kernel-static") + grade_rows(cpu_skill, [True], level="kernel-static")
    write_rows(data_dir, "grades", grades + grade_rows(gpu_skill, [False], level="kernel-gpu"))
    con = catalog(data_dir, min_cases=1)
    rows = con.execute("SELECT run_id, level, base_n, diff FROM case_lift ORDER BY run_id").fetchall()
    assert rows == [("cpu", "kernel-static", 1, 0.0), ("gpu", "kernel-gpu", 0, None)]
    lift = con.execute("SELECT run_id, level, n_cases FROM skill_lift ORDER BY run_id").fetchall()
    assert lift == [("cpu", "kernel-static", 1), ("gpu", "kernel-gpu", 0)]
    rates = con.execute("SELECT DISTINCT run_id, condition, level FROM pass_rates ORDER BY ALL").fetchall()
    assert rates == [("cpu", "baseline", "kernel-static"), ("cpu", "with_skill", "kernel-static"),
                     ("gpu", "with_skill", "kernel-gpu")]
    # the GPU run does not reuse the CPU-graded baseline, nor count its CPU-graded answers as done
    gpu = {"c1": "kernel-gpu"}
    reuse = existing_baselines(
        data_dir, run_id="gpu", model="local", sampling_key="k1", case_ids=["c1"], epochs=[0], levels=gpu
    )
    assert reuse == frozenset()
    assert existing_baselines(
        data_dir, run_id="gpu", model="local", sampling_key="k1", case_ids=["c1"], epochs=[0],
        levels={"c1": "kernel-static"},
    ) == {("c1", 0)}
    assert answered(data_dir, run_id="cpu", model="local", skill_id="s", sampling_key="k1", levels=gpu) == set()


def test_an_answer_graded_by_several_checks_has_their_combined_level(data_dir: Path) -> None:
    gen = gen_row("r", "c1", "baseline", 0)
    write_rows(data_dir, "generations", [gen])
    grades = grade_rows(gen, [True], level="judged")
    grades += [g.model_copy(update={"grade_id": "x", "level": "deterministic"}) for g in grades]
    write_rows(data_dir, "grades", grades)
    (level,) = catalog(data_dir).execute("SELECT level FROM answers").fetchone()
    assert level == combine_levels(["judged", "deterministic", "judged"]) == "deterministic+judged"


def test_errors_count_under_the_runs_level(data_dir: Path) -> None:
    write_rows(data_dir, "test_cases", [case_row("c1"), case_row("c2")])
    ok = [gen_row("r", c, cond, 0, skill_id="s") for c in ("c1", "c2") for cond in ("baseline", "with_skill")]
    failed = gen_row("r", "c2", "with_skill", 1, skill_id="s", error_kind="timeout")
    write_rows(data_dir, "generations", [*ok, failed])
    write_rows(data_dir, "grades", [g for gen in ok for g in grade_rows(gen, [True], level="kernel-static")])
    lift = catalog(data_dir, min_cases=1).execute("SELECT level, n_cases, n_errors FROM skill_lift").fetchall()
    assert lift == [("kernel-static", 2, 1)]  # one row: the timeout has no level of its own


def test_show_the_prefect_artifact_and_the_cli_name_the_level(data_dir: Path) -> None:
    synthetic_store(data_dir, n_cases=12, epochs=1, runs=1, seed=3).write()
    detail = show_run(data_dir, "run0")
    assert [r.level for r in detail.lift] == ["deterministic"]
    assert "| deterministic |" in lift_markdown("run0", detail.lift)
    cells = dict(zip(LIFT_HEADERS, lift_cells(detail.lift[0]), strict=True))
    cells.pop("cases x epochs")  # the blocks say it in their heading: "12 cases x 1 epochs"
    for columns, table in (("300", True), ("80", False)):  # at 80 columns: blocks, every value whole
        done = subprocess.run([sys.executable, "-m", "skillfoundry", "show", "run0", "--data-dir", str(data_dir)],
                              capture_output=True, text=True, env={**os.environ, "COLUMNS": columns}, timeout=120)
        assert done.returncode == 0, done.stderr
        assert ("┃ skill" in done.stdout) is table and "…" not in done.stdout
        assert all(cell in done.stdout for cell in cells.values()) and "deterministic" in done.stdout
        assert max(len(line) for line in done.stdout.splitlines()) <= int(columns)