"""Skill folders on disk: write/load round trips, no silent clobbering, content ids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from skills_strategies import skills

from skillfoundry.skills.errors import SkillExistsError, SkillFormatError
from skillfoundry.skills.folder import load_skill, skill_id, write_skill
from skillfoundry.skills.model import Skill
from skillfoundry.skills.validate import validate_skill_dir

SKILL = Skill(
    name="cuda-reduce",
    description="Write a fast CUDA reduction. Use when a kernel sums or maxes an array.",
    body="# Reduce\n\nRun scripts/check.py, then read [notes](references/notes.md).\n",
    metadata={"author": "teacher"},
    files={"scripts/check.py": "print('ok')\r\n", "references/notes.md": "Use warp shuffles.\n"},
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(skill=skills(with_files=True))
def test_write_then_load_gives_the_skill_back(tmp_path: Path, skill: Skill) -> None:
    parent = tmp_path / skill_id(skill)
    folder = write_skill(skill, parent)
    assert folder == parent / skill.name
    assert load_skill(folder) == skill
    assert write_skill(skill, parent) == folder  # identical: a no-op, not an error
    assert not [p for p in parent.iterdir() if p.name.startswith(".")]  # no staging dirs left


def test_written_folder_validates_clean(tmp_path: Path) -> None:
    folder = write_skill(SKILL, tmp_path)
    assert validate_skill_dir(folder) == []
    assert (folder / "scripts" / "check.py").read_bytes() == b"print('ok')\r\n"
    assert folder.stat().st_mode & 0o777 == 0o755


def test_a_different_skill_is_never_clobbered_silently(tmp_path: Path) -> None:
    folder = write_skill(SKILL, tmp_path)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    changed = SKILL.model_copy(update={"body": "# Changed\n"})
    with pytest.raises(SkillExistsError) as info:
        write_skill(changed, tmp_path)
    assert "overwrite=True" in str(info.value) and "\n" not in str(info.value)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert write_skill(changed, tmp_path, overwrite=True) == folder
    assert load_skill(folder) == changed


def test_overwrite_keeps_test_data_and_drops_stale_skill_files(tmp_path: Path) -> None:
    folder = write_skill(SKILL, tmp_path)
    (folder / "evals").mkdir()
    (folder / "evals" / "evals.json").write_text('{"skill_name": "cuda-reduce", "evals": []}')
    (folder / "skill_meta.json").write_text("{}")
    smaller = SKILL.model_copy(update={"files": {"scripts/check.py": "print(1)\n"}, "body": "b\n"})
    write_skill(smaller, tmp_path, overwrite=True)
    assert (folder / "evals" / "evals.json").read_text().startswith('{"skill_name"')
    assert (folder / "skill_meta.json").read_text() == "{}"
    assert not (folder / "references").exists()
    assert load_skill(folder) == smaller


def test_invalid_skill_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(SkillFormatError) as info:
        write_skill(SKILL.model_copy(update={"files": {"../escape.txt": "x"}}), tmp_path)
    assert info.value.rule == "file-path"
    with pytest.raises(SkillFormatError):
        write_skill(SKILL.model_copy(update={"name": "Bad Name"}), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_in_the_way_is_an_error(tmp_path: Path) -> None:
    (tmp_path / SKILL.name).write_text("not a folder")
    with pytest.raises(SkillExistsError):
        write_skill(SKILL, tmp_path, overwrite=True)
    assert (tmp_path / SKILL.name).read_text() == "not a folder"


def test_skill_id_is_deterministic_and_content_sensitive() -> None:
    same = Skill.model_validate(SKILL.model_dump())
    assert skill_id(same) == skill_id(SKILL) and len(skill_id(SKILL)) == 16
    ids = {
        skill_id(SKILL),
        skill_id(SKILL.model_copy(update={"body": SKILL.body + " "})),
        skill_id(SKILL.model_copy(update={"files": {**SKILL.files, "assets/x.txt": ""}})),
        skill_id(SKILL.model_copy(update={"files": {"scripts/check.pyreferences/notes.md": ""}})),
        skill_id(SKILL.model_copy(update={"metadata": {}})),
    }
    assert len(ids) == 5


def test_skill_id_matches_the_folder_bytes(tmp_path: Path) -> None:
    folder = write_skill(SKILL, tmp_path)
    assert skill_id(load_skill(folder)) == skill_id(SKILL)


def test_binary_files_symlinks_and_hidden_entries_are_not_loaded(tmp_path: Path) -> None:
    folder = write_skill(SKILL, tmp_path)
    (folder / "assets").mkdir()
    (folder / "assets" / "font.ttf").write_bytes(b"\x00\xff\xfe binary")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref")
    (folder / "scripts" / "__pycache__").mkdir()
    (folder / "scripts" / "__pycache__" / "check.pyc").write_bytes(b"\x00")
    os.symlink("/etc/hostname", folder / "references" / "host.txt")
    assert load_skill(folder) == SKILL
    rules = sorted((f.rule, Path(f.file).name) for f in validate_skill_dir(folder))
    assert rules == [("binary-file", "font.ttf"), ("symlink", "host.txt")]


def test_load_reports_missing_folder_and_file(tmp_path: Path) -> None:
    with pytest.raises(SkillFormatError) as info:
        load_skill(tmp_path / "nope")
    assert info.value.rule == "not-a-directory"
    (tmp_path / "empty").mkdir()
    with pytest.raises(SkillFormatError) as info:
        load_skill(tmp_path / "empty")
    assert info.value.rule == "skill-md-missing"
