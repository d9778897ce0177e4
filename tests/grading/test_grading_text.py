"""Text graders on good, bad and junk answers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.grading.text import grade_contains, grade_json, grade_not_contains, grade_regex
from skillfoundry.skills.model import ContainsCheck, JsonCheck, NotContainsCheck, RegexCheck

JUNK = [
    "",
    "\x00\xff\ufffd\udcff" * 50,
    bytes(range(256)).decode("latin-1") * 40,
    "a" * 3_000_000,
    "```json\n" * 10_000,
    "[" * 100_000,
]
CHECKS = [
    ContainsCheck(values=["kernel", "SHARED"]),
    NotContainsCheck(values=["TODO"]),
    RegexCheck(pattern=r"__global__\s+void\s+\w+", flags="i"),
    JsonCheck(),
    JsonCheck(schema={"type": "object", "required": ["x"]}),
]
GRADERS = {"contains": grade_contains, "not_contains": grade_not_contains, "regex": grade_regex, "json": grade_json}


def grade(check, answer: str):
    return GRADERS[check.type](check, answer)


def test_contains_is_case_insensitive_by_default_and_scores_the_fraction_found() -> None:
    good = grade_contains(ContainsCheck(values=["Kernel", "shared"]), "The KERNEL uses Shared memory")
    assert (good.passed, good.score, good.grader) == (True, 1.0, "contains")
    half = grade_contains(ContainsCheck(values=["kernel", "warp"]), "the kernel")
    assert (half.passed, half.score, half.detail["missing"]) == (False, 0.5, ["warp"])
    strict = grade_contains(ContainsCheck(values=["Kernel"], case_sensitive=True), "kernel")
    assert not strict.passed
    assert grade_contains(ContainsCheck(values=["STRASSE"]), "straße").passed  # casefold, not lower


def test_not_contains() -> None:
    assert grade_not_contains(NotContainsCheck(values=["todo", "fixme"]), "all done").passed
    bad = grade_not_contains(NotContainsCheck(values=["todo", "fixme"]), "TODO: later")
    assert (bad.passed, bad.score, bad.detail["found"]) == (False, 0.5, ["todo"])


def test_regex_flags_and_broken_patterns() -> None:
    assert grade_regex(RegexCheck(pattern=r"^int x", flags="m"), "a\nint x;").passed
    assert not grade_regex(RegexCheck(pattern=r"^int x"), "a\nint x;").passed
    assert grade_regex(RegexCheck(pattern=r"a.b", flags="s"), "a\nb").detail["match"] == "a\nb"
    broken = grade_regex(RegexCheck(pattern=r"(unclosed"), "x")
    assert not broken.passed and broken.detail["check_error"] and "invalid pattern" in broken.detail["reason"]
    flag = grade_regex(RegexCheck(pattern="x", flags="q"), "x")
    assert not flag.passed and "unknown regex flag 'q'" in flag.detail["reason"]


def test_catastrophic_regex_fails_with_a_reason_instead_of_hanging() -> None:
    outcome = grade_regex(RegexCheck(pattern=r"(a|aa)+$"), "a" * 40 + "!")
    assert not outcome.passed and "took longer than" in outcome.detail["reason"]


def test_json_whole_answer_fenced_block_and_schema() -> None:
    assert grade_json(JsonCheck(), '{"x": 1}').passed
    fenced = grade_json(
        JsonCheck(schema={"type": "object", "required": ["x"]}),
        'Here:\n```python\nx=1\n```\n```json\n{"x": [1, 2]}\n```\n',
    )
    assert fenced.passed and "fenced block" in fenced.detail["reason"]
    wrong = grade_json(JsonCheck(schema={"type": "object", "properties": {"x": {"type": "string"}}}), '{"x": 3}')
    assert not wrong.passed and wrong.detail["reason"].startswith("schema violation at $.x:")
    assert not grade_json(JsonCheck(), "no json here").passed
    bad_schema = grade_json(JsonCheck(schema={"type": "nonsense"}), "{}")
    assert not bad_schema.passed and bad_schema.detail["check_error"]


@pytest.mark.parametrize("answer", JUNK, ids=["empty", "garbage", "latin1", "huge", "fences", "deep"])
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.type)
def test_junk_answers_fail_cleanly(check, answer: str) -> None:
    outcome = grade(check, answer)
    assert 0.0 <= outcome.score <= 1.0 and outcome.detail["reason"]
    if check.type in ("json", "regex"):
        assert not outcome.passed
    json.dumps(outcome.detail)  # storable


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=500), st.sampled_from(CHECKS))
def test_text_graders_never_raise(answer: str, check) -> None:
    outcome = grade(check, answer)
    assert outcome.grader == check.type and 0.0 <= outcome.score <= 1.0
