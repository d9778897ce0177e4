"""SKILL.md parsing and rendering: round trips, real-world shapes, and one-line errors."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from skills_strategies import CHARS, skills

from skillfoundry.skills.errors import SkillFormatError
from skillfoundry.skills.model import Skill
from skillfoundry.skills.parse import parse_skill_md
from skillfoundry.skills.render import render_frontmatter, render_skill_md
from skillfoundry.skills.validate import validate_skill

FAST = settings(max_examples=60, deadline=None)


@FAST
@given(skills())
def test_parse_inverts_render_for_every_valid_skill(skill: Skill) -> None:
    assert [f for f in validate_skill(skill, None) if f.severity == "error"] == []
    assert parse_skill_md(render_skill_md(skill)) == skill


@FAST
@given(skills())
def test_frontmatter_is_one_line_per_scalar_and_plain_yaml(skill: Skill) -> None:
    text = render_frontmatter(skill)
    data = yaml.safe_load(text)
    assert data["name"] == skill.name and data["description"] == skill.description
    # one physical line per top-level scalar and per metadata entry (no block scalars, no folding),
    # except metadata keys that validation warns about, which PyYAML writes as '? key' pairs
    odd_keys = {f.field for f in validate_skill(skill, None) if f.rule == "metadata-key"}
    lines = text.splitlines()
    expected = 2 + sum(v is not None for v in (skill.license, skill.compatibility, skill.allowed_tools))
    expected += 1 + len(skill.metadata) if skill.metadata else 0
    assert len(lines) == expected or odd_keys
    assert "{" not in text.split(":", 1)[0] and not any(line.rstrip() in ("|", "|-", ">", ">-") for line in lines)


@FAST
@given(st.text(CHARS, max_size=300))
def test_arbitrary_text_parses_or_fails_with_one_line(text: str) -> None:
    try:
        parse_skill_md(text, source="x/SKILL.md")
    except SkillFormatError as exc:
        assert isinstance(exc, ValueError)
        assert str(exc).startswith("x/SKILL.md: ") and "\n" not in str(exc)


@FAST
@given(
    st.lists(
        st.sampled_from(["---\n", "name: a\n", "description: d\n", "x: [\n", "metadata:\n", "  k: 1\n", ": \n", "\n"]),
        max_size=8,
    ).map("".join)
)
def test_frontmatter_like_text_parses_or_fails_with_one_line(text: str) -> None:
    try:
        skill = parse_skill_md(text)
    except SkillFormatError as exc:
        assert "\n" not in str(exc) and exc.rule
    else:
        assert skill.name == "a" and skill.description == "d"


def test_blank_line_after_frontmatter_is_a_separator() -> None:
    with_blank = parse_skill_md("---\nname: a\ndescription: d\n---\n\n# T\n")
    without = parse_skill_md("---\nname: a\ndescription: d\n---\n# T\n")
    assert with_blank.body == without.body == "# T\n"
    assert parse_skill_md("---\nname: a\ndescription: d\n---\n\n\n# T\n").body == "\n# T\n"
    assert parse_skill_md("---\nname: a\ndescription: d\n---").body == ""


def test_bom_and_trailing_spaces_on_delimiters_are_accepted() -> None:
    skill = parse_skill_md("\ufeff---  \nname: a\ndescription: d\n--- \t\nbody")
    assert (skill.name, skill.body) == ("a", "body")


def test_render_quotes_what_some_yaml_reader_would_not_read_as_a_string() -> None:
    skill = Skill(
        name="a",
        description="yes",
        body="",
        metadata={"version": "1.0", "octal": "0o17", "exp": "1e3", "t": "~", "plain": "hello world"},
    )
    text = render_frontmatter(skill)
    assert "description: 'yes'" in text and "version: '1.0'" in text and "octal: '0o17'" in text
    assert "exp: '1e3'" in text and "t: '~'" in text and "plain: hello world" in text


def test_render_writes_multiline_and_colon_descriptions_on_one_quoted_line() -> None:
    skill = Skill(name="a", description="Use when: x\nand y", body="---\n")
    text = render_skill_md(skill)
    assert text.splitlines()[2] == 'description: "Use when: x\\nand y"'
    assert text == '---\nname: a\ndescription: "Use when: x\\nand y"\n---\n\n---\n'
    assert parse_skill_md(text) == skill


def test_optional_fields_only_when_set() -> None:
    text = render_skill_md(Skill(name="a", description="d", body="b\n"))
    assert text == "---\nname: a\ndescription: d\n---\n\nb\n"


@pytest.mark.parametrize(
    ("text", "rule", "field"),
    [
        ("no frontmatter", "frontmatter-missing", "frontmatter"),
        ("---\nname: a\n", "frontmatter-unclosed", "frontmatter"),
        ("---\nname: [a\n---\n", "frontmatter-yaml", "frontmatter"),
        ("---\nname: a\nname: b\ndescription: d\n---\n", "duplicate-key", "name"),
        ("---\nname: a\ndescription: d\nmodel: x\n---\n", "unknown-field", "model"),
        ("---\nname: a\ndescription: d\nmetadata:\n  n: 3\n---\n", "type", "metadata.n"),
        ("---\nname: a\ndescription: d\nmetadata:\n  1: x\n---\n", "type", "metadata"),
        ("---\nname: Ab\ndescription: d\n---\n", "name-chars", "name"),
        ("---\nname: a\ndescription: ''\n---\n", "description-empty", "description"),
        ("---\nname: a\ndescription: d\ncompatibility: ''\n---\n", "compatibility-length", "compatibility"),
        ("---\n!!python/object:os.system x\n---\n", "frontmatter-yaml", "frontmatter"),
    ],
)
def test_parse_errors_name_rule_and_field(text: str, rule: str, field: str) -> None:
    with pytest.raises(SkillFormatError) as info:
        parse_skill_md(text, source="skills/a/SKILL.md")
    assert (info.value.rule, info.value.field) == (rule, field)
    assert str(info.value).startswith(f"skills/a/SKILL.md: {field}: ") and "\n" not in str(info.value)


def test_parse_does_not_check_the_folder_name_but_validate_does() -> None:
    skill = parse_skill_md("---\nname: a\ndescription: d\n---\n")
    assert [f.rule for f in validate_skill(skill, "b")] == ["name-folder"]
    assert validate_skill(skill, "a") == []
