"""Check outcomes: a typed infra error that can never be a pass, and the grading level of every grader.

Item 1 of issue 10: a GPU harness failure was returned as ``passed=True`` with a misspelt detail key
and stored as an ordinary pass. Item 5: a kernel's level is set by the environment, not by how far
the answer got.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from skillfoundry.evaluation import to_graded
from skillfoundry.grading.grade import GradingContext, grade_answer, level_of
from skillfoundry.grading.judge import JudgeVerdict
from skillfoundry.grading.kernel import gpu_outcome, grade_kernel
from skillfoundry.grading.outcome import CheckOutcome, GradeBundle, GradingLevel
from skillfoundry.kernels.gpu import available
from skillfoundry.kernels.gpu.protocol import GpuInfo, ShapeResult
from skillfoundry.kernels.gpu.runner import GpuRun
from skillfoundry.kernels.problems import get_problem
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
from skillfoundry.storage.records import GenerationRecord

GEN = GenerationRecord(
    run_id="r", gen_id="g", case_id="c", skill_id=None, condition="baseline", model="m", epoch=0, seed=0,
    sampling_key="k", text="answer", input_tokens=1, output_tokens=1, latency_s=0.1,
)
H100 = GpuInfo(name="NVIDIA H100", compute_capability=(9, 0))


@given(passed=st.booleans(), score=st.floats(0.0, 1.0), message=st.text(min_size=0, max_size=40))
def test_an_infra_error_is_never_a_pass_and_never_scores(passed: bool, score: float, message: str) -> None:
    make = lambda: CheckOutcome(  # noqa: E731
        grader="kernel", passed=passed, score=score, level=GradingLevel.KERNEL_GPU, infra_error=message
    )
    if passed or score != 0.0:
        with pytest.raises(ValidationError, match="infra_error must have passed=False and score=0"):
            make()
    else:
        assert make().infra_error == message


def test_every_outcome_states_its_level() -> None:
    with pytest.raises(ValidationError, match="level"):
        CheckOutcome(grader="contains", passed=True, score=1.0)
    with pytest.raises(ValidationError, match="level"):
        CheckOutcome(grader="contains", passed=True, score=1.0, level="compiles")


def _run(error_kind: str | None, error: str | None = None, correct: bool = True) -> GpuRun:
    shape = ShapeResult(index=0, dims={"n": 1024}, correct=correct, time_ms=0.01, speedup=1.5)
    shapes = [] if error_kind == "infrastructure" else [shape]
    return GpuRun(
        problem_id="relu", source_sha="s", arch="sm_90", gpu=H100, requested=[0], shapes=shapes,
        error_kind=error_kind, error=error,
    )


def test_a_gpu_harness_failure_is_stored_as_an_infra_error_not_a_pass() -> None:
    outcome = gpu_outcome(KernelCheck(problem_id="relu"), _run("infrastructure", "torch import failed"), {})
    assert (outcome.passed, outcome.score, outcome.level) == (False, 0.0, GradingLevel.KERNEL_GPU)
    assert outcome.infra_error == "GPU infrastructure error: torch import failed"
    (row,) = to_graded(GEN, GradeBundle(outcomes=[outcome])).grades
    assert (row.passed, row.infra_error, row.level) == (False, True, "kernel-gpu")
    assert json.loads(row.detail_json)["infra_error"] == "GPU infrastructure error: torch import failed"


@pytest.mark.parametrize(
    ("error_kind", "error"),
    [("fault", "illegal memory access"), ("timeout", "over the 900 s limit"), ("crash", "exit code -11"),
     ("compile", "error: expected ';'"), ("load", "bad cubin")],
)
def test_the_candidates_own_faults_fail_it_and_are_not_infra_errors(error_kind: str, error: str) -> None:
    outcome = gpu_outcome(KernelCheck(problem_id="relu"), _run(error_kind, error, correct=False), {})
    assert (outcome.passed, outcome.infra_error, outcome.level) == (False, None, GradingLevel.KERNEL_GPU)
    assert outcome.detail["reason"] == error
    (row,) = to_graded(GEN, GradeBundle(outcomes=[outcome])).grades
    assert (row.passed, row.infra_error) == (False, False)


def test_gpu_outcomes_are_kernel_gpu_whatever_the_result() -> None:
    check = KernelCheck(problem_id="relu")
    correct = gpu_outcome(check, _run(None), {})
    wrong = gpu_outcome(check, _run(None, correct=False), {})
    lenient = gpu_outcome(KernelCheck(problem_id="relu", require_correct=False), _run(None, correct=False), {})
    assert [(o.passed, o.level) for o in (correct, wrong, lenient)] == [
        (True, GradingLevel.KERNEL_GPU), (False, GradingLevel.KERNEL_GPU), (True, GradingLevel.KERNEL_GPU)
    ]
    assert wrong.detail["reason"] == "wrong output on shapes [0]"


def _answer(code: str) -> str:
    return f"```cuda\n{code}```\n"


STAGES = {
    "extract": "I cannot write CUDA.",
    "compile": _answer('extern "C" __global__ void relu(const float* x, float* out, int n) { out[0] = x[0] +; }\n'),
    "static": _answer("__device__ float twice(float v) { return 2.0f * v; }\n"),
    "pass": _answer(get_problem("relu").solution_source),
}


@pytest.mark.skipif(available(), reason="the CPU environment's level; a GPU machine grades at kernel-gpu")
@pytest.mark.parametrize("stage", list(STAGES))
def test_without_a_gpu_every_kernel_grade_is_kernel_static_however_far_it_got(stage: str, tmp_path: Path) -> None:
    (outcome,) = grade_kernel(KernelCheck(problem_id="relu"), STAGES[stage], cache_dir=tmp_path).outcomes
    assert outcome.level is GradingLevel.KERNEL_STATIC
    assert outcome.passed == (stage == "pass") and outcome.infra_error is None
    assert outcome.detail.get("stage", "static") == ("static" if stage == "pass" else stage)


@pytest.mark.gpu
@pytest.mark.skipif(not available(), reason="needs a GPU")
@pytest.mark.parametrize("stage", list(STAGES))
def test_with_a_gpu_every_kernel_grade_is_kernel_gpu_however_far_it_got(stage: str, tmp_path: Path) -> None:
    (outcome,) = grade_kernel(KernelCheck(problem_id="relu"), STAGES[stage], cache_dir=tmp_path).outcomes
    assert outcome.level is GradingLevel.KERNEL_GPU
    assert outcome.passed == (stage == "pass")


def test_each_grader_stamps_the_level_grade_answer_reports_for_its_check(tmp_path: Path) -> None:
    checks = [
        ContainsCheck(values=["x"]), NotContainsCheck(values=["y"]), RegexCheck(pattern="x"),
        JsonCheck(), PythonCheck(code="def check(output):\n    return True"), JudgeCheck(rubric="x"),
        KernelCheck(problem_id="relu"),
    ]
    case = TestCase(id="all", prompt="p", checks=checks)
    bundle = grade_answer(case, "x", GradingContext(cache_dir=tmp_path, judge=lambda r, a: JudgeVerdict(score=1.0, reason="ok")))
    levels = [o.level for o in bundle.outcomes]
    kernel = GradingLevel.KERNEL_GPU if available() else GradingLevel.KERNEL_STATIC
    assert levels == [GradingLevel.DETERMINISTIC] * 4 + [GradingLevel.SANDBOXED, GradingLevel.JUDGED, kernel]
    assert levels == [level_of(c) for c in checks]


def test_an_unreachable_judge_is_an_infra_error_in_the_stored_row() -> None:
    case = TestCase(id="j", prompt="p", checks=[JudgeCheck(rubric="polite")])
    (outcome,) = grade_answer(case, "hello", GradingContext(judge=None)).outcomes
    (row,) = to_graded(GEN, GradeBundle(outcomes=[outcome])).grades
    assert (row.passed, row.score, row.infra_error, row.level) == (False, 0.0, True, "judged")
    assert json.loads(row.detail_json)["infra_error"] == "no judge model configured"
