"""Bad input to reads: one-line errors naming the file, table, column or folder; nothing modified."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from storage_builders import gen_row, synthetic_store

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.query import run_query
from skillfoundry.storage.schemas import table_spec
from skillfoundry.storage.writer import write_rows


def one_line(err: pytest.ExceptionInfo[StorageError]) -> str:
    message = str(err.value)
    assert "\n" not in message and message
    return message


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as err:
        catalog(tmp_path / "nowhere")
    assert "nowhere" in one_line(err) and "does not exist" in one_line(err)
    with pytest.raises(StorageError, match="not a folder"):
        (tmp_path / "file").write_text("x")
        catalog(tmp_path / "file")


def test_foreign_parquet_file_is_named(data_dir: Path) -> None:
    write_rows(data_dir, "generations", [gen_row("r1", "c", "baseline", 0)])
    foreign = data_dir / "generations" / "run_id=r1" / "part-other.parquet"
    pq.write_table(pa.Table.from_pylist([gen_row("r1", "d", "baseline", 0).model_dump()]), foreign)
    with pytest.raises(StorageError) as err:
        catalog(data_dir)
    assert str(foreign) in one_line(err) and "schema-version" in one_line(err)


def test_corrupt_file_is_named(data_dir: Path) -> None:
    synthetic_store(data_dir, n_cases=2, runs=1).write()
    bad = data_dir / "grades" / "run_id=run0" / "part-broken.parquet"
    bad.write_bytes(b"PAR1 this is not really parquet PAR1")
    with pytest.raises(StorageError) as err:
        catalog(data_dir)
    assert str(bad) in one_line(err)


def test_file_of_another_table_is_named(data_dir: Path) -> None:
    (path,) = write_rows(data_dir, "generations", [gen_row("r1", "c", "baseline", 0)])
    target = data_dir / "grades" / "run_id=r1"
    target.mkdir(parents=True)
    moved = target / path.name
    shutil.copy(path, moved)
    with pytest.raises(StorageError) as err:
        catalog(data_dir)
    assert str(moved) in one_line(err) and "'generations'" in one_line(err)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.append_column("surprise", pa.array([1])), "column 'surprise' is not in table"),
        (lambda t: t.drop_columns(["case_id"]), "required column 'case_id'"),
        (
            lambda t: t.set_column(t.schema.get_field_index("epoch"), "epoch", pa.array(["0"])),
            "column 'epoch' is string",
        ),
    ],
)
def test_columns_that_do_not_match_are_named(data_dir: Path, change, expected: str) -> None:  # type: ignore[no-untyped-def]
    spec = table_spec("generations")
    table = pa.Table.from_pylist([gen_row("r1", "c", "baseline", 0).model_dump()], schema=spec.schema)
    path = data_dir / "generations" / "run_id=r1" / "part-odd.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(change(table).replace_schema_metadata(spec.metadata), path)
    with pytest.raises(StorageError) as err:
        catalog(data_dir)
    assert str(path) in one_line(err) and expected in one_line(err)


def test_newer_schema_version_is_refused(data_dir: Path) -> None:
    (path,) = write_rows(data_dir, "generations", [gen_row("r1", "c", "baseline", 0)])
    table = pq.read_table(path)
    meta = dict(table.schema.metadata) | {b"skillfoundry.schema_version": b"99"}
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(StorageError, match="schema version '99' is not supported"):
        catalog(data_dir)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM nope", "nope"),
        ("SELECT nope FROM skill_lift", "nope"),
        ("SELEC 1", "syntax"),
        ("DROP VIEW runs", "only SELECT"),
        ("COPY runs TO '/tmp/x.csv'", "only SELECT"),
        ("SELECT 1; SELECT 2", "one statement"),
    ],
)
def test_bad_queries_are_one_line_errors(data_dir: Path, sql: str, expected: str) -> None:
    with pytest.raises(StorageError) as err:
        run_query(data_dir, sql)
    assert expected in one_line(err)


LIFT_COLUMNS = {
    "run_id",
    "model",
    "skill_id",
    "sampling_key",
    "split",
    "n_cases",
    "n_epochs",
    "n_generations",
    "n_errors",
    "baseline_pass_rate",
    "skill_pass_rate",
    "lift",
    "ci_low",
    "ci_high",
    "p_value",
    "verdict",
}


@settings(max_examples=30, deadline=None)
@given(name=st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(lambda n: n not in LIFT_COLUMNS))
def test_any_unknown_column_is_a_one_line_error(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.raises(StorageError) as err:
        run_query(tmp, f'SELECT "{name}" FROM skill_lift')
    assert name in one_line(err)


def test_bad_format_and_parquet_without_out(data_dir: Path) -> None:
    with pytest.raises(StorageError, match="format 'xml'"):
        run_query(data_dir, "SELECT 1", "xml")  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="needs an output file"):
        run_query(data_dir, "SELECT 1", "parquet")
