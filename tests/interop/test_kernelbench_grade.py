"""KernelBench answers (``ModelNew`` + ``load_inline``) graded at compile level: honest ones pass, each cheat
is caught by the rule named for it; the answer is never executed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from skillfoundry.grading.outcome import GradingLevel
from skillfoundry.kernelbench.answer_ast import analyze_answer
from skillfoundry.kernelbench.cuda_split import split_device_host
from skillfoundry.kernelbench.grade import grade_kernelbench
from skillfoundry.kernelbench.problems import KBProblem, parse_problem
from skillfoundry.skills.model import KernelCheck

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kernelbench"
ANSWERS = FIXTURES / "answers"


def problem(level: int, name: str) -> KBProblem:
    return parse_problem(next((FIXTURES / "KernelBench" / f"level{level}").glob(f"{name}.py")), level)


def grade_text(prob: str, answer: str, cache_dir: Path):
    kb = problem(1, prob)
    return grade_kernelbench(KernelCheck(problem_id=kb.id), kb, answer, cache_dir=cache_dir)


def grade(answer_file: str, tmp_path: Path, prob: str = "1_Scale_and_shift"):
    text = (ANSWERS / answer_file).read_text()
    bundle = grade_text(prob, f"Here is my kernel.\n```python\n{text}```\n", tmp_path)
    (outcome,) = bundle.outcomes
    rules = {f["rule"] for f in outcome.detail["findings"]}
    return bundle, outcome, rules


@pytest.mark.parametrize(
    ("answer", "prob"), [("honest_scale_shift.py", "1_Scale_and_shift"), ("honest_row_sum.py", "2_Row_sum")]
)
def test_honest_answers_compile_and_pass_at_kernel_static(answer: str, prob: str, tmp_path: Path) -> None:
    bundle, outcome, rules = grade(answer, tmp_path, prob)
    assert rules == set() and outcome.passed and outcome.score == 1.0
    assert outcome.level is GradingLevel.KERNEL_STATIC and outcome.infra_error is None
    assert outcome.detail["gpu"] is False and outcome.detail["stage"] == "static"
    assert bundle.kernel_builds and all(b["ok"] for b in bundle.kernel_builds)
    assert all(b["registers"] for b in bundle.kernel_builds)  # a real cubin was built


@pytest.mark.parametrize(
    ("answer", "rule"),
    [
        ("cheat_calls_reference.py", "calls_reference"),
        ("cheat_torch_ops.py", "torch_op"),
        ("cheat_tensor_arithmetic.py", "torch_op"),
        ("cheat_cached_output.py", "cached_output"),
        ("cheat_host_aten.py", "host_torch_op"),
        ("cheat_device_cache.py", "device_global"),
        ("cheat_dynamic_source.py", "dynamic_source"),
        ("cheat_dynamic_source.py", "forbidden_import"),
        ("broken_compile.py", "compile"),
    ],
)
def test_each_cheat_fails_on_its_rule(answer: str, rule: str, tmp_path: Path) -> None:
    _, outcome, rules = grade(answer, tmp_path)
    assert not outcome.passed and outcome.score == 0.0
    assert rule in rules, rules
    assert outcome.level is GradingLevel.KERNEL_STATIC and outcome.infra_error is None
    assert rule in outcome.detail["reason"] or len(rules) > 5


def test_device_cache_is_caught_in_the_compiled_ptx_not_the_python(tmp_path: Path) -> None:
    bundle, _, rules = grade("cheat_device_cache.py", tmp_path)
    assert rules == {"device_global"}
    assert bundle.kernel_builds and bundle.kernel_builds[0]["ok"]


def test_the_answer_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    honest = (ANSWERS / "honest_scale_shift.py").read_text()
    hostile = honest.replace("import torch\n", f"import torch\nopen({str(marker)!r}, 'w').write('x')\n", 1)
    bundle = grade_text("1_Scale_and_shift", f"```python\n{hostile}```", tmp_path)
    assert not marker.exists()
    assert "dynamic_code" in {f["rule"] for f in bundle.outcomes[0].detail["findings"]}


def test_answer_without_model_new_fails_at_extract(tmp_path: Path) -> None:
    bundle = grade_text("2_Row_sum", "```cuda\n__global__ void k() {}\n```", tmp_path)
    assert bundle.outcomes[0].detail["stage"] == "extract" and not bundle.outcomes[0].passed


def test_host_wrapper_is_split_from_device_code_at_the_same_lines() -> None:
    source = (ANSWERS / "honest_scale_shift.py").read_text().split('"""')[1]
    device, host = split_device_host(source)
    assert "__global__ void scale_shift_kernel" in device and "torch::" not in device
    assert "scale_shift_kernel<<<" in host and "#include <torch/extension.h>" in host
    assert device.count("\n") == source.count("\n")


