"""grade_kernel: extract -> compile -> static -> (GPU). Here there is no GPU, and the outcome says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_kernels_static import CHEATS

from skillfoundry.grading.kernel import grade_kernel
from skillfoundry.grading.outcome import GradeBundle
from skillfoundry.kernels import UnknownProblemError, get_problem, list_problems
from skillfoundry.kernels.errors import ArchError
from skillfoundry.kernels.gpu import available
from skillfoundry.skills.model import KernelCheck
from skillfoundry.storage.records import KernelBuildRecord

pytestmark = pytest.mark.skipif(available(), reason="CPU-path expectations; a GPU runs the gpu-marked tests")


def _answer(code: str) -> str:
    return f"Here is a fast kernel.\n\n```cuda\n{code}```\n\nIt uses one thread per element."


def _outcome(bundle: GradeBundle):
    assert len(bundle.outcomes) == 1
    outcome = bundle.outcomes[0]
    assert outcome.grader == "kernel"
    return outcome


@pytest.mark.parametrize("problem_id", [p.id for p in list_problems()])
def test_reference_answers_pass_without_gpu_and_say_so(problem_id: str, kernel_cache: Path, reference_builds):
    problem = get_problem(problem_id)
    bundle = grade_kernel(KernelCheck(problem_id=problem_id), _answer(problem.solution_source), cache_dir=kernel_cache)
    outcome = _outcome(bundle)
    assert outcome.passed and outcome.score == 1.0
    assert outcome.detail["gpu"] is False
    assert outcome.detail["correctness"] == "not checked (no GPU)"
    assert bundle.kernel_benchmarks == []
    (record,) = bundle.kernel_builds
    assert record["cached"]  # the session fixture compiled it already
    KernelBuildRecord(run_id="run", **record)


def test_several_archs_give_one_build_record_each(kernel_cache: Path):
    problem = get_problem("relu")
    bundle = grade_kernel(
        KernelCheck(problem_id="relu"),
        _answer(problem.solution_source),
        cache_dir=kernel_cache,
        archs=("sm_80", "sm_90"),
    )
    assert [r["arch"] for r in bundle.kernel_builds] == ["sm_80", "sm_90"]
    assert bundle.passed


JUNK = {
    "empty": ("", "extract"),
    "prose": ("I am not able to write CUDA code.", "extract"),
    "python": ("```python\nimport torch\nprint(torch.relu)\n```", "extract"),
    "syntax_error": (
        _answer('extern "C" __global__ void relu(const float* x, float* out, int n) { out[0] = x[0] +; }\n'),
        "compile",
    ),
    "no_kernel": (_answer("__device__ float twice(float v) { return 2.0f * v; }\n"), "static"),
}


@pytest.mark.parametrize("name", list(JUNK))
def test_junk_answers_fail_with_a_reason(name: str, kernel_cache: Path):
    answer, stage = JUNK[name]
    bundle = grade_kernel(KernelCheck(problem_id="relu"), answer, cache_dir=kernel_cache)
    outcome = _outcome(bundle)
    assert not outcome.passed and outcome.score == 0.0
    assert outcome.detail["stage"] == stage
    assert outcome.detail["reason"]
    if stage == "compile":
        assert "line 1" in outcome.detail["reason"]
        assert bundle.kernel_builds and bundle.kernel_builds[0]["ok"] is False


@pytest.mark.parametrize("name", list(CHEATS))
def test_cheating_answers_fail(name: str, kernel_cache: Path):
    source, rule = CHEATS[name]
    outcome = _outcome(grade_kernel(KernelCheck(problem_id="vector_add"), _answer(source), cache_dir=kernel_cache))
    assert not outcome.passed
    assert outcome.detail["stage"] in ("compile", "static")
    if outcome.detail["stage"] == "static":
        assert rule in {f["rule"] for f in outcome.detail["findings"]}


def test_misconfigured_checks_raise(kernel_cache: Path):
    with pytest.raises(UnknownProblemError):
        grade_kernel(KernelCheck(problem_id="no_such_problem"), "x", cache_dir=kernel_cache)
    with pytest.raises(ArchError):
        grade_kernel(KernelCheck(problem_id="relu"), "x", cache_dir=kernel_cache, archs=("sm_1",))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_grading_never_raises_on_arbitrary_answers(kernel_cache: Path, text: str):
    outcome = _outcome(grade_kernel(KernelCheck(problem_id="relu"), text, cache_dir=kernel_cache))
    assert not outcome.passed


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="{}();*=+-<>[]&|!~^%#/\"' \nabcxyz01_", max_size=120))
def test_grading_never_raises_on_code_like_answers(kernel_cache: Path, body: str):
    code = f'extern "C" __global__ void relu(const float* x, float* out, int n) {{ {body} }}\n'
    outcome = _outcome(grade_kernel(KernelCheck(problem_id="relu"), _answer(code), cache_dir=kernel_cache))
    assert outcome.detail["stage"] in ("compile", "static")
