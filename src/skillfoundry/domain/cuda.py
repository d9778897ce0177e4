"""The CUDA-kernel domain: train/test split of the problem suite, the teacher's tools and prompts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from skillfoundry.grading.kernel import grade_kernel
from skillfoundry.ids import content_id
from skillfoundry.kernelbench.grade import grade_kernelbench
from skillfoundry.kernelbench.problems import KBProblem, get_kb_problem, is_kernelbench_id, load_suite
from skillfoundry.kernels.compile import compile_cuda
from skillfoundry.kernels.problems import Problem, get_problem, list_problems
from skillfoundry.kernels.static_checks import run_static_checks
from skillfoundry.llm.teacher import Tool
from skillfoundry.skills.model import KernelCheck, TestCase

TEACHER_SYSTEM = (
    "You are an expert CUDA performance engineer. Solve the task with a correct, fast kernel. "
    "Use the compile_kernel tool to compile your code and the run_tests tool to grade it before you answer. "
    "Finish with the final kernel in one ```cuda block, then a short list of the steps you followed and "
    "the pitfalls you avoided, so another engineer could repeat your procedure on a different kernel."
)

HARNESS_NOTES = (
    "Kernels are compiled with NVRTC (no host code is compiled or run). Exactly the entry points named in "
    'the task must exist, declared extern "C" __global__. The harness allocates inputs and outputs, '
    "poisons outputs with NaN, launches the kernel with the grid and block given in the task, and compares "
    "against a PyTorch reference with dtype-aware tolerances over several random inputs and shapes. Host "
    "APIs (streams, device management, torch, cuBLAS) and timer reads are rejected by static checks."
)


KB_HARNESS_NOTES = (
    "The answer is a Python module defining ModelNew whose CUDA comes in through load_inline. It is never "
    "run while grading on a CPU: its Python is analysed statically, the __global__/__device__ code is compiled "
    "with NVRTC and checked (no timers, no writable device globals), and the C++ wrapper may only allocate and "
    "launch kernels. Calling Model, torch operators or tensor arithmetic in forward, or caching outputs, fails. "
    "On a GPU it then runs against Model: fresh random inputs each trial (float32, tolerance 1e-2), outputs "
    "allocated over NaN-filled memory, every torch operator it runs audited, inputs that must not change, "
    "and timing against the eager Model (fast_p)."
)
NATIVE_SUITE = "native"
SuiteProblem = Problem | KBProblem


def suite_problems(suite: str, data_dir: Path) -> list[SuiteProblem]:
    """The problems of a suite: the built-in one ('native') or an imported KernelBench level ('kernelbench-l1')."""
    if suite == NATIVE_SUITE:
        return list(list_problems())
    return list(load_suite(data_dir, suite).problems)


def lookup_problem(problem_id: str, data_dir: Path) -> SuiteProblem:
    """A problem of any suite by id."""
    return get_kb_problem(data_dir, problem_id) if is_kernelbench_id(problem_id) else get_problem(problem_id)


def split_problems(
    problems: Sequence[SuiteProblem], *, seed: int, n_train: int, n_test: int
) -> tuple[list[SuiteProblem], list[SuiteProblem]]:
    """A deterministic seeded split: train problems first, then held-out test problems (disjoint)."""
    if n_train + n_test > len(problems):
        raise ValueError(f"cases: asked for {n_train} train + {n_test} test problems, the suite has {len(problems)}")
    ordered = sorted(problems, key=lambda p: content_id(seed, p.id))
    return ordered[:n_train], ordered[n_train : n_train + n_test]


def problem_case(problem: SuiteProblem, split: str) -> TestCase:
    """A test case asking for ``problem``'s kernel, graded by the kernel check."""
    return TestCase(
        id=problem.id,
        split=split,  # type: ignore[arg-type]
        prompt=problem.prompt,
        checks=[KernelCheck(problem_id=problem.id)],
        kind="kernel",
        problem_id=problem.id,
    )


def teacher_prompt(problem: SuiteProblem) -> str:
    notes = KB_HARNESS_NOTES if isinstance(problem, KBProblem) else HARNESS_NOTES
    return f"{problem.prompt}\n\nHarness notes: {notes}"


def kernelbench_tools(problem: KBProblem, cache_dir: Path | None) -> list[Tool]:
    """The KernelBench grader as the teacher's run_tests tool (a ModelNew module in, findings out)."""

    def run_tests(args: dict) -> str:
        source = str(args.get("source", ""))
        check = KernelCheck(problem_id=problem.id)
        outcome = grade_kernelbench(check, problem, f"```python\n{source}\n```", cache_dir=cache_dir).outcomes[0]
        return json.dumps({"passed": outcome.passed, "detail": outcome.detail})

    return [
        Tool(
            name="run_tests",
            description="Grade a complete ModelNew Python module for this task: static checks of the Python, "
            "NVRTC compile and PTX checks of its CUDA, and where a GPU is present correctness against Model and "
            "timing. Returns JSON with passed and details.",
            input_schema={
                "type": "object",
                "properties": {"source": {"type": "string", "description": "the complete Python module"}},
                "required": ["source"],
            },
            fn=run_tests,
        )
    ]


def teacher_tools(problem: SuiteProblem, cache_dir: Path | None) -> list[Tool]:
    """Real tools: NVRTC compile with static checks, the kernel grader, and a read-only problem library."""
    if isinstance(problem, KBProblem):
        return kernelbench_tools(problem, cache_dir)

    def compile_kernel(args: dict) -> str:
        source = str(args.get("source", ""))
        arch = str(args.get("arch", "sm_90"))
        build = compile_cuda(source, arch=arch, cache_dir=cache_dir)
        report = build.model_dump(mode="json", include={"ok", "log", "kernels"})
        if build.ok:
            findings = run_static_checks(source, problem, ptx=build.ptx)
            report["static_findings"] = [f.model_dump() for f in findings]
        return json.dumps(report)

    def run_tests(args: dict) -> str:
        source = str(args.get("source", ""))
        bundle = grade_kernel(KernelCheck(problem_id=problem.id), f"```cuda\n{source}\n```", cache_dir=cache_dir)
        outcome = bundle.outcomes[0]
        return json.dumps({"passed": outcome.passed, "detail": outcome.detail})

    def read_file(args: dict) -> str:
        # Only this problem: the teacher must not see held-out test problems it could solve into the skill.
        path = str(args.get("path", ""))
        files = {"HARNESS.md": HARNESS_NOTES, f"problems/{problem.id}.md": problem.prompt}
        if path in files:
            return files[path]
        return f"no such file {path!r}; available: {', '.join(files)}"

    source_schema = {
        "type": "object",
        "properties": {"source": {"type": "string", "description": "complete CUDA C++ source"}},
        "required": ["source"],
    }
    return [
        Tool(
            name="compile_kernel",
            description="Compile CUDA C++ with NVRTC for an arch (default sm_90); returns the log, "
            "registers, spills, shared memory and static-check findings as JSON.",
            input_schema={
                **source_schema,
                "properties": {**source_schema["properties"], "arch": {"type": "string"}},
            },
            fn=compile_kernel,
        ),
        Tool(
            name="run_tests",
            description="Grade the kernel for this task: compile, static checks, and on a GPU correctness "
            "and timing against the PyTorch reference. Returns JSON with passed and details.",
            input_schema=source_schema,
            fn=run_tests,
        ),
        Tool(
            name="read_file",
            description=f"Read HARNESS.md (how kernels are graded) or problems/{problem.id}.md (this task).",
            input_schema={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
            fn=read_file,
        ),
    ]
