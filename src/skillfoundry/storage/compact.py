"""Merge each run partition's small files into one and refresh the rollup of cells.

Safe at every step: a merged file is written (temp + rename) before the files it replaces are
removed, so a crash in between leaves copies that readers count once. A merged file keeps the
winning copy of each row (``views.copy_order``, the rule every reader applies), except in the tables
whose readers look at every copy (``views.KEEP_EVERY_COPY``: the first start of a run; the grades written
for each copy of an answer), where only exact duplicates go; so no query result changes. Then every run whose files
changed since its rollup is counted again and all current cells are written as one rollup file
(``rollup.py``) before the old rollup files are removed.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from skillfoundry.storage.convert import to_arrow
from skillfoundry.storage.files import Inventory, scan
from skillfoundry.storage.rollup import CELLS, CELLS_SCHEMA, SOURCE_TABLES, partition_of, plan_cells, rollup_metadata
from skillfoundry.storage.schemas import TABLES, table_spec
from skillfoundry.storage.views import cells_sql, files_view, merged_rows
from skillfoundry.storage.writer import TEMP_PREFIX, TEMP_SUFFIX, write_atomic, write_partition

STALE_TEMP_S = 3600.0


@dataclass(frozen=True)
class CompactReport:
    """What one compaction did."""

    partitions_merged: int
    files_removed: int
    runs_rolled_up: int
    rollup_files_replaced: int
    temp_files_removed: int


def compact(data_dir: Path | str, *, stale_temp_s: float = STALE_TEMP_S) -> CompactReport:
    """Merge every partition with several files and refresh the rollups; never changes query results."""
    inventory = scan(data_dir)
    merged = removed = 0
    for table in TABLES:
        found = inventory.tables[table]
        by_folder: dict[Path, list[Path]] = defaultdict(list)
        for path in found.files:
            by_folder[path.parent].append(path)
        for folder, files in by_folder.items():
            if len(files) > 1 and folder.name.startswith("run_id="):
                removed += merge_partition(table, found.subset(files))
                merged += 1
    temps = remove_stale_temps(inventory.data_dir, stale_temp_s)
    written, dropped = refresh_rollups(scan(data_dir))
    return CompactReport(merged, removed, written, dropped, temps)


def merge_partition(table: str, layouts: dict[Path, tuple[str, ...]]) -> int:
    """Write the rows of one partition's files (file -> columns) that readers use as one new file, then
    remove the files."""
    spec, files = table_spec(table), sorted(layouts)
    sql = merged_rows(f"({files_view(spec, layouts)})", spec)
    con = duckdb.connect()
    try:
        arrow = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    run_id = files[0].parent.name.removeprefix("run_id=")
    write_partition(files[0].parents[2], spec, run_id, to_arrow(spec, arrow, stored=True))
    for path in files:
        path.unlink(missing_ok=True)  # another compaction may have merged it already
    return len(files)


def remove_stale_temps(data_dir: Path, older_than_s: float) -> int:
    """Remove temp files of interrupted writes that are older than ``older_than_s``."""
    cutoff = time.time() - older_than_s
    count = 0
    for table in (*TABLES, CELLS):
        root = data_dir / table
        if not root.is_dir():
            continue
        for path in root.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                count += 1
    return count


def refresh_rollups(inventory: Inventory) -> tuple[int, int]:
    """Count every run without a current rollup, then write the cells of all runs as one rollup file.

    Returns (runs counted, old rollup files removed). Nothing is written when the one rollup file
    there is already covers every run.
    """
    files = {t: inventory.tables[t].files for t in SOURCE_TABLES}
    plan = plan_cells(files, inventory.rollups)
    if not plan.stale_runs and len(inventory.rollups) <= 1 and all(runs is None for runs in plan.fresh.values()):
        return 0, 0
    by_run: dict[str, dict[str, list[Path]]] = defaultdict(lambda: {t: [] for t in SOURCE_TABLES})
    for table in SOURCE_TABLES:
        for path in plan.pending[table]:
            run_id = partition_of(path)
            if run_id is not None:
                by_run[run_id][table].append(path)
    pieces = [
        count_cells({t: inventory.tables[t].subset(paths) for t, paths in by_run[run_id].items()})
        for run_id in plan.stale_runs
    ]
    kept: list[str] = list(plan.stale_runs)
    for path, runs in plan.fresh.items():
        table = pq.read_table(path, schema=CELLS_SCHEMA)
        if runs is not None:
            table = table.filter(pc.is_in(table.column("run_id"), value_set=pa.array(runs)))
        pieces.append(table)
        kept.extend(runs if runs is not None else inventory.rollups[path])
    sources = {run_id: plan.current[run_id] for run_id in kept}
    combined = pa.concat_tables(pieces).replace_schema_metadata(rollup_metadata(sources))
    folder = inventory.data_dir / CELLS
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(combined, folder / f"part-{uuid.uuid4().hex}.parquet")
    for path in inventory.rollups:
        path.unlink(missing_ok=True)
    return len(plan.stale_runs), len(inventory.rollups)


def count_cells(sources: dict[str, dict[Path, tuple[str, ...]]]) -> pa.Table:
    """The cells of one run from its generation and grade files (table -> file -> columns)."""
    con = duckdb.connect()
    try:
        for table, layouts in sources.items():
            con.execute(f"CREATE VIEW {table} AS {files_view(table_spec(table), layouts)}")
        arrow = con.sql(cells_sql("generations", "grades")).to_arrow_table()
    finally:
        con.close()
    return pa.Table.from_arrays([arrow.column(f.name).cast(f.type) for f in CELLS_SCHEMA], schema=CELLS_SCHEMA)
