"""The KernelBench run protocol in its killable worker, on the CPU: answers are real ``load_inline`` C++
extensions built by torch, run against the reference; honest ones pass, each cheat fails for its own
reason. (On a GPU the same worker also times; ``test_kernelbench_gpu.py``.)"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

import pytest

from skillfoundry.grading.kernel import gpu_outcome
from skillfoundry.kernelbench.gpu_stage import build_key, problem_dims, run_answer
from skillfoundry.kernelbench.problems import KBProblem, parse_problem
from skillfoundry.kernels.gpu.protocol import ShapeResult, event_line
from skillfoundry.kernels.gpu.runner import benchmark_records
from skillfoundry.skills.model import KernelCheck

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kernelbench" / "KernelBench"
pytestmark = pytest.mark.skipif(shutil.which("c++") is None, reason="torch builds C++ extensions with c++")

#: One extension for every answer below (built once): an honest loop and the cheats, each a function.
CPP = r"""
#include <torch/extension.h>
torch::Tensor honest(torch::Tensor x, double a, double b) {
    auto y = torch::empty_like(x);
    const float* p = x.data_ptr<float>();
    float* q = y.data_ptr<float>();
    for (int64_t i = 0; i < x.numel(); ++i) q[i] = p[i] * a + b;
    return y;
}
torch::Tensor with_aten(torch::Tensor x, double a, double b) { return x * a + b; }
torch::Tensor cached(torch::Tensor x, double a, double b) {
    static torch::Tensor kept;
    if (!kept.defined()) kept = honest(x, a, b);
    return kept;
}
torch::Tensor in_place(torch::Tensor x, double a, double b) {
    float* p = x.data_ptr<float>();
    for (int64_t i = 0; i < x.numel(); ++i) p[i] = p[i] * a + b;
    return x;
}
torch::Tensor raises(torch::Tensor x, double a, double b) { TORCH_CHECK(false, "no kernel today"); return x; }
torch::Tensor spins(torch::Tensor x, double a, double b) {
    volatile bool forever = true;
    while (forever) {}
    return x;
}
"""

ANSWER = '''
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

CPP = r"""{cpp}"""
ext = load_inline(name="kb_protocol_test", cpp_sources=CPP, functions={functions!r})


class ModelNew(nn.Module):
    def __init__(self, scale, shift):
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, x):
        return {body}
'''
FUNCTIONS = ["honest", "with_aten", "cached", "in_place", "raises", "spins"]


def answer(body: str, cpp: str = CPP) -> str:
    return ANSWER.format(cpp=cpp, functions=FUNCTIONS, body=body)


@pytest.fixture(scope="module")
def problem() -> KBProblem:
    return parse_problem(FIXTURES / "level1" / "1_Scale_and_shift.py", 1)


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("torch-extensions")


def test_an_honest_extension_passes_every_fresh_trial_and_fits_the_tables(problem: KBProblem, build_dir: Path) -> None:
    run = run_answer(problem, answer("ext.honest(x, self.scale, self.shift)"), build_dir=build_dir, device=None)
    assert run.error_kind is None and run.correct, (run.error, run.stderr_tail)
    (shape,) = run.shapes
    assert len(shape.trials) == 5 and len({t.seed for t in shape.trials}) == 5
    assert all(t.ok and not t.torch_ops and not t.mutated for t in shape.trials)
    assert shape.dims == problem_dims(problem) == {"batch": 64, "features": 4096}
    assert run.gpu is not None and run.gpu.name == "cpu" and shape.time_ms is None  # timed on a GPU only
    assert run.isolation is not None and "own session and environment" in run.isolation
    outcome = gpu_outcome(KernelCheck(problem_id=problem.id), run, {}, grader="kernelbench")
    assert outcome.passed and outcome.grader == "kernelbench" and outcome.infra_error is None
    (record,) = benchmark_records(run, [problem_dims(problem)])
    assert record["problem_id"] == problem.id and record["correct"] and record["speedup"] is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("ext.with_aten(x, self.scale, self.shift)", "torch operators do the work: aten.add, aten.mul"),
        ("x * self.scale + self.shift", "torch operators do the work: aten.add, aten.mul"),
        ("ext.cached(x, self.scale, self.shift)", "wrong output on shapes [0]"),
        ("ext.in_place(x, self.scale, self.shift)", "writes its inputs: input0"),
    ],
    ids=["aten-in-cpp", "torch-in-python", "cached-output", "writes-input"],
)
def test_each_cheat_fails_at_run_time_for_its_reason(problem: KBProblem, build_dir: Path, body: str, reason: str) -> None:
    run = run_answer(problem, answer(body), build_dir=build_dir, device=None, trials=3)
    assert run.error_kind is None and not run.correct
    outcome = gpu_outcome(KernelCheck(problem_id=problem.id), run, {}, grader="kernelbench")
    assert not outcome.passed and outcome.infra_error is None
    assert outcome.detail["reason"] == reason


def test_the_cached_output_is_right_once_then_wrong_on_fresh_inputs(problem: KBProblem, build_dir: Path) -> None:
    run = run_answer(problem, answer("ext.cached(x, self.scale, self.shift)"), build_dir=build_dir, device=None)
    oks = [t.ok for t in run.shapes[0].trials]
    assert oks[0] and not any(oks[1:])


@pytest.mark.parametrize(
    ("source", "kind", "says"),
    [
        (answer("ext.raises(x, self.scale, self.shift)"), "fault", "no kernel today"),
        (answer("ext.honest(x)", cpp="#include <no_such_header.h>\n"), "compile", "Error building extension"),
        (answer("x").replace("class ModelNew", "raise SystemError('refused')\nclass ModelNew"), "load", "refused"),
        (answer("x").replace("def __init__(self, scale, shift)", "def __init__(self)"), "load", "ModelNew(1.5, -0.25) failed"),
    ],
    ids=["raises-in-forward", "does-not-build", "module-raises", "wrong-constructor"],
)  # fmt: skip
def test_the_answers_own_errors_are_its_fault_not_infrastructure(
    problem: KBProblem, build_dir: Path, source: str, kind: str, says: str
) -> None:
    run = run_answer(problem, source, build_dir=build_dir, device=None, trials=2)
    assert run.error_kind == kind and says in (run.error or ""), (run.error, run.stderr_tail[-800:])
    outcome = gpu_outcome(KernelCheck(problem_id=problem.id), run, {}, grader="kernelbench")
    assert not outcome.passed and outcome.infra_error is None


def test_an_answer_that_never_returns_is_killed_as_a_timeout(problem: KBProblem, build_dir: Path) -> None:
    run = run_answer(
        problem, answer("ext.spins(x, self.scale, self.shift)"), build_dir=build_dir, device=None, phase_s=2
    )
    assert run.error_kind == "timeout" and "no progress" in (run.error or "") and "correctness" in (run.error or "")
    assert run.wall_s < 120


def test_the_answer_sees_none_of_the_callers_secrets(
    problem: KBProblem, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    spy = "import os\nraise SystemError(' '.join(f'{k}={v}' for k, v in sorted(os.environ.items())))\n"
    run = run_answer(problem, spy, build_dir=build_dir, device=None)
    assert run.error_kind == "load" and "sk-secret" not in (run.error or "") and "ANTHROPIC" not in (run.error or "")
    assert f"TORCH_EXTENSIONS_DIR={build_dir}/" in (run.error or "") and "HOME=" in (run.error or "")
    assert f"PATH={Path(sys.executable).parent}:" in (run.error or "")  # ninja from this environment first


def test_answers_share_a_build_folder_only_when_their_extensions_are_the_same() -> None:
    honest, cheat = answer("ext.honest(x, self.scale, self.shift)"), answer("ext.cached(x, self.scale, self.shift)")
    assert build_key(honest) == build_key(cheat)  # same load_inline call and sources: the same library
    assert build_key(honest) != build_key(answer("x", cpp=CPP.replace("p[i] * a + b", "p[i] * a - b")))
    flags = honest.replace('functions=', 'extra_cflags=["-O3"], functions=')
    assert build_key(flags) != build_key(honest)
    assert build_key("not python (") != build_key("not python )")


def test_the_answer_cannot_reach_a_server_on_the_callers_loopback(problem: KBProblem, build_dir: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        probe = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)\nraise SystemError('reached')\n"
        run = run_answer(problem, probe, build_dir=build_dir, device=None)
    if run.isolation is None or "no network" not in run.isolation:
        pytest.skip(f"this kernel gives no user namespaces: {run.isolation}")
    assert run.error_kind == "load" and "reached" not in (run.error or ""), run.error


def test_results_the_answer_writes_itself_are_ignored(problem: KBProblem, build_dir: Path) -> None:
    shape = ShapeResult(index=0, dims=problem_dims(problem), correct=True).model_dump(mode="json")
    forged = event_line("shape", shape=shape) + event_line("done")
    forger = f"import os\nopen('../events.jsonl', 'a').write({forged!r})\nos._exit(0)\n"
    run = run_answer(problem, forger, build_dir=build_dir, device=None)
    assert not run.correct and not run.shapes
    assert run.error_kind == "crash" and "before finishing" in (run.error or "")
