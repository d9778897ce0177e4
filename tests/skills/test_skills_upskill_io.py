"""upskill skill folders and tests files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skills_strategies import case_strategy, skills

from skillfoundry.grading.grade import GradingContext, grade_answer
from skillfoundry.skills.errors import CaseFormatError, SkillFormatError
from skillfoundry.skills.model import ContainsCheck, RegexCheck, Skill, TestCase
from skillfoundry.skills.upskill_io import (
    cases_from_upskill,
    export_upskill,
    import_upskill,
    load_upskill_tests,
    upskill_tests,
    write_upskill_meta,
)

UPSKILL_TEST = {
    "input": "Write a commit message for adding login",
    "context": {"files": {"diff.txt": "+ login()"}},
    "expected": {"contains": ["feat", "Login"]},
}


def test_the_three_container_shapes_give_the_same_cases() -> None:
    as_meta = cases_from_upskill({"metadata": {}, "tests": [UPSKILL_TEST]})
    as_cases = cases_from_upskill({"cases": [UPSKILL_TEST]})
    as_list = cases_from_upskill([UPSKILL_TEST])
    assert as_meta == as_cases == as_list
    (case,) = as_list
    assert (case.id, case.prompt, case.files) == ("1", UPSKILL_TEST["input"], {"diff.txt": "+ login()"})
    assert case.checks == [ContainsCheck(values=["feat", "Login"], case_sensitive=False)]


def test_a_pass_is_every_contains_string_case_insensitively() -> None:
    (case,) = cases_from_upskill(
        [
            {**UPSKILL_TEST, "expected": {"contains": "LOGIN"}},
        ][:1]
    )
    ctx = GradingContext()
    assert grade_answer(case, "feat: add login page", ctx).passed
    (both,) = cases_from_upskill([UPSKILL_TEST])
    assert grade_answer(both, "FEAT(auth): LOGIN", ctx).passed
    assert not grade_answer(both, "fix: login", ctx).passed


@pytest.mark.parametrize(
    ("test", "message"),
    [
        (
            {"input": "", "expected": {"contains": ["a"]}},
            "skill_meta.json: tests[0].input: expected a non-empty string",
        ),
        ({"input": "x"}, "skill_meta.json: tests[0].expected: expected an object"),
        (
            {"input": "x", "expected": {"contains": []}},
            "skill_meta.json: tests[0].expected.contains: expected at least one string",
        ),
        (
            {"input": "x", "expected": {"contains": [1]}},
            "skill_meta.json: tests[0].expected.contains[0]: expected a string",
        ),
        (
            {"input": "x", "expected": {"contains": ["a"], "regex": "b"}},
            "skill_meta.json: tests[0].expected.regex: unknown key",
        ),
        (
            {"input": "x", "expected": {"contains": ["a"]}, "validator": "hf_eval_yaml"},
            "skill_meta.json: tests[0].validator: custom upskill validators are not supported; use expected.contains",
        ),
        (
            {"input": "x", "expected": {"contains": ["a"]}, "context": {"files": {"a": 3}}},
            "skill_meta.json: tests[0].context.files.a: expected a string",
        ),
        ({"input": "x", "expected": {"contains": ["a"]}, "extra": 1}, "skill_meta.json: tests[0].extra: unknown key"),
    ],
)
def test_bad_tests_give_one_line_errors(test: dict, message: str) -> None:
    with pytest.raises(CaseFormatError) as info:
        cases_from_upskill({"tests": [test]})
    assert str(info.value) == message


def test_export_refuses_checks_upskill_cannot_hold() -> None:
    case = TestCase(id="1", prompt="p", checks=[ContainsCheck(values=["a"]), RegexCheck(pattern="b")])
    with pytest.raises(
        CaseFormatError,
        match=r"cases\[0\]\.checks\[1\]: upskill holds only case-insensitive contains checks, got regex",
    ):
        upskill_tests([case])
    with pytest.raises(CaseFormatError):
        upskill_tests([TestCase(id="1", prompt="p", checks=[ContainsCheck(values=["a"], case_sensitive=True)])])


def test_several_contains_checks_merge() -> None:
    case = TestCase(id="1", prompt="p", checks=[ContainsCheck(values=["a"]), ContainsCheck(values=["b", "c"])])
    assert upskill_tests([case]) == [{"input": "p", "context": None, "expected": {"contains": ["a", "b", "c"]}}]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(skill=skills(with_files=True), cases=st.lists(case_strategy(contains_only=True), max_size=4))
def test_folder_export_then_import_is_lossless(tmp_path: Path, skill: Skill, cases: list[TestCase]) -> None:
    cases = [c.model_copy(update={"id": str(i + 1)}) for i, c in enumerate(cases)]
    parent = tmp_path / "skills" / str(abs(hash((skill.name, len(cases)))))
    folder = export_upskill(skill, cases, parent, overwrite=True)
    back, case_set = import_upskill(folder)
    assert back == skill
    assert case_set.skill_name == skill.name and case_set.cases == cases
    meta = json.loads((folder / "skill_meta.json").read_text(encoding="utf-8"))
    assert set(meta) == {"metadata", "tests"} and len(meta["tests"]) == len(cases)


def test_metadata_keys_named_like_upskill_fields_do_not_leak_into_skill_fields(tmp_path: Path) -> None:
    skill = Skill(name="meta", description="d", body="", metadata={"license": "from-metadata", "compatibility": "c"})
    folder = export_upskill(skill, [], tmp_path)
    assert import_upskill(folder)[0] == skill


def test_upskill_native_folder_imports_metadata(tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "git-commits"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: git-commits\ndescription: Write conventional commit messages.\n---\n\n# Commits\n"
    )
    (folder / "references").mkdir()
    (folder / "references" / "types.md").write_text("feat, fix, docs\n")
    meta = {
        "metadata": {
            "version": "1.0",
            "generated_by": "claude",
            "generated_at": "2026-01-02T03:04:05",
            "source_task": "commits",
            "test_pass_rate": 0.75,
            "license": "MIT",
            "compatibility": None,
        },
        "tests": [UPSKILL_TEST],
    }
    (folder / "skill_meta.json").write_text(json.dumps(meta))
    skill, case_set = import_upskill(folder)
    assert skill.license == "MIT" and skill.compatibility is None
    assert skill.metadata == {
        "version": "1.0",
        "generated_by": "claude",
        "generated_at": "2026-01-02T03:04:05",
        "source_task": "commits",
        "test_pass_rate": "0.75",
    }
    assert skill.files == {"references/types.md": "feat, fix, docs\n"}  # skill_meta.json is test data, not a skill file
    assert case_set.cases == cases_from_upskill([UPSKILL_TEST])
    assert load_upskill_tests(folder / "skill_meta.json") == case_set.cases


def test_upskill_style_unquoted_colon_is_reported_not_guessed(tmp_path: Path) -> None:
    folder = tmp_path / "colon"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: colon\ndescription: Use when: asked\n---\n\nBody\n")
    with pytest.raises(SkillFormatError) as info:
        import_upskill(folder)
    assert info.value.rule == "frontmatter-yaml"


def test_write_meta_keeps_existing_metadata(tmp_path: Path) -> None:
    (tmp_path / "skill_meta.json").write_text(json.dumps({"metadata": {"version": "2"}, "tests": []}))
    cases = cases_from_upskill([UPSKILL_TEST])
    write_upskill_meta(tmp_path, cases, overwrite=True)
    meta = json.loads((tmp_path / "skill_meta.json").read_text())
    assert meta["metadata"] == {"version": "2"} and load_upskill_tests(tmp_path / "skill_meta.json") == cases
