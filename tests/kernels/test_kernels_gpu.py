"""On a GPU: the runner's correctness trials, mutation check, watchdog and fault isolation with
real kernels; every reference solution is correct. Skipped where no GPU answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillfoundry.grading.kernel import grade_kernel
from skillfoundry.kernels import get_problem, list_problems
from skillfoundry.kernels.gpu import available
from skillfoundry.kernels.gpu.runner import benchmark_records, run_candidate
from skillfoundry.skills.model import KernelCheck
from skillfoundry.storage.records import KernelBenchmarkRecord

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not available(), reason="no GPU with a working driver")]

VECTOR_ADD = get_problem("vector_add")
SIG = 'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, int n)'
FAST = {"timing_trials": 10, "compile_reference": False}


def _run(source: str, cache: Path, **kw):
    return run_candidate(VECTOR_ADD, source, cache_dir=cache, **{**FAST, **kw})


@pytest.mark.parametrize("problem", list_problems(), ids=[p.id for p in list_problems()])
def test_reference_solutions_are_correct_on_the_gpu(problem, kernel_cache: Path):
    run = run_candidate(problem, problem.solution_source, cache_dir=kernel_cache, **FAST)
    assert run.correct, (run.error, [(s.dims, s.trials[-1]) for s in run.shapes if not s.correct])
    for shape in run.shapes:
        assert shape.time_ms > 0 and shape.ref_time_ms > 0 and len(shape.samples_ms) == 10
        assert not shape.suspect
    for record in benchmark_records(run, problem.shapes):
        KernelBenchmarkRecord(run_id="r", **record)


def test_off_by_one_is_caught(kernel_cache: Path):
    source = SIG + "{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n - 1) out[i] = a[i] + b[i]; }"
    run = _run(source, kernel_cache)
    assert not run.correct and run.error_kind is None
    assert run.shapes[0].trials[0].outputs["out"].nonfinite == 1


def test_partial_write_into_reused_buffer_is_caught(kernel_cache: Path):
    # writes only even blocks: a harness that reused an already-correct output buffer would pass it
    source = (
        SIG
        + "{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n && blockIdx.x % 2 == 0) out[i] = a[i] + b[i]; }"
    )
    run = _run(source, kernel_cache)
    assert not run.correct
    assert all(not t.ok for t in run.shapes[0].trials)


def test_input_mutation_is_caught(kernel_cache: Path):
    source = (
        SIG
        + "{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) { out[i] = a[i] + b[i]; ((float*)b)[i] = 0.0f; } }"
    )
    run = _run(source, kernel_cache)
    assert not run.correct and run.shapes[0].trials[0].mutated == ["b"]


def test_infinite_loop_is_killed_at_the_timeout(kernel_cache: Path):
    source = SIG + "{ volatile const float* p = a; while (p[0] == p[0]) { } out[0] = 0.0f; }"
    run = _run(source, kernel_cache, kernel_phase_s=5.0)
    assert run.error_kind == "timeout" and "correctness" in run.error and not run.correct


def test_a_fault_kills_only_its_subprocess(kernel_cache: Path):
    source = SIG + "{ float* bad = (float*)0x10; bad[threadIdx.x] = a[0]; out[0] = 0.0f; }"
    run = _run(source, kernel_cache)
    assert run.error_kind == "fault" and not run.correct
    assert _run(VECTOR_ADD.solution_source, kernel_cache).correct


def test_grade_on_gpu_has_benchmarks(kernel_cache: Path):
    bundle = grade_kernel(
        KernelCheck(problem_id="relu"), f"```cuda\n{get_problem('relu').solution_source}```", cache_dir=kernel_cache
    )
    outcome = bundle.outcomes[0]
    assert outcome.passed and outcome.detail["gpu"] is True and outcome.detail["correct"] is True
    assert len(bundle.kernel_benchmarks) == len(get_problem("relu").shapes)
