"""Queries, run listings, the CLI commands, baseline reuse and the schema contract."""

from __future__ import annotations

import csv
import io
import json
import typing
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import typer
from storage_builders import Store, case_row, gen_row, grade_rows, run_row, synthetic_store
from typer.testing import CliRunner

from skillfoundry.storage.answers import existing_baselines
from skillfoundry.storage.cli import register
from skillfoundry.storage.query import list_runs, run_query, show_run
from skillfoundry.storage.rollup import CELLS
from skillfoundry.storage.schemas import LATE_REQUIRED, TABLES, table_spec
from skillfoundry.storage.views import DUCK_TYPES


@pytest.fixture
def filled(data_dir: Path) -> Path:
    synthetic_store(data_dir, n_cases=12, epochs=2, runs=2, seed=8, skill_effect=0.3).write()
    return data_dir


def test_run_query_formats_agree(filled: Path, tmp_path: Path) -> None:
    sql = "SELECT run_id, n_cases, lift FROM skill_lift ORDER BY run_id"
    as_json = json.loads(run_query(filled, sql, "json"))
    as_csv = list(csv.DictReader(io.StringIO(run_query(filled, sql, "csv"))))
    assert [r["run_id"] for r in as_json] == ["run0", "run1"] == [r["run_id"] for r in as_csv]
    assert [float(r["lift"]) for r in as_csv] == pytest.approx([r["lift"] for r in as_json])
    table = run_query(filled, sql, "table")
    assert "run0" in table and "lift" in table
    out = tmp_path / "lift.parquet"
    assert run_query(filled, sql, "parquet", out) == f"wrote 2 rows to {out}"
    assert pq.read_table(out).column("lift").to_pylist() == pytest.approx([r["lift"] for r in as_json])
    text_out = tmp_path / "lift.csv"
    assert run_query(filled, sql, "csv", text_out) == text_out.read_text()


def test_list_and_show_runs(filled: Path) -> None:
    runs = list_runs(filled)
    assert [r.run_id for r in runs] == ["run1", "run0"]  # newest first
    assert runs[1].n_generations == 12 * 2 * 2 and runs[1].models == ["local"]
    detail = show_run(filled, "run0", min_cases=5)
    assert detail.config == {"seed": 1}
    (lift,) = detail.lift
    assert lift.n_cases == 12 and lift.verdict in {"helps", "inconclusive"} and lift.ci_low <= lift.lift <= lift.ci_high
    assert [(c.model, c.role) for c in detail.cost] == [("local", "student")]


def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


def test_cli_commands(filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("SKILLFOUNDRY_DATA_DIR", str(filled))  # --data-dir defaults to the settings
    result = runner.invoke(app(), ["query", "SELECT count(*) AS n FROM generations", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["n", str(12 * 2 * 2 + 12 * 2)]
    result = runner.invoke(app(), ["runs", "--data-dir", str(filled)])
    assert result.exit_code == 0 and "run0" in result.output and "run1" in result.output
    result = runner.invoke(app(), ["show", "run1"])
    assert result.exit_code == 0 and "Skill lift" in result.output and "Config" in result.output
    db = tmp_path / "store.duckdb"
    result = runner.invoke(app(), ["db", str(db)])
    assert result.exit_code == 0 and db.exists()
    assert duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM skill_lift").fetchone() == (2,)
    result = runner.invoke(app(), ["compact"])
    assert result.exit_code == 0 and "rolled up 2 runs" in result.output
    assert len(list((filled / CELLS).rglob("*.parquet"))) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["query", "SELECT * FROM missing_table"],
        ["show", "no-such-run"],
        ["runs", "--data-dir", "/nonexistent/skillfoundry"],
        ["query", "SELECT 1", "--format", "xml"],
    ],
)
def test_cli_errors_are_one_line_and_exit_2(filled: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLFOUNDRY_DATA_DIR", str(filled))
    result = CliRunner().invoke(app(), args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")


def test_existing_baselines_lists_usable_baselines_only(data_dir: Path) -> None:
    store = Store(data_dir, runs=[run_row("r1", 0)], cases=[case_row("c1"), case_row("c2")])
    graded = [
        gen_row("r1", "c1", "baseline", 0),
        gen_row("r1", "c1", "baseline", 1),
        gen_row("r1", "c2", "baseline", 0),
    ]
    store.gens = [
        *graded,
        gen_row("r1", "c2", "baseline", 1, error_kind="timeout"),  # infra error: ask again
        gen_row("r1", "c2", "baseline", 2),  # not graded yet
        gen_row("r1", "c1", "with_skill", 2, skill_id="s"),  # not a baseline
        gen_row("r1", "c1", "baseline", 2, model="other"),  # another student
        gen_row("r1", "c1", "baseline", 3, key="k2"),  # other sampling
    ]
    for gen in [*graded, store.gens[-3], store.gens[-2], store.gens[-1]]:
        store.grades += grade_rows(gen, [False])
    store.write()
    def have(root: Path, cases: list[str], epochs: Iterable[int]) -> frozenset[tuple[str, int]]:
        return existing_baselines(root, run_id="r1", model="local", sampling_key="k1", case_ids=cases, epochs=epochs)

    assert have(data_dir, ["c1", "c2", "c3"], range(4)) == {("c1", 0), ("c1", 1), ("c2", 0)}
    assert have(data_dir, ["c1"], [1]) == {("c1", 1)}
    assert have(data_dir, [], [0]) == set()
    assert have(data_dir / "fresh", ["c1"], [0]) == set()


def test_explicit_schemas_match_the_models() -> None:
    for table in TABLES:
        spec = table_spec(table)
        assert spec.schema.names == list(spec.model.model_fields), table
        for field in spec.schema:
            info = spec.model.model_fields[field.name]
            optional = type(None) in typing.get_args(info.annotation) or (table, field.name) in LATE_REQUIRED
            assert field.nullable == optional, (table, field.name)
            assert field.type in DUCK_TYPES
        assert spec.id_column in spec.schema.names
