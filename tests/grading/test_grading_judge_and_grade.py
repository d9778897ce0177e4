"""The judge grader and grade_answer's dispatch."""

from __future__ import annotations

import pytest

from skillfoundry.grading.grade import MAX_ANSWER_CHARS, GradingContext, grade_answer
from skillfoundry.grading.judge import JudgeError, JudgeVerdict, grade_judge
from skillfoundry.grading.outcome import ModelUsage
from skillfoundry.skills.model import (
    ContainsCheck,
    JsonCheck,
    JudgeCheck,
    KernelCheck,
    NotContainsCheck,
    PythonCheck,
    RegexCheck,
    TestCase,
)


def keyword_judge(rubric: str, answer: str) -> JudgeVerdict:
    """A deterministic judge: the share of rubric words the answer contains."""
    words = rubric.lower().split()
    hits = sum(w in answer.lower() for w in words)
    return JudgeVerdict(score=hits / len(words), reason=f"{hits} of {len(words)} rubric words")


def test_no_judge_fails_with_the_documented_reason() -> None:
    outcome = grade_judge(JudgeCheck(rubric="mentions tiling"), "tiling", None)
    assert (outcome.passed, outcome.score, outcome.infra_error) == (False, 0.0, "no judge model configured")


def test_judge_score_against_threshold() -> None:
    good = grade_judge(JudgeCheck(rubric="tiling shared memory"), "Use tiling in shared memory", keyword_judge)
    assert (good.passed, good.score, good.detail["reason"]) == (True, 1.0, "3 of 3 rubric words")
    partial = grade_judge(JudgeCheck(rubric="tiling shared memory", threshold=0.9), "shared memory", keyword_judge)
    assert not partial.passed and partial.score == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("judge", "reason"),
    [
        (lambda r, a: 1 / 0, "judge error: ZeroDivisionError"),
        (lambda r, a: JudgeVerdict(score=float("nan"), reason="?"), "judge returned a non-finite score"),
        (lambda r, a: "not a verdict", "judge error: ValidationError"),
    ],
)
def test_broken_judges_are_infra_errors(judge, reason: str) -> None:
    outcome = grade_judge(JudgeCheck(rubric="x"), "x", judge)
    assert not outcome.passed and outcome.score == 0.0 and outcome.infra_error.startswith(reason)


def test_out_of_range_scores_are_clamped() -> None:
    outcome = grade_judge(JudgeCheck(rubric="x"), "x", lambda r, a: JudgeVerdict(score=7, reason="great"))
    assert (outcome.passed, outcome.score, outcome.detail["raw_score"]) == (True, 1.0, 7.0)


USAGE = ModelUsage(model="anthropic:claude-haiku-4-5", input_tokens=120, output_tokens=30, cost_usd=0.00027)


def test_a_judge_call_keeps_its_usage_whether_or_not_it_gave_a_verdict() -> None:
    judged = grade_judge(JudgeCheck(rubric="x"), "x", lambda r, a: JudgeVerdict(score=1, reason="ok", usage=USAGE))
    assert judged.passed and judged.usage == USAGE

    def unparseable(rubric: str, answer: str) -> JudgeVerdict:
        raise JudgeError("Verdict output invalid after one re-ask", USAGE)

    failed = grade_judge(JudgeCheck(rubric="x"), "x", unparseable)
    assert failed.infra_error.startswith("judge error: JudgeError") and failed.usage == USAGE
    assert grade_judge(JudgeCheck(rubric="x"), "x", keyword_judge).usage is None  # a free judge reports nothing


CASE = TestCase(
    id="1",
    prompt="Write a vector add kernel and a JSON summary.",
    checks=[
        ContainsCheck(values=["__global__"]),
        NotContainsCheck(values=["TODO"]),
        RegexCheck(pattern=r"c\[i\]\s*=\s*a\[i\]\s*\+\s*b\[i\]"),
        JsonCheck(schema={"type": "object", "required": ["threads"]}),
        PythonCheck(code="def check(output):\n    return output.count('__global__') == 1"),
        JudgeCheck(rubric="vector add"),
    ],
)
GOOD = (
    "```cuda\n__global__ void add(const float* a, const float* b, float* c, int n) {\n"
    "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n  if (i < n) c[i] = a[i] + b[i];\n}\n```\n"
    '```json\n{"threads": 256}\n```\n'
)


def test_one_outcome_per_check_in_order() -> None:
    bundle = grade_answer(CASE, GOOD, GradingContext(judge=keyword_judge))
    assert [o.grader for o in bundle.outcomes] == ["contains", "not_contains", "regex", "json", "python", "judge"]
    assert bundle.passed and bundle.kernel_builds == []


@pytest.mark.parametrize(
    "answer",
    ["", "\x00\udcff\xff" * 100, "TODO " * 500_000, "x" * (MAX_ANSWER_CHARS + 1)],
    ids=["empty", "binary", "big", "huge"],
)
def test_junk_answers_fail_every_check_without_crashing(answer: str) -> None:
    bundle = grade_answer(CASE, answer, GradingContext())
    assert len(bundle.outcomes) == len(CASE.checks) and not bundle.passed
    assert all(o.detail.get("reason") or o.infra_error for o in bundle.outcomes)
    if len(answer) > MAX_ANSWER_CHARS:
        assert all(o.detail["reason"].startswith("answer too large") for o in bundle.outcomes)


def test_kernel_checks_go_to_the_kernel_grader_and_merge(tmp_path) -> None:
    case = TestCase(
        id="k",
        prompt="p",
        kind="kernel",
        problem_id="vector_add",
        checks=[ContainsCheck(values=["x"]), KernelCheck(problem_id="vector_add")],
    )
    bundle = grade_answer(case, "no code at all", GradingContext(cache_dir=tmp_path))
    assert [o.grader for o in bundle.outcomes] == ["contains", "kernel"]
    assert not bundle.outcomes[1].passed and bundle.outcomes[1].detail["reason"]


def test_a_kernel_grader_error_is_recorded_not_raised(tmp_path) -> None:
    case = TestCase(id="k", prompt="p", checks=[KernelCheck(problem_id="no-such-problem")])
    bundle = grade_answer(case, "```cuda\n__global__ void k() {}\n```", GradingContext(cache_dir=tmp_path))
    (outcome,) = bundle.outcomes
    assert outcome.grader == "kernel" and not outcome.passed
    assert outcome.infra_error.startswith("kernel grader error: UnknownProblemError")
