"""On a GPU: imported KernelBench problems graded to the end (static checks, then the run in its worker:
audited trials, timing, checks after timing); honest answers pass with a speedup, cheats that the static
checks cannot see fail on the device. Skipped where no GPU answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillfoundry.grading.outcome import GradingLevel
from skillfoundry.kernelbench.gpu_stage import run_answer
from skillfoundry.kernelbench.grade import answer_module, grade_kernelbench
from skillfoundry.kernelbench.problems import KBProblem, parse_problem
from skillfoundry.kernels.gpu import available, probe
from skillfoundry.skills.model import KernelCheck
from skillfoundry.storage.records import KernelBenchmarkRecord

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not available(), reason="no GPU with a working driver")]

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kernelbench"
ANSWERS = FIXTURES / "answers"


def problem(name: str) -> KBProblem:
    return parse_problem(FIXTURES / "KernelBench" / "level1" / f"{name}.py", 1)


@pytest.mark.parametrize(
    ("answer", "name"), [("honest_scale_shift.py", "1_Scale_and_shift"), ("honest_row_sum.py", "2_Row_sum")]
)
def test_honest_answers_pass_on_the_gpu_with_a_speedup(answer: str, name: str, tmp_path: Path) -> None:
    kb = problem(name)
    text = f"```python\n{(ANSWERS / answer).read_text()}```"
    bundle = grade_kernelbench(KernelCheck(problem_id=kb.id), kb, text, cache_dir=tmp_path)
    (outcome,) = bundle.outcomes
    assert outcome.passed and outcome.level is GradingLevel.KERNEL_GPU, outcome.detail
    assert outcome.detail["gpu"] is True and outcome.detail["speedup_min"] > 0
    (bench,) = bundle.kernel_benchmarks
    assert bench["correct"] and bench["time_ms"] > 0 and bench["ref_time_ms"] > 0
    KernelBenchmarkRecord(run_id="r", **bench)


def test_an_unwritten_output_passes_the_static_checks_and_fails_on_the_gpu(tmp_path: Path) -> None:
    kb = problem("1_Scale_and_shift")
    text = f"```python\n{(ANSWERS / 'cheat_stale_output.py').read_text()}```"
    (outcome,) = grade_kernelbench(KernelCheck(problem_id=kb.id), kb, text, cache_dir=tmp_path).outcomes
    assert not outcome.passed and outcome.infra_error is None and outcome.level is GradingLevel.KERNEL_GPU
    assert outcome.detail["stage"] == "gpu" and outcome.detail["reason"] == "wrong output on shapes [0]"


def test_a_device_side_cache_fails_on_fresh_inputs_when_run_past_the_static_checks(tmp_path: Path) -> None:
    module = answer_module(f"```python\n{(ANSWERS / 'cheat_device_cache.py').read_text()}```")
    assert module is not None
    run = run_answer(problem("1_Scale_and_shift"), module, build_dir=tmp_path, device=probe(), timing_trials=10)
    assert run.error_kind is None and not run.correct
    assert run.shapes[0].trials[0].ok and not all(t.ok for t in run.shapes[0].trials)
