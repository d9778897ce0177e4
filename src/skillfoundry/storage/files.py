"""Find the Parquet files of every table and check that each one is ours and fits its schema.

A file without the skillfoundry metadata, with another table's or a newer schema version, or
with columns that do not match is an error naming the file, never skipped in silence.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.rollup import CELLS, CELLS_SCHEMA, META_ROLLUP_VERSION, META_SOURCES, ROLLUP_VERSION
from skillfoundry.storage.schemas import META_TABLE, META_VERSION, SCHEMA_VERSION, TABLES, table_spec

ARROW_SCHEMA_KEY = b"ARROW:schema"


@dataclass(frozen=True)
class TableFiles:
    """The checked files of one table, each with its columns (older files may lack newer columns)."""

    layouts: dict[Path, tuple[str, ...]] = field(default_factory=dict)

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(sorted(self.layouts))

    def subset(self, paths: Iterable[Path]) -> dict[Path, tuple[str, ...]]:
        return {path: self.layouts[path] for path in paths}


@dataclass(frozen=True)
class Inventory:
    """Every table's checked files (and the rollups) under one data dir (absolute paths)."""

    data_dir: Path
    tables: dict[str, TableFiles]
    rollups: dict[Path, dict[str, str]] = field(default_factory=dict)  # rollup file -> run id -> fingerprint


def data_dir_path(data_dir: Path | str) -> Path:
    """The data dir as an absolute path; a StorageError if it does not exist or is not a folder."""
    path = Path(data_dir).expanduser().absolute()
    if not path.exists():
        raise StorageError(f"data dir {str(path)!r} does not exist")
    if not path.is_dir():
        raise StorageError(f"data dir {str(path)!r} is not a folder")
    return path


def table_files(data_dir: Path, table: str) -> list[Path]:
    """The visible part files of a table (temp files start with '.' and do not end in .parquet)."""
    root = data_dir / table
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.parquet") if p.is_file() and not p.name.startswith((".", "_")))


def scan(data_dir: Path | str, tables: Iterable[str] = TABLES) -> Inventory:
    """List and check the files of ``tables`` and the rollups; a bad file raises a one-line StorageError."""
    root = data_dir_path(data_dir)
    found = {table: table_files(root, table) for table in tables}
    rollup_files = table_files(root, CELLS)
    metadata = _read_metadata([p for files in found.values() for p in files] + rollup_files)
    out = {}
    for table, files in found.items():
        out[table] = TableFiles({path: tuple(check_file(table, path, metadata.get(str(path), {}))) for path in files})
    rollups = {path: check_rollup(path, metadata.get(str(path), {})) for path in rollup_files}
    return Inventory(root, out, rollups)


def _read_metadata(files: list[Path]) -> dict[str, dict[bytes, bytes]]:
    """Key-value metadata of many files in one DuckDB pass; a bad file is found and named."""
    if not files:
        return {}
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT file_name, key, value FROM parquet_kv_metadata(?)", [[str(p) for p in files]]
        ).fetchall()
    except duckdb.Error:
        return {str(p): _metadata_one(p) for p in files}
    finally:
        con.close()
    out: dict[str, dict[bytes, bytes]] = {str(p): {} for p in files}
    for name, key, value in rows:
        out.setdefault(name, {})[bytes(key)] = bytes(value)
    return out


def _metadata_one(path: Path) -> dict[bytes, bytes]:
    try:
        return dict(pq.read_metadata(path).metadata or {})
    except (OSError, pa.ArrowException) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise StorageError(f"{path}: not a readable Parquet file ({reason})") from None


_SCHEMA_CACHE: dict[bytes, pa.Schema] = {}


def _arrow_schema(encoded: bytes) -> pa.Schema:
    if encoded not in _SCHEMA_CACHE:
        _SCHEMA_CACHE[encoded] = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(encoded)))
    return _SCHEMA_CACHE[encoded]


def check_file(table: str, path: Path, metadata: dict[bytes, bytes]) -> list[str]:
    """Check one file's metadata and columns against ``table``; return its column names."""
    if META_VERSION not in metadata or META_TABLE not in metadata:
        raise StorageError(f"{path}: not a skillfoundry {table} file (no schema-version metadata)")
    owner = metadata[META_TABLE].decode("utf-8", "replace")
    if owner != table:
        raise StorageError(f"{path}: holds table {owner!r}, found under {table!r}")
    version = metadata[META_VERSION].decode("utf-8", "replace")
    if not version.isdigit() or int(version) > SCHEMA_VERSION:
        raise StorageError(
            f"{path}: schema version {version!r} is not supported (this skillfoundry reads <= {SCHEMA_VERSION})"
        )
    if ARROW_SCHEMA_KEY not in metadata:
        raise StorageError(f"{path}: no Arrow schema in the metadata (not written by skillfoundry)")
    try:
        schema = _arrow_schema(metadata[ARROW_SCHEMA_KEY])
    except (ValueError, pa.ArrowException):
        raise StorageError(f"{path}: unreadable Arrow schema in the metadata") from None
    expected = table_spec(table).schema
    for f in schema:
        index = expected.get_field_index(f.name)
        if index < 0:
            raise StorageError(f"{path}: column {f.name!r} is not in table {table!r}")
        if f.type != expected.field(index).type:
            raise StorageError(
                f"{path}: column {f.name!r} is {f.type}, table {table!r} expects {expected.field(index).type}"
            )
    missing = [f.name for f in expected if not f.nullable and f.name not in schema.names]
    if missing:
        raise StorageError(f"{path}: required column {missing[0]!r} of table {table!r} is missing")
    return schema.names


def check_rollup(path: Path, metadata: dict[bytes, bytes]) -> dict[str, str]:
    """Check a rollup file's metadata and schema; return its sources (run id -> fingerprint).

    A rollup of another rollup version (cells counted by older rules) covers no run: it is ignored,
    and the next ``compact`` replaces it.
    """
    if metadata.get(META_TABLE) != CELLS.encode() or META_SOURCES not in metadata:
        raise StorageError(f"{path}: not a skillfoundry rollup file (no rollup metadata)")
    if metadata.get(META_ROLLUP_VERSION, b"").decode("utf-8", "replace") != ROLLUP_VERSION:
        return {}
    version = metadata.get(META_VERSION, b"").decode("utf-8", "replace")
    if version != str(SCHEMA_VERSION) or ARROW_SCHEMA_KEY not in metadata:
        raise StorageError(f"{path}: rollup schema version {version!r} is not supported (expected {SCHEMA_VERSION})")
    if not _arrow_schema(metadata[ARROW_SCHEMA_KEY]).remove_metadata().equals(CELLS_SCHEMA):
        raise StorageError(f"{path}: rollup columns do not match (expected {', '.join(CELLS_SCHEMA.names)})")
    try:
        sources = json.loads(metadata[META_SOURCES])
    except ValueError:
        sources = None
    if not isinstance(sources, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sources.items()):
        raise StorageError(f"{path}: rollup sources are not a JSON object of run id -> fingerprint")
    return sources
