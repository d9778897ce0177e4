"""Per-run rollups of generations and grades ("cells"), so lift queries skip per-answer work.

A cell counts the answers of one (run, model, skill, condition, sampling key, case). ``compact``
writes one rollup file per run under ``<data_dir>/_cells/run_id=<id>/`` whose metadata records a
fingerprint of the run's generation and grade files. A reader uses a rollup only while that
fingerprint still matches the files on disk; any other run is counted from its raw rows by the
same SQL, so results are identical either way (a generation is its gen_id within its run, and its
grades are the grade rows of that run with that gen_id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from skillfoundry.storage.schemas import INT, META_TABLE, META_VERSION, SCHEMA_VERSION, STR

CELLS = "_cells"
META_SOURCES = b"skillfoundry.sources"
SOURCE_TABLES = ("generations", "grades")
CELLS_SCHEMA = pa.schema(
    [
        pa.field(name, STR, nullable=name == "skill_id")
        for name in ("run_id", "model", "skill_id", "condition", "sampling_key", "case_id")
    ]
    + [
        pa.field(name, INT, nullable=False)
        for name in ("n_gens", "n_errors", "n_ungraded", "n_graded", "n_passed", "n_epochs")
    ]
)


def partition_of(path: Path) -> str | None:
    """The run id of a part file from its ``run_id=<id>`` folder, or None outside such a folder."""
    name = path.parent.name
    return name.removeprefix("run_id=") if name.startswith("run_id=") else None


def fingerprint(files: Iterable[Path]) -> str:
    """A hash of the names and sizes of a run's generation and grade files."""
    entries = sorted(f"{p.parent.parent.name}/{p.name}:{p.stat().st_size}" for p in files)
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def rollup_metadata(sources: str) -> dict[bytes, bytes]:
    return {META_TABLE: CELLS.encode(), META_VERSION: str(SCHEMA_VERSION).encode(), META_SOURCES: sources.encode()}


@dataclass(frozen=True)
class CellPlan:
    """Current rollup files, the generation/grade files to count raw, and the runs without a rollup."""

    fresh: list[Path]
    pending: dict[str, list[Path]]
    stale_runs: list[str]


def plan_cells(files_by_table: Mapping[str, Iterable[Path]], rollups: Iterable[tuple[Path, str, str]]) -> CellPlan:
    """Split the runs into those with a current rollup and those to count from raw rows.

    ``rollups`` holds (path, run_id, sources fingerprint) of every rollup file found. Files
    outside a ``run_id=`` folder are always counted raw.
    """
    by_run: dict[str, dict[str, list[Path]]] = {}
    pending: dict[str, list[Path]] = {table: [] for table in SOURCE_TABLES}
    for table in SOURCE_TABLES:
        for path in files_by_table.get(table, ()):
            run_id = partition_of(path)
            if run_id is None:
                pending[table].append(path)
            else:
                by_run.setdefault(run_id, {t: [] for t in SOURCE_TABLES})[table].append(path)
    current = {run_id: fingerprint(p for paths in tables.values() for p in paths) for run_id, tables in by_run.items()}
    fresh: dict[str, Path] = {}
    for path, run_id, sources in sorted(rollups):
        if current.get(run_id) == sources and run_id not in fresh:
            fresh[run_id] = path
    stale = sorted(run_id for run_id in by_run if run_id not in fresh)
    for run_id in stale:
        for table, paths in by_run[run_id].items():
            pending[table].extend(paths)
    return CellPlan(sorted(fresh.values()), {t: sorted(p) for t, p in pending.items()}, stale)
