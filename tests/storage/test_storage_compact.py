"""Compaction: merged files and rollups never change a query result, even after a crash midway."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storage_builders import gen_row, grade_rows, synthetic_store

from skillfoundry.storage.catalog import DERIVED_VIEWS, catalog
from skillfoundry.storage.compact import compact
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.rollup import CELLS
from skillfoundry.storage.schemas import TABLES, table_spec
from skillfoundry.storage.writer import write_rows

VIEWS = (*TABLES, *DERIVED_VIEWS)


def snapshot(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = catalog(root, n_boot=200)
    try:
        return {view: con.execute(f'SELECT * FROM "{view}" ORDER BY ALL').fetchall() for view in VIEWS}
    finally:
        con.close()


def parts(root: Path, table: str) -> list[Path]:
    return sorted((root / table).rglob("*.parquet"))


def write_in_batches(root: Path, seed: int, batches: int) -> None:
    """A store written the way a pipeline with retries writes it: many small, overlapping batches."""
    store = synthetic_store(root, n_cases=8, epochs=2, runs=2, seed=seed, error_rate=0.1)
    for table, rows in (
        ("runs", store.runs),
        ("test_cases", store.cases),
        ("generations", store.gens),
        ("grades", store.grades),
    ):
        size = max(1, len(rows) // batches)
        for start in range(0, len(rows), size):
            write_rows(root, table, rows[start : start + size])
        write_rows(root, table, rows[: size + 1])  # a retried batch


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), batches=st.integers(2, 6))
def test_compaction_preserves_every_query_result(seed: int, batches: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_in_batches(root, seed, batches)
        before = snapshot(root)
        report = compact(root)
        assert report.partitions_merged > 0 and report.runs_rolled_up == 2
        for table in ("generations", "grades"):
            assert len(parts(root, table)) == 2  # one file per run
        assert len(parts(root, CELLS)) == 1  # every run's cells in one rollup file
        assert snapshot(root) == before
        assert compact(root).partitions_merged == 0  # idempotent
        assert snapshot(root) == before


def test_crash_between_merged_write_and_removal_reads_the_same(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_in_batches(data_dir, seed=3, batches=4)
    before = snapshot(data_dir)
    removed: list[Path] = []
    real_unlink = Path.unlink

    def crash_after_one(self: Path, missing_ok: bool = False) -> None:
        if removed:
            raise KeyboardInterrupt("power cut")
        removed.append(self)
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", crash_after_one)
    with pytest.raises(KeyboardInterrupt):
        compact(data_dir)
    monkeypatch.undo()
    assert snapshot(data_dir) == before  # merged copy + leftovers: read once thanks to dedupe
    compact(data_dir)
    assert snapshot(data_dir) == before


def test_new_rows_after_compaction_bypass_the_stale_rollup(data_dir: Path) -> None:
    store = synthetic_store(data_dir, n_cases=6, epochs=2, runs=1, seed=5)
    store.write()
    compact(data_dir)
    extra = gen_row("run0", store.cases[0].case_id, "with_skill", 7, skill_id="skill0")
    write_rows(data_dir, "generations", [extra])
    write_rows(data_dir, "grades", grade_rows(extra, [True]))
    con = catalog(data_dir)
    (n,) = con.execute("SELECT sum(skill_n) FROM case_lift").fetchone()
    assert n == 6 * 2 + 1
    fresh = snapshot(data_dir)
    report = compact(data_dir)
    assert report.runs_rolled_up == 1 and report.rollup_files_replaced == 1
    assert snapshot(data_dir) == fresh


def test_rollup_of_a_run_whose_files_changed_is_not_used(data_dir: Path) -> None:
    store = synthetic_store(data_dir, n_cases=5, epochs=1, runs=2, seed=2)
    store.write()
    compact(data_dir)
    before = snapshot(data_dir)
    for path in parts(data_dir, "grades"):
        if "run_id=run1" in str(path):
            path.unlink()  # a user deletes a run's grades by hand
    after = snapshot(data_dir)
    assert after["grades"] != before["grades"]
    assert {r[0] for r in after["pass_rates"] if r[0] == "run1"} == {"run1"}
    run1 = [r for r in after["pass_rates"] if r[0] == "run1"]
    assert all(r[-1] is None for r in run1)  # nothing graded any more: no pass rate, not a stale one


def test_stale_temp_files_are_removed_and_fresh_ones_kept(data_dir: Path) -> None:
    write_rows(data_dir, "generations", [gen_row("r1", "c", "baseline", 0)])
    folder = data_dir / "generations" / "run_id=r1"
    old, new = folder / ".part-old.tmp", folder / ".part-new.tmp"
    old.write_bytes(b"half")
    new.write_bytes(b"half")
    an_hour_ago = time.time() - 7200
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert compact(data_dir).temp_files_removed == 1
    assert not old.exists() and new.exists()


def test_compaction_refuses_a_foreign_file_before_touching_anything(data_dir: Path) -> None:
    write_rows(data_dir, "generations", [gen_row("r1", "c", "baseline", 0)])
    write_rows(data_dir, "generations", [gen_row("r1", "d", "baseline", 0)])
    (data_dir / "generations" / "run_id=r1" / "part-foreign.parquet").write_bytes(b"not parquet")
    files = sorted(p.name for p in (data_dir / "generations" / "run_id=r1").iterdir())
    with pytest.raises(StorageError, match="part-foreign"):
        compact(data_dir)
    assert sorted(p.name for p in (data_dir / "generations" / "run_id=r1").iterdir()) == files


def test_files_from_before_a_new_nullable_column_read_and_merge(data_dir: Path) -> None:
    spec = table_spec("kernel_builds")
    row = {
        "run_id": "r1",
        "build_id": "b-old",
        "source_sha": "s",
        "arch": "sm_90",
        "options": "",
        "toolkit_version": "13",
        "ok": True,
        "log": "",
        "compile_s": 0.1,
        "cached": False,
    }
    old_schema = pa.schema([f for f in spec.schema if f.name in row or (f.nullable and f.name != "gen_id")])
    old = pa.Table.from_pylist([row], schema=old_schema).replace_schema_metadata(spec.metadata)
    folder = data_dir / "kernel_builds" / "run_id=r1"
    folder.mkdir(parents=True)
    pq.write_table(old, folder / "part-old.parquet")  # written before gen_id existed
    assert snapshot(data_dir)["kernel_builds"] == [  # written_at (second column) is NULL in older files
        ("r1", None, "b-old", None, "s", "sm_90", "", "13", True, "", None, None, None, None, 0.1, False)
    ]
    write_rows(data_dir, "kernel_builds", [row | {"build_id": "b-new", "gen_id": "g1"}])
    before = snapshot(data_dir)
    assert [r[3] for r in before["kernel_builds"]] == ["g1", None]
    assert compact(data_dir).partitions_merged == 1
    assert snapshot(data_dir) == before


def test_crash_while_replacing_the_rollup_reads_the_same(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synthetic_store(data_dir, n_cases=5, epochs=2, runs=2, seed=12).write()
    compact(data_dir)
    synthetic_store(data_dir, n_cases=5, epochs=2, runs=3, seed=13).write()  # a new run, new files for the others
    before = snapshot(data_dir)
    real_unlink = Path.unlink

    def crash_on_rollups(self: Path, missing_ok: bool = False) -> None:
        if CELLS in self.parts:
            raise KeyboardInterrupt("power cut")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", crash_on_rollups)
    with pytest.raises(KeyboardInterrupt):
        compact(data_dir)
    monkeypatch.undo()
    assert len(parts(data_dir, CELLS)) == 2  # the new rollup and the old one, both claiming runs
    assert snapshot(data_dir) == before
    compact(data_dir)
    assert len(parts(data_dir, CELLS)) == 1
    assert snapshot(data_dir) == before
