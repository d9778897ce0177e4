"""Skill folders on disk: load, write atomically, and the content id of a skill."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from skillfoundry.skills.errors import SkillExistsError
from skillfoundry.skills.model import Skill
from skillfoundry.skills.render import render_skill_md
from skillfoundry.skills.validate import inspect_skill_dir, validate_skill
from skillfoundry.skills.walk import SKILL_MD, TEST_DATA_ENTRIES, read_folder


def load_skill(path: Path) -> Skill:
    """The skill in folder ``path``: SKILL.md plus its UTF-8 files (not evals/, skill_meta.json,
    hidden entries, symlinks or binary files). Raises SkillFormatError on the first error finding,
    including a name that differs from the folder name."""
    skill, found = inspect_skill_dir(Path(path))
    for finding in found:
        if finding.severity == "error":
            raise finding.as_error()
    assert skill is not None  # no error means the skill was read
    return skill


def skill_folder_files(skill: Skill) -> dict[str, bytes]:
    """The exact bytes ``write_skill`` puts in the folder, by relative path."""
    files = {SKILL_MD: render_skill_md(skill).encode("utf-8")}
    files.update((rel, text.encode("utf-8")) for rel, text in skill.files.items())
    return dict(sorted(files.items()))


def skill_id(skill: Skill, length: int = 16) -> str:
    """sha256 over the folder's files (sorted paths, length-prefixed bytes), as ``length`` hex chars."""
    digest = hashlib.sha256()
    for rel, data in skill_folder_files(skill).items():
        name = rel.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:length]


def write_skill(skill: Skill, parent_dir: Path, *, overwrite: bool = False) -> Path:
    """Write ``<parent_dir>/<name>/`` (SKILL.md and files) and return that path.

    The folder is built in a temp dir beside it and renamed into place, so readers never see a half
    written skill. An existing folder with the same skill files is left alone; a different one raises
    SkillExistsError unless ``overwrite`` is true, in which case the skill files are replaced while test
    data (evals/, skill_meta.json) and hidden entries in the old folder are kept.
    """
    errors = [f for f in validate_skill(skill, skill.name) if f.severity == "error"]
    if errors:
        raise errors[0].as_error()
    parent = Path(parent_dir)
    target = parent / skill.name
    wanted = skill_folder_files(skill)
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise SkillExistsError(str(target), "folder", "exists", "exists and is not a skill folder; nothing written")
        if read_folder(target).files == wanted:
            return target
        if not overwrite:
            raise SkillExistsError(
                str(target), "folder", "exists", "a different skill is already there; pass overwrite=True to replace it"
            )
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{skill.name}.", suffix=".tmp", dir=parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a skill folder is meant to be read
        for rel, data in wanted.items():
            dest = staging / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        if target.is_dir():
            _swap_in(staging, target)
        else:
            os.rename(staging, target)  # fails if a concurrent writer created target meanwhile
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _kept(entry: str) -> bool:
    return entry in TEST_DATA_ENTRIES or entry.startswith(".")


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging``, carrying kept entries (test data, hidden) across; on any
    failure the old folder is restored as it was."""
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    old = retired / target.name
    os.rename(target, old)
    try:
        for entry in sorted(os.listdir(old)):
            if _kept(entry):
                os.rename(old / entry, staging / entry)
        os.rename(staging, target)
    except BaseException:
        for entry in sorted(os.listdir(staging)) if staging.is_dir() else []:
            if _kept(entry):
                os.rename(staging / entry, old / entry)
        os.rename(old, target)
        os.rmdir(retired)
        raise
    shutil.rmtree(retired, ignore_errors=True)
