"""A content-addressed on-disk cache of JSON documents, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def entry_path(root: Path, key: str) -> Path:
    """Where ``key`` lives: two-level fan-out keeps directories small."""
    return root / key[:2] / f"{key}.json"


def load(root: Path, key: str) -> str | None:
    """The stored text for ``key``, or None if absent or unreadable."""
    try:
        return entry_path(root, key).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def store(root: Path, key: str, text: str) -> Path:
    """Write ``text`` under ``key``: to a temp file in the same directory, then an atomic rename."""
    path = entry_path(root, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
