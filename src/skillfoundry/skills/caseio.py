"""Shared pieces of the test-case importers: field checks with one-line errors, and safe file writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from skillfoundry.skills.errors import CaseFormatError, SkillExistsError
from skillfoundry.skills.model import Check

_CHECK = TypeAdapter(Check)


def read_json(path: Path, *, source: str) -> Any:
    """Load a JSON file; a missing file, bad UTF-8 or bad JSON is a one-line CaseFormatError."""
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise CaseFormatError(source, "file", "not found") from None
    except UnicodeDecodeError as exc:
        raise CaseFormatError(source, "file", f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise CaseFormatError(
            source, "file", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def want_str(value: Any, source: str, field: str, *, empty: bool = False) -> str:
    """``value`` if it is a string (non-blank unless ``empty``), else a CaseFormatError."""
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise CaseFormatError(source, field, "expected a string" if empty else "expected a non-empty string")
    return value


def want_list(value: Any, source: str, field: str) -> list:
    if not isinstance(value, list):
        raise CaseFormatError(source, field, "expected a list")
    return value


def want_dict(value: Any, source: str, field: str) -> dict:
    if not isinstance(value, dict):
        raise CaseFormatError(source, field, "expected an object")
    return value


def reject_unknown(mapping: dict, allowed: set[str], source: str, field: str) -> None:
    """CaseFormatError naming the first key of ``mapping`` not in ``allowed``."""
    unknown = sorted(str(key) for key in set(mapping) - allowed)
    if unknown:
        raise CaseFormatError(source, f"{field}.{unknown[0]}", "unknown key")


def parse_check(value: Any, source: str, field: str) -> Check:
    """A Check from its JSON form; pydantic's first complaint becomes the one-line error."""
    try:
        return _CHECK.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CaseFormatError(source, f"{field}.{where}" if where else field, first["msg"]) from None


def safe_relative(path: str) -> bool:
    """True for a relative POSIX path that stays inside its base folder."""
    parts = path.split("/")
    return (
        bool(path)
        and not path.startswith("/")
        and "\\" not in path
        and "\x00" not in path
        and all(part not in ("", ".", "..") for part in parts)
    )


def write_files(base: Path, files: dict[str, bytes], *, overwrite: bool) -> None:
    """Write each file under ``base`` atomically (temp file + rename). If any existing file differs and
    ``overwrite`` is false, raise SkillExistsError before writing anything."""
    base = Path(base)
    if not overwrite:
        for rel, data in files.items():
            dest = base / rel
            if dest.exists() and (not dest.is_file() or dest.read_bytes() != data):
                raise SkillExistsError(
                    str(dest), "file", "exists", "differs from what would be written; pass overwrite=True"
                )
    for rel, data in files.items():
        dest = base / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