@settings(max_examples=150, deadline=None)
@given(
    st.text(max_size=400)
    | st.sampled_from([p.read_text() for p in sorted(ANSWERS.glob("*.py"))]).map(lambda s: s[: len(s) // 2])
)
@example("\x00")  # Debian's Python 3.11.2 raises ValueError, not SyntaxError, on NUL bytes
def test_analysis_of_any_text_returns_findings_never_raises(text: str) -> None:
    analysis = analyze_answer(text)
    assert analysis.findings  # nothing partial or random is a clean answer


def test_an_unwritten_output_passes_the_static_checks_and_is_left_to_the_gpu_run(tmp_path: Path) -> None:
    """Nothing in the text shows that the kernel never writes its output: only running it can
    (``test_kernelbench_gpu.py``), which is why a grade without a GPU is recorded as kernel-static."""
    _, outcome, rules = grade("cheat_stale_output.py", tmp_path)
    assert rules == set() and outcome.passed and outcome.level is GradingLevel.KERNEL_STATIC


HONEST = (ANSWERS / "honest_scale_shift.py").read_text()
WRAPPER_LINE = "    auto y = torch::empty_like(x);\n"


def _in_init(code: str) -> str:
    return HONEST.replace("        self.scale = scale\n", f"        self.scale = scale\n        {code}\n", 1)


def _in_wrapper(code: str) -> str:
    return HONEST.replace(WRAPPER_LINE, WRAPPER_LINE + f"    {code}\n", 1)


@pytest.mark.parametrize(
    ("answer", "rule", "says"),
    [
        (HONEST + 'torch.save("x", "../events.jsonl")\n', "module_code", "runs code at import"),
        (_in_init("torch.utils.cpp_extension.os.system('id')"), "escape", "torch.utils.cpp_extension.os.system"),
        (_in_init("torch.ops.load_library('/tmp/x.so')"), "escape", "torch.ops.load_library"),
        (_in_init("self.x = torch._C"), "dynamic_code", "private _C"),
        (HONEST.replace("verbose=False", "extra_ldflags=['-lcurl']"), "load_inline_option", "extra_ldflags"),
        (HONEST.replace("verbose=False", "extra_cflags=['-fplugin=/tmp/p.so']"), "load_inline_option", "-fplugin"),
        (_in_wrapper('system("curl example.com");'), "escape", "uses system"),
        (HONEST.replace("__global__", 'extern "C" long write(int, const void*, unsigned long);\n__global__', 1),
         "escape", "extern host symbol"),
        (_in_wrapper('asm volatile("syscall");'), "escape", "system-call instruction"),
        (_in_wrapper('asm volatile("nop");'), "escape", "inline assembly in the host wrapper"),
        (HONEST.replace("__global__", "#define CAT(a, b) a##b\n__global__", 1), "escape", "##"),
        (HONEST.replace('scale_shift_cpp = "', 'scale_shift_cpp = "#include <unistd.h>\\n', 1), "escape", "<unistd.h>"),
        (_in_wrapper('PyRun_SimpleString("import os");'), "escape", "PyRun_SimpleString"),
        (_in_wrapper('py::exec("import os");'), "escape", "py::exec"),
    ],
    ids=["module-code", "os-through-torch", "load-library", "private-api", "ldflags", "compiler-plugin",
         "system-call", "extern-write", "asm-syscall", "asm-in-wrapper", "token-pasting", "wrapper-header",
         "python-c-api", "pybind11-exec"],
)  # fmt: skip
def test_ways_out_of_the_process_fail_before_anything_runs(answer: str, rule: str, says: str, tmp_path: Path) -> None:
    (outcome,) = grade_text("1_Scale_and_shift", f"```python\n{answer}```", tmp_path).outcomes
    found = [f for f in outcome.detail["findings"] if f["rule"] == rule]
    assert not outcome.passed and found, outcome.detail["findings"]
    assert any(says in f["message"] for f in found), found


def test_the_usual_ways_of_writing_an_answer_stay_allowed(tmp_path: Path) -> None:
    usual = (
        HONEST.replace("from torch.utils.cpp_extension import load_inline\n", "import torch.utils.cpp_extension\n")
        .replace("scale_shift = load_inline(", "scale_shift = torch.utils.cpp_extension.load_inline(")
        .replace("verbose=False", "verbose=False, extra_cuda_cflags=['-O3', '--use_fast_math', '-DNDEBUG'], extra_cflags=[]")
        .replace("#include <cuda_runtime.h>", "#include <cuda_runtime.h>\n#include <c10/cuda/CUDAGuard.h>")
        + 'BLOCK = 256\n\nif __name__ == "__main__":\n    print(ModelNew(1.0, 0.0))\n'
    )
    (outcome,) = grade_text("1_Scale_and_shift", f"```python\n{usual}```", tmp_path).outcomes
    assert outcome.passed, outcome.detail["findings"]
