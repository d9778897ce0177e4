"""Hostile answers (the bytes around a kernel): line ends, fence styles, NUL bytes, invalid UTF-8,
huge answers. Each gets the grade it deserves through ``grade_answer``, never an infrastructure
error, and the grading process survives all of them."""

from __future__ import annotations

import pytest

from skillfoundry.grading.grade import MAX_ANSWER_CHARS, GradingContext, grade_answer
from skillfoundry.grading.outcome import CheckOutcome
from skillfoundry.skills.model import KernelCheck, TestCase

SIG = 'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, int n)'
KERNEL = SIG + " {\n  int i = blockIdx.x * blockDim.x + threadIdx.x;\n  if (i < n) out[i] = a[i] + b[i];\n}\n"
CASE = TestCase(id="va", prompt="write vector_add", checks=[KernelCheck(problem_id="vector_add")], kind="kernel")
CHEAT_TAIL = "__device__ int calls;\n__global__ void spy() { calls++; }\n"

# name -> (answer, expected: "pass" or the detail reason / stage it must fail with)
ANSWERS: dict[str, tuple[str, str]] = {
    "crlf_everywhere": (
        f"Here you go:\r\n```cuda\r\n{KERNEL}```\r\nDone.\r\n".replace("\n", "\r\n").replace("\r\r\n", "\r\n"),
        "pass",
    ),
    "lone_cr_line_ends": (f"```cuda\n{KERNEL}```\n".replace("\n", "\r"), "pass"),
    "tilde_fence": (f"~~~cuda\n{KERNEL}~~~\n", "pass"),
    "cu_fence_and_prose_blocks": (f"```python\nprint(1)\n```\n```cu\n{KERNEL}```\n", "pass"),
    "cpp_fence_long_backticks": (f"````c++\n{KERNEL}````\n", "pass"),
    "pandoc_attribute_fence": (f"``` {{.cuda}}\n{KERNEL}```\n", "pass"),
    "unclosed_fence": (f"```cuda\n{KERNEL}", "pass"),
    "nul_hides_a_cheat": (f"```cuda\n{KERNEL}\x00{CHEAT_TAIL}```\n", "bad_encoding"),
    "nul_in_prose": (f"note\x00\n```cuda\n{KERNEL}```\n", "bad_encoding"),
    "invalid_utf8_replaced": (
        (f"```cuda\n{KERNEL}".encode() + b"// caf\xe9 \xff\n```\n").decode("utf-8", "replace"),
        "bad_encoding",
    ),
    "invalid_utf8_surrogateescape": (
        (f"```cuda\n{KERNEL}".encode() + b"// \xc3\x28\n```\n").decode("utf-8", "surrogateescape"),
        "bad_encoding",
    ),
    "huge_answer_over_the_cap": ("```cuda\n" + SIG + "\n" * 10 + "x" * (MAX_ANSWER_CHARS + 10) + "```", "too large"),
    "huge_kernel_headers": ("```cuda\n" + (SIG + "\n") * (1_200_000 // (len(SIG) + 1)) + "```\n", "compile"),
}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> GradingContext:
    return GradingContext(cache_dir=tmp_path_factory.mktemp("answer-cache"), archs=["sm_90"])


def _outcome(answer: str, ctx: GradingContext) -> CheckOutcome:
    (outcome,) = grade_answer(CASE, answer, ctx).outcomes
    assert not getattr(outcome, "infra_error", None) and not outcome.detail.get("infra_error"), outcome.detail
    return outcome


@pytest.mark.parametrize("name", list(ANSWERS))
def test_answer_gets_the_grade_it_deserves(name: str, ctx: GradingContext):
    answer, expected = ANSWERS[name]
    outcome = _outcome(answer, ctx)
    if expected == "pass":
        assert outcome.passed, outcome.detail
        assert outcome.detail["findings"] == []
    else:
        assert not outcome.passed and outcome.score == 0.0
        reason = str(outcome.detail.get("reason", ""))
        assert expected in reason or outcome.detail.get("stage") == expected, outcome.detail
    if expected == "bad_encoding":
        assert outcome.detail["reason"] == "bad_encoding" and outcome.detail["encoding"]


def test_crlf_answer_grades_like_its_lf_twin(ctx: GradingContext):
    lf = _outcome(f"```cuda\n{KERNEL}```\n", ctx)
    crlf = _outcome(f"```cuda\r\n{KERNEL}```\r\n".replace("\n", "\r\n").replace("\r\r\n", "\r\n"), ctx)
    assert lf.passed and crlf.passed and lf.detail["source_sha"] == crlf.detail["source_sha"]
