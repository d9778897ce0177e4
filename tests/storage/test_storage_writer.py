"""Writers: round trip of every table, dedupe of retried batches, atomic files, one-line errors."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storage_builders import gen_row, grade_rows
from storage_strategies import row_dicts

from skillfoundry.storage import writer
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.schemas import META_TABLE, META_VERSION, SCHEMA_VERSION, TABLES, WRITTEN_AT, table_spec
from skillfoundry.storage.writer import write_rows

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_table(root: Path, table: str) -> list[dict[str, Any]]:
    con = catalog(root)
    try:
        result = con.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        con.close()


def by_id(rows: list[dict[str, Any]], table: str) -> dict[Any, dict[str, Any]]:
    """Rows by id, without the write stamp (checked on its own: set on every row read back)."""
    key = table_spec(table).id_column
    return {row[key]: {k: v for k, v in row.items() if k != WRITTEN_AT} for row in rows}


@pytest.mark.parametrize("table", TABLES)
@SETTINGS
@given(data=st.data())
def test_round_trip_of_every_table(table: str, data: st.DataObject) -> None:
    spec = table_spec(table)
    rows = data.draw(row_dicts(spec))
    as_records = data.draw(st.booleans())
    with tempfile.TemporaryDirectory() as tmp:
        batch = [spec.model.model_validate(r) for r in rows] if as_records else rows
        files = write_rows(tmp, table, batch)
        assert {p.parent.name for p in files} == {f"run_id={r['run_id']}" for r in rows}
        read = read_table(Path(tmp), table)
        got = by_id(read, table)
    assert all(row[WRITTEN_AT] is not None for row in read)
    assert got == by_id([spec.model.model_validate(r).model_dump() for r in rows], table)


@pytest.mark.parametrize("table", ["generations", "grades", "runs", "test_cases"])
@SETTINGS
@given(data=st.data(), copies=st.integers(min_value=2, max_value=4))
def test_retried_batches_are_read_once(table: str, data: st.DataObject, copies: int) -> None:
    spec = table_spec(table)
    rows = data.draw(row_dicts(spec))
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(copies):
            write_rows(tmp, table, rows)
        got = read_table(Path(tmp), table)
    expected = [spec.model.model_validate(r).model_dump() for r in rows]
    assert len(got) == len(expected)
    assert by_id(got, table) == by_id(expected, table)


def test_columnar_and_arrow_paths_equal_the_record_path(data_dir: Path) -> None:
    gens = [gen_row("r1", f"c{i}", "baseline", i % 2) for i in range(5)]
    records = pa.Table.from_pylist([g.model_dump() for g in gens])
    columns = {name: records.column(name).to_pylist() for name in records.column_names}
    paths = [
        write_rows(data_dir / name, "generations", batch)[0]
        for name, batch in (("a", gens), ("b", records), ("c", columns))
    ]
    tables = [pq.read_table(p) for p in paths]
    assert tables[0].schema.remove_metadata().equals(table_spec("generations").schema)
    stamps = [t.column(WRITTEN_AT)[0].as_py() for t in tables]
    assert stamps[0] < stamps[1] < stamps[2]  # every write is stamped later than the one before
    tables = [t.drop_columns([WRITTEN_AT]) for t in tables]
    assert tables[0].equals(tables[1]) and tables[1].equals(tables[2])


def test_defaults_fill_missing_columns_in_columnar_batches(data_dir: Path) -> None:
    write_rows(
        data_dir,
        "traces",
        {
            "run_id": ["r"],
            "trace_id": ["t"],
            "task_id": ["p"],
            "model": ["local"],
            "messages_json": ["[]"],
            "tool_calls": [0],
            "turns": [1],
            "input_tokens": [1],
            "output_tokens": [2],
            "cost_usd": [0.0],
            "latency_s": [0.1],
        },
    )
    (row,) = read_table(data_dir, "traces")
    assert row["final_text"] == "" and row["stop_reason"] is None


def test_files_are_zstd_parquet_with_schema_version(data_dir: Path) -> None:
    (path,) = write_rows(data_dir, "grades", grade_rows(gen_row("r9", "c", "baseline", 0), [True]))
    assert path.parent == data_dir / "grades" / "run_id=r9"
    assert path.name.startswith("part-") and path.suffix == ".parquet"
    meta = pq.read_metadata(path)
    assert meta.metadata[META_VERSION] == str(SCHEMA_VERSION).encode()
    assert meta.metadata[META_TABLE] == b"grades"
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_empty_batch_writes_nothing(data_dir: Path) -> None:
    assert write_rows(data_dir, "generations", []) == []
    assert not (data_dir / "generations").exists()


def test_failed_rename_leaves_the_table_unchanged(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = [gen_row("r1", "c1", "baseline", 0)]
    write_rows(data_dir, "generations", first)
    before = read_table(data_dir, "generations")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writer.os, "replace", fail)
    with pytest.raises(OSError):
        write_rows(data_dir, "generations", [gen_row("r1", "c2", "baseline", 0)])
    monkeypatch.undo()
    assert read_table(data_dir, "generations") == before
    assert sorted(p.name for p in (data_dir / "generations" / "run_id=r1").iterdir()) == sorted(
        p.name for p in (data_dir / "generations" / "run_id=r1").glob("part-*.parquet")
    )


def test_crash_before_rename_leaves_an_invisible_temp_file(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_rows(data_dir, "generations", [gen_row("r1", "c1", "baseline", 0)])
    before = read_table(data_dir, "generations")

    class Crash(BaseException):
        """Stands for the process dying: nothing after it runs, not even cleanup."""

    def crash(src: str, dst: str) -> None:
        raise Crash

    monkeypatch.setattr(writer.os, "replace", crash)
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: None)  # the dead process cleans nothing
    with pytest.raises(Crash):
        write_rows(data_dir, "generations", [gen_row("r1", "c2", "baseline", 0)])
    monkeypatch.undo()
    temps = list((data_dir / "generations" / "run_id=r1").glob(".part-*"))
    assert len(temps) == 1 and not temps[0].name.endswith(".parquet")
    assert read_table(data_dir, "generations") == before


def test_half_written_temp_file_is_ignored(data_dir: Path) -> None:
    write_rows(
        data_dir,
        "runs",
        [
            {
                "run_id": "r1",
                "flow": "f",
                "started_at": datetime(2025, 1, 1, tzinfo=UTC),
                "status": "running",
                "config_json": "{}",
            }
        ],
    )
    before = read_table(data_dir, "runs")
    (data_dir / "runs" / "run_id=r1" / ".part-deadbeef.tmp").write_bytes(b"PAR1\x00\x01half")
    assert read_table(data_dir, "runs") == before


BAD_ROWS = [
    ("generations", {"epoch": "three"}, ["generations", "epoch", "three"]),
    ("generations", {"condition": "skill"}, ["generations", "condition", "skill"]),
    ("generations", {"error_kind": "meltdown"}, ["generations", "error_kind", "meltdown"]),
    ("generations", {"latency_s": "fast"}, ["generations", "latency_s", "fast"]),
    ("generations", {"model": None}, ["generations", "model", "None"]),
    ("generations", {"surprise": 1}, ["generations", "surprise"]),
]


MIXED = ("three", "fast")  # an Arrow table cannot even hold these next to numbers
CASES = [
    (shape, *case)
    for shape in ("records", "columns", "arrow")
    for case in BAD_ROWS
    if shape != "arrow" or next(iter(case[1].values())) not in MIXED
]


@pytest.mark.parametrize(("shape", "table", "change", "named"), CASES)
def test_rows_that_do_not_fit_raise_one_line_errors(
    data_dir: Path, shape: str, table: str, change: dict[str, Any], named: list[str]
) -> None:
    rows = [gen_row("r1", f"c{i}", "baseline", 0).model_dump() for i in range(3)]
    rows[1].update(change)
    columns = {k: [r.get(k) for r in rows] for k in rows[1]}
    if shape == "columns":
        batch: Any = columns
    elif shape == "arrow":
        batch = pa.table(columns)
    else:
        batch = rows
    with pytest.raises(StorageError) as err:
        write_rows(data_dir, table, batch)
    message = str(err.value)
    assert "\n" not in message
    for word in named:
        assert word in message
    assert not (data_dir / table).exists() or not list((data_dir / table).rglob("*.parquet"))


@SETTINGS
@given(
    value=st.one_of(st.text(max_size=5), st.floats(allow_nan=False).filter(lambda f: not f.is_integer()), st.booleans())
)
def test_any_non_integer_epoch_is_refused(value: Any) -> None:
    row = gen_row("r1", "c", "baseline", 0).model_dump() | {"epoch": value}
    with tempfile.TemporaryDirectory() as tmp, pytest.raises(StorageError) as err:
        write_rows(tmp, "generations", {k: [v] for k, v in row.items()})
    assert "epoch" in str(err.value) and "\n" not in str(err.value)


def test_unknown_table_and_unsafe_run_id(data_dir: Path) -> None:
    with pytest.raises(StorageError, match="unknown table 'gens'"):
        write_rows(data_dir, "gens", [])
    with pytest.raises(StorageError, match=r"run_id '\.\./x'"):
        write_rows(data_dir, "generations", [gen_row("../x", "c", "baseline", 0)])


def test_a_record_of_another_table_is_refused(data_dir: Path) -> None:
    with pytest.raises(StorageError, match="grades: row 0: a GenerationRecord is not a grades row"):
        write_rows(data_dir, "grades", [gen_row("r1", "c", "baseline", 0)])


def test_writer_leaves_no_temp_files_after_success(data_dir: Path) -> None:
    write_rows(data_dir, "generations", [gen_row(f"r{i}", "c", "baseline", 0) for i in range(3)])
    names = [p.name for p in (data_dir / "generations").rglob("*")]
    assert not [n for n in names if n.startswith(".")]
    assert sorted(os.listdir(data_dir / "generations")) == ["run_id=r0", "run_id=r1", "run_id=r2"]
