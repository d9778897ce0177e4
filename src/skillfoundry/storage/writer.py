"""Append validated rows to ``<data_dir>/<table>/run_id=<id>/part-<uuid>.parquet``, atomically.

Each call writes one file per run partition: first to a hidden temp file (``.part-<uuid>.tmp``,
invisible to readers, which only glob ``*.parquet``), then renamed into place. A crash leaves
either nothing visible or the whole file. Ids are deterministic, so a retried batch may land
twice; readers keep one row per id: the latest written (``written_at``, stamped here on every row of
a call, strictly increasing within a process), see ``views.py``.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from skillfoundry.storage.convert import Rows, to_arrow
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.schemas import TIME, WRITTEN_AT, TableSpec, table_spec

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]{0,199}")
TEMP_PREFIX = ".part-"
TEMP_SUFFIX = ".tmp"
COMPRESSION = "zstd"
_clock = threading.Lock()
_last_stamp = datetime.min.replace(tzinfo=UTC)


def write_stamp() -> datetime:
    """Now (UTC, microseconds), strictly later than any stamp this process handed out before."""
    global _last_stamp
    with _clock:
        _last_stamp = max(datetime.now(UTC), _last_stamp + timedelta(microseconds=1))
        return _last_stamp


def write_rows(data_dir: Path | str, table: str, rows: Rows) -> list[Path]:
    """Validate ``rows`` for ``table`` and append them, one new Parquet file per run_id; return the files."""
    spec = table_spec(table)
    arrow = to_arrow(spec, rows)
    if arrow.num_rows == 0:
        return []
    stamp = pa.array([write_stamp()], type=TIME).take(np.zeros(arrow.num_rows, dtype=np.int64))
    arrow = arrow.set_column(arrow.schema.get_field_index(WRITTEN_AT), spec.schema.field(WRITTEN_AT), stamp)
    run_ids = arrow.column("run_id")
    unique = pc.unique(run_ids)
    if len(unique) == 1:
        return [write_partition(Path(data_dir), spec, unique[0].as_py(), arrow)]
    return [
        write_partition(Path(data_dir), spec, run_id, arrow.filter(pc.equal(run_ids, run_id)))
        for run_id in sorted(unique.to_pylist())
    ]


def partition_dir(data_dir: Path, table: str, run_id: str) -> Path:
    """The folder of one run's files of one table; a StorageError if the run id is not path-safe."""
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise StorageError(
            f"{table}: run_id {run_id!r} is not usable as a folder name "
            "(expected letters, digits and _ . : + -, starting with a letter or digit, at most 200 chars)"
        )
    return data_dir / table / f"run_id={run_id}"


def write_partition(data_dir: Path, spec: TableSpec, run_id: str, arrow: pa.Table) -> Path:
    """Write one already-validated table of one run as a new part file (temp file, fsync, rename)."""
    folder = partition_dir(data_dir, spec.name, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    final = folder / f"part-{name}.parquet"
    return write_atomic(arrow.replace_schema_metadata(spec.metadata), final)


def write_atomic(arrow: pa.Table, final: Path) -> Path:
    """Write ``arrow`` to ``final`` through a hidden temp file in the same folder; never a half file."""
    temp = final.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}")
    try:
        with open(temp, "wb") as handle:
            pq.write_table(arrow, handle, compression=COMPRESSION)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return final


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
