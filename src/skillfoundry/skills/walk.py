"""Which entries of a skill folder belong to the skill, and reading them from disk.

A skill's files are every regular file under its folder except: SKILL.md (the skill itself), test
data (``evals/`` and upskill's ``skill_meta.json``: a student must never see the test cases), hidden
entries and ``__pycache__``. Symbolic links are never followed. ``load_skill`` and ``write_skill``
use the same rule, so writing then loading a skill gives it back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SKILL_MD = "SKILL.md"
TEST_DATA_ENTRIES = ("evals", "skill_meta.json")


def bad_file_path(path: str) -> str | None:
    """Why ``path`` cannot be a bundled file of a skill (None when it can)."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return "must be a relative POSIX path"
    if any(part in ("", ".", "..") for part in parts):
        return "must not contain empty, '.' or '..' parts"
    if any(part.startswith(".") or part == "__pycache__" for part in parts):
        return "hidden files and __pycache__ are not carried"
    if path == SKILL_MD or parts[0] in TEST_DATA_ENTRIES:
        return "reserved: SKILL.md is the skill itself; evals/ and skill_meta.json hold test data"
    return None


@dataclass
class FolderContents:
    """The carried files of a folder: raw bytes by relative path (SKILL.md included), plus skipped links."""

    files: dict[str, bytes] = field(default_factory=dict)
    symlinks: list[str] = field(default_factory=list)

    def text_files(self) -> dict[str, str]:
        """Bundled files that are UTF-8 text (SKILL.md excluded)."""
        out: dict[str, str] = {}
        for rel, data in self.files.items():
            if rel != SKILL_MD:
                try:
                    out[rel] = data.decode("utf-8")
                except UnicodeDecodeError:
                    continue
        return out

    def binary_files(self) -> list[str]:
        """Bundled files that are not UTF-8 text (a Skill holds text files only)."""
        return sorted(set(self.files) - set(self.text_files()) - {SKILL_MD})


def read_folder(path: Path) -> FolderContents:
    """Read every carried entry of a skill folder, in sorted order."""
    contents = FolderContents()
    root = Path(path)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        kept = [d for d in sorted(dirnames) if bad_file_path(prefix + d + "/x") is None]
        contents.symlinks += [prefix + d for d in kept if (root / (prefix + d)).is_symlink()]
        dirnames[:] = [d for d in kept if not (root / (prefix + d)).is_symlink()]
        for name in sorted(filenames):
            rel = prefix + name
            full = root / rel
            if rel != SKILL_MD and bad_file_path(rel) is not None:
                continue
            if full.is_symlink():
                contents.symlinks.append(rel)
            elif full.is_file():
                contents.files[rel] = full.read_bytes()
    contents.symlinks.sort()
    return contents
