"""Rules checked on a parsed Skill: file paths and the warnings."""

from __future__ import annotations

import pytest

from skillfoundry.skills.model import Skill
from skillfoundry.skills.validate import referenced_files, validate_skill

BASE = Skill(name="demo", description="Does a thing. Use when asked.", body="Body.\n")


def rules(skill: Skill, folder: str | None = "demo") -> list[tuple[str, str]]:
    return [(f.severity, f.rule) for f in validate_skill(skill, folder)]


@pytest.mark.parametrize(
    "path",
    [
        "/abs.txt",
        "../up.txt",
        "a//b",
        "./a",
        "scripts/../../x",
        ".hidden",
        "scripts/.env",
        "a\\b",
        "SKILL.md",
        "evals/evals.json",
        "skill_meta.json",
        "x/__pycache__/y.pyc",
        "",
    ],
)
def test_unsafe_or_reserved_file_paths_are_errors(path: str) -> None:
    assert rules(BASE.model_copy(update={"files": {path: "x"}})) == [("error", "file-path")]


def test_ordinary_file_paths_are_fine() -> None:
    skill = BASE.model_copy(
        update={"files": {"scripts/a b.py": "", "references/deep/x.md": "", "LICENSE.txt": "", "evals.md": ""}}
    )
    assert rules(skill) == []


def test_long_bodies_warn_by_lines_and_by_tokens() -> None:
    assert rules(BASE.model_copy(update={"body": "x\n" * 501})) == [("warning", "body-lines")]
    assert rules(BASE.model_copy(update={"body": "x\n" * 500})) == []
    wordy = " ".join(["tokens"] * 6000)
    assert rules(BASE.model_copy(update={"body": wordy})) == [("warning", "body-tokens")]


def test_name_rules_stack() -> None:
    assert rules(BASE.model_copy(update={"name": "-Bad--"}), None) == [
        ("error", "name-chars"),
        ("error", "name-hyphen"),
        ("error", "name-double-hyphen"),
    ]
    assert rules(BASE.model_copy(update={"name": ""}), None) == [("error", "name-length")]
    assert rules(BASE.model_copy(update={"name": "a" * 64}), None) == []
    assert rules(BASE.model_copy(update={"name": "ﬁle"}), "file") == [
        ("warning", "name-non-ascii")
    ]  # NFKC-equal folder


def test_length_limits_are_inclusive() -> None:
    assert rules(BASE.model_copy(update={"description": "d" * 1024, "compatibility": "c" * 500})) == []
    assert rules(BASE.model_copy(update={"description": "d" * 1025})) == [("error", "description-length")]
    assert rules(BASE.model_copy(update={"compatibility": "c" * 501})) == [("error", "compatibility-length")]


def test_dashes_multiline_and_odd_metadata_keys_warn() -> None:
    skill = BASE.model_copy(update={"description": "a --- b\nc", "metadata": {"": "v", "ok": "fine"}})
    assert sorted(rules(skill)) == [
        ("warning", "description-multiline"),
        ("warning", "frontmatter-dashes"),
        ("warning", "metadata-key"),
    ]


def test_referenced_files_finds_links_and_bare_paths_but_not_urls() -> None:
    body = (
        'See [guide](references/guide.md#part), ![img](./assets/a%20b.png "t"), [web](https://x.io/scripts/y.py),\n'
        "[anchor](#top), [abs](/etc/passwd), [up](../other/SKILL.md). Run `python scripts/run.py --fast`.\n"
        "Also scripts/tool.sh, and references/ as a bare folder mention.\n"
    )
    assert referenced_files(body) == ["references/guide.md", "assets/a b.png", "scripts/run.py", "scripts/tool.sh"]


def test_missing_references_warn_but_folders_and_present_files_do_not() -> None:
    body = "Read references/a.md and references/missing.md; scripts/ has helpers; see [root](SKILL.md)."
    skill = BASE.model_copy(update={"body": body, "files": {"references/a.md": "", "scripts/x.py": ""}})
    found = validate_skill(skill, "demo")
    assert [(f.rule, f.message) for f in found] == [
        ("missing-file", "references 'references/missing.md', which the skill does not contain")
    ]
    assert validate_skill(skill, "demo", extra_files=["references/missing.md"]) == []
