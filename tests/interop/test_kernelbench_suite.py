"""An imported KernelBench level as the run's suite: split, cases, teacher tools and grade dispatch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillfoundry.domain import cuda
from skillfoundry.grading.grade import GradingContext, grade_answer, level_of
from skillfoundry.grading.outcome import GradingLevel
from skillfoundry.kernelbench.problems import KBProblem, import_kernelbench
from skillfoundry.skills.model import KernelCheck

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kernelbench"
ANSWERS = FIXTURES / "answers"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    import_kernelbench(FIXTURES, tmp_path / "data", (1, 2))
    return tmp_path / "data"


def test_suite_split_and_cases(data_dir: Path) -> None:
    problems = cuda.suite_problems("kernelbench-l1", data_dir)
    assert [p.id for p in problems] == ["kb-l1-1", "kb-l1-2", "kb-l1-3"]
    train, test = cuda.split_problems(problems, seed=0, n_train=1, n_test=2)
    assert {p.id for p in train + test} == {"kb-l1-1", "kb-l1-2", "kb-l1-3"} and not {p.id for p in train} & {
        p.id for p in test
    }
    case = cuda.problem_case(test[0], "test")
    assert case.kind == "kernel" and case.problem_id == test[0].id
    assert case.checks == [KernelCheck(problem_id=test[0].id)]
    assert "class Model(nn.Module)" in case.prompt and "ModelNew" in case.prompt and "load_inline" in case.prompt
    assert isinstance(cuda.lookup_problem("kb-l2-2", data_dir), KBProblem)
    assert cuda.lookup_problem("kb-l2-2", data_dir).name == "Softmax_scaled_rows"
    with pytest.raises(ValueError, match="cases: asked for 2 train \\+ 2 test problems, the suite has 3"):
        cuda.split_problems(problems, seed=0, n_train=2, n_test=2)


def test_native_suite_is_unchanged(tmp_path: Path) -> None:
    native = cuda.suite_problems("native", tmp_path)
    assert native and all(not p.id.startswith("kb-") for p in native)


@pytest.mark.parametrize(("answer", "passed"), [("honest_scale_shift.py", True), ("cheat_cached_output.py", False)])
def test_grade_answer_dispatches_kernelbench_checks(data_dir: Path, tmp_path: Path, answer: str, passed: bool) -> None:
    case = cuda.problem_case(cuda.lookup_problem("kb-l1-1", data_dir), "test")
    text = f"```python\n{(ANSWERS / answer).read_text()}```"
    bundle = grade_answer(case, text, GradingContext(cache_dir=tmp_path / "cache", data_dir=data_dir))
    (outcome,) = bundle.outcomes
    assert outcome.grader == "kernelbench" and outcome.passed is passed
    assert outcome.level is GradingLevel.KERNEL_STATIC == level_of(case.checks[0])
    assert outcome.infra_error is None
    assert bundle.kernel_builds  # stored by the pipeline in kernel_builds


def test_a_kernelbench_check_graded_without_its_suite_is_an_infra_error(data_dir: Path, tmp_path: Path) -> None:
    case = cuda.problem_case(cuda.lookup_problem("kb-l1-1", data_dir), "test")
    text = f"```python\n{(ANSWERS / 'honest_scale_shift.py').read_text()}```"
    (outcome,) = grade_answer(case, text, GradingContext(cache_dir=tmp_path / "cache")).outcomes
    assert outcome.grader == "kernelbench" and not outcome.passed
    assert outcome.infra_error is not None and "needs the data folder" in outcome.infra_error


def test_teacher_gets_the_kernelbench_grader_as_tool(data_dir: Path, tmp_path: Path) -> None:
    problem = cuda.lookup_problem("kb-l1-2", data_dir)
    (tool,) = cuda.teacher_tools(problem, tmp_path)
    assert tool.name == "run_tests"
    ok = json.loads(tool.fn({"source": (ANSWERS / "honest_row_sum.py").read_text()}))
    bad = json.loads(tool.fn({"source": (ANSWERS / "cheat_torch_ops.py").read_text()}))
    assert ok["passed"] is True and bad["passed"] is False and "torch_op" in bad["detail"]["reason"]
    assert "ModelNew" in cuda.teacher_prompt(problem) and "Harness notes" in cuda.teacher_prompt(problem)


@pytest.mark.parametrize("command", [["run"], ["eval", "examples/acme-ports"]])
def test_a_suite_not_imported_is_a_one_line_error(data_dir: Path, command: list[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "skillfoundry", *command, "--suite", "kernelbench-l3", "--data-dir", str(data_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ.copy(), cwd=root)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "kernelbench-l3" in done.stderr and "imported: kernelbench-l1, kernelbench-l2" in done.stderr
