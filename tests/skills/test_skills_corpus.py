"""The corpus: every valid folder loads with the expected warnings only; every invalid folder under
invalid/<rule>/ reports exactly that error rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from skillfoundry.skills.cli import app
from skillfoundry.skills.errors import SkillFormatError
from skillfoundry.skills.folder import load_skill
from skillfoundry.skills.parse import parse_skill_md
from skillfoundry.skills.render import render_skill_md
from skillfoundry.skills.validate import validate_skill_dir

CORPUS = Path(__file__).parent / "corpus"
VALID = sorted(p for p in (CORPUS / "valid").iterdir() if p.is_dir())
INVALID = sorted(p for rule in (CORPUS / "invalid").iterdir() for p in rule.iterdir() if p.is_dir())

EXPECTED_WARNINGS = {
    "block-description": {"description-multiline"},
    "missing-reference": {"missing-file"},
    "café-tools": {"name-non-ascii"},
    "body-with-dashes": {"frontmatter-dashes"},  # its description quotes "---"
}


def test_corpus_covers_every_error_rule_that_a_folder_can_break() -> None:
    rules = {p.parent.name for p in INVALID}
    assert rules >= {
        "frontmatter-missing",
        "frontmatter-unclosed",
        "frontmatter-yaml",
        "frontmatter-not-mapping",
        "duplicate-key",
        "unknown-field",
        "required",
        "type",
        "name-length",
        "name-chars",
        "name-hyphen",
        "name-double-hyphen",
        "name-folder",
        "description-empty",
        "description-length",
        "compatibility-length",
        "encoding",
        "skill-md-missing",
    }
    assert len(VALID) >= 8


@pytest.mark.parametrize("folder", VALID, ids=lambda p: p.name)
def test_valid_folder_has_no_errors_and_only_the_expected_warnings(folder: Path) -> None:
    findings = validate_skill_dir(folder)
    assert [f for f in findings if f.severity == "error"] == []
    assert {f.rule for f in findings} == EXPECTED_WARNINGS.get(folder.name, set())
    skill = load_skill(folder)
    assert skill.name == folder.name
    assert parse_skill_md(render_skill_md(skill)) == skill.model_copy(update={"files": {}})


@pytest.mark.parametrize("folder", INVALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_invalid_folder_reports_exactly_its_rule(folder: Path) -> None:
    rule = folder.parent.name
    errors = [f for f in validate_skill_dir(folder) if f.severity == "error"]
    assert {f.rule for f in errors} == {rule}, [f.line() for f in errors]
    with pytest.raises(SkillFormatError) as info:
        load_skill(folder)
    assert info.value.rule == rule
    message = str(info.value)
    assert "\n" not in message and str(folder) in message and f": {info.value.field}: " in message


def test_real_world_shapes_parse_to_the_intended_values() -> None:
    block = load_skill(CORPUS / "valid" / "block-description")
    assert block.description.startswith("Reference for the widget API") and block.description.count("\n") == 1
    assert not block.description.endswith("\n")  # |- strips the final newline
    quoted = load_skill(CORPUS / "valid" / "quoted-colon")
    assert "Triggers include: any mention of 'deck', \"slides\"" in quoted.description
    full = load_skill(CORPUS / "valid" / "all-fields")
    assert full.metadata == {"author": "example-org", "version": "1.0", "yes": "no"}
    assert full.allowed_tools == "Bash(git:*) Bash(jq:*) Read"
    crlf = load_skill(CORPUS / "valid" / "crlf-endings")
    assert (
        crlf.description == "Written on Windows with CRLF line endings." and crlf.body == "# Title\r\n\r\nStep one.\r\n"
    )
    dashes = load_skill(CORPUS / "valid" / "body-with-dashes")
    assert dashes.body.startswith("---\nText between rules.") and "name: not-frontmatter" in dashes.body


def test_test_data_and_hidden_entries_are_not_skill_files() -> None:
    skill = load_skill(CORPUS / "valid" / "with-test-data")
    assert skill.files == {}
    bundled = load_skill(CORPUS / "valid" / "bundled-files")
    assert set(bundled.files) == {
        "references/REFERENCE.md",
        "scripts/extract.py",
        "assets/form template.txt",
        "assets/diagram.svg",
    }


def test_field_specific_messages() -> None:
    by_folder = {p.name: validate_skill_dir(p) for p in INVALID}
    assert [(f.field, f.message) for f in by_folder["metadata-number"]] == [
        ("metadata.version", "expected a string, got float")
    ]
    assert [f.field for f in by_folder["claude-code-keys"]] == ["argument-hint"]
    assert by_folder["unquoted-colon"][0].message.startswith("invalid YAML at line 3:")
    assert by_folder["other-folder"][0].message == "must equal the folder name 'other-folder', got 'some-skill'"
    assert "skill.md" in by_folder["lowercase-name"][0].message


def test_cli_validate_prints_one_line_per_finding_and_exits_by_severity() -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", *map(str, VALID)])
    assert ok.exit_code == 0, ok.output
    warned = runner.invoke(app, ["validate", str(CORPUS / "valid" / "missing-reference")])
    assert warned.exit_code == 0
    assert (
        f"{CORPUS / 'valid' / 'missing-reference' / 'SKILL.md'}: body: missing-file: references 'references/absent.md'"
        in warned.output
    )
    bad = runner.invoke(
        app,
        [
            "validate",
            str(CORPUS / "valid" / "pdf-processing"),
            str(CORPUS / "invalid" / "name-folder" / "other-folder"),
        ],
    )
    assert bad.exit_code == 1
    line = next(l for l in bad.output.splitlines() if "name-folder" in l)
    file, field, rule, message = line.split(": ", 3)
    assert (Path(file).name, field, rule) == ("SKILL.md", "name", "name-folder") and "other-folder" in message
