"""Rollups of generations and grades per run ("cells"), so lift queries skip per-answer work.

A cell counts the answers of one (run, model, skill, condition, sampling key, case). ``compact``
keeps the cells of every run in one rollup file, ``<data_dir>/_cells/part-<uuid>.parquet``, whose
metadata maps each run id to a fingerprint of that run's generation and grade files. A reader takes
a run's cells from a rollup only while the fingerprint still matches the files on disk; any other
run is counted from its raw rows by the same SQL, so results are identical either way (a
generation is its gen_id within its run, and its grades are the grade rows of that run with that
gen_id).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from skillfoundry.storage.schemas import INT, META_TABLE, META_VERSION, SCHEMA_VERSION, STR

CELLS = "_cells"
META_SOURCES = b"skillfoundry.sources"
META_ROLLUP_VERSION = b"skillfoundry.rollup_version"
#: Bumped whenever what a cell counts changes; a rollup of another version is ignored and replaced by ``compact``.
ROLLUP_VERSION = "2"
SOURCE_TABLES = ("generations", "grades")
CELL_KEYS = ("run_id", "model", "skill_id", "condition", "sampling_key", "case_id", "level")
CELL_COUNTS = ("n_gens", "n_errors", "n_ungraded", "n_graded", "n_passed", "n_epochs")
CELLS_SCHEMA = pa.schema(
    [pa.field(name, STR, nullable=name == "skill_id") for name in CELL_KEYS]
    + [pa.field(name, INT, nullable=False) for name in CELL_COUNTS]
)


def partition_of(path: Path) -> str | None:
    """The run id of a part file from its ``run_id=<id>`` folder, or None outside such a folder."""
    name = path.parent.name
    return name.removeprefix("run_id=") if name.startswith("run_id=") else None


def fingerprint(files: Iterable[Path]) -> str:
    """A hash of the names and sizes of a run's generation and grade files."""
    entries = sorted(f"{p.parent.parent.name}/{p.name}:{p.stat().st_size}" for p in files)
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def rollup_metadata(sources: Mapping[str, str]) -> dict[bytes, bytes]:
    """File metadata of a rollup holding the runs of ``sources`` (run id -> fingerprint)."""
    return {
        META_TABLE: CELLS.encode(),
        META_VERSION: str(SCHEMA_VERSION).encode(),
        META_ROLLUP_VERSION: ROLLUP_VERSION.encode(),
        META_SOURCES: json.dumps(dict(sorted(sources.items()))).encode(),
    }


@dataclass(frozen=True)
class CellPlan:
    """Where each run's cells come from.

    ``fresh``: rollup file -> the runs to read from it (None: all of its runs). ``pending``: the
    generation and grade files to count raw. ``current``: fingerprint of every run's files now.
    ``stale_runs``: runs in a run folder that no rollup covers.
    """

    fresh: dict[Path, tuple[str, ...] | None]
    pending: dict[str, list[Path]]
    current: dict[str, str]
    stale_runs: list[str]


def plan_cells(files_by_table: Mapping[str, Iterable[Path]], rollups: Mapping[Path, Mapping[str, str]]) -> CellPlan:
    """Split the runs into those with a current rollup and those to count from raw rows.

    ``rollups`` maps each rollup file to its sources (run id -> fingerprint at build time); a run
    covered by several current rollups (a compaction cut short) is read from the first. Files
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
    taken: dict[str, Path] = {}
    for path in sorted(rollups):
        for run_id, sources in rollups[path].items():
            if current.get(run_id) == sources and run_id not in taken:
                taken[run_id] = path
    fresh: dict[Path, tuple[str, ...] | None] = {}
    for path in sorted(set(taken.values())):
        runs = tuple(sorted(r for r, p in taken.items() if p == path))
        fresh[path] = None if len(runs) == len(rollups[path]) else runs
    stale = sorted(run_id for run_id in by_run if run_id not in taken)
    for run_id in stale:
        for table, paths in by_run[run_id].items():
            pending[table].extend(paths)
    return CellPlan(fresh, {t: sorted(p) for t, p in pending.items()}, current, stale)
