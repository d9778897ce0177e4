"""The problem suite: structure, prompts, inputs, and every reference solution compiles and is clean."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.kernels import (
    DEFAULT_ARCHS,
    UnknownProblemError,
    extract_cuda_source,
    get_problem,
    list_problems,
    run_static_checks,
)
from skillfoundry.kernels.errors import ExpressionError, ProblemSpecError
from skillfoundry.kernels.expr import cdiv, evaluate, evaluate_int, symbols
from skillfoundry.kernels.problems.dsl import dim, elementwise, inp, out
from skillfoundry.kernels.problems.model import Problem, check_problem
from skillfoundry.kernels.problems.tensors import poisoned_buffers

PROBLEMS = list_problems()
IDS = [p.id for p in PROBLEMS]


def test_suite_has_three_levels_and_twenty_problems():
    assert len(PROBLEMS) >= 20
    assert {p.level for p in PROBLEMS} == {1, 2, 3}
    assert len(set(IDS)) == len(IDS)
    assert all(len(list_problems(level)) >= 4 for level in (1, 2, 3))
    assert [p.id for p in list_problems(3)] == [p.id for p in PROBLEMS if p.level == 3]


def test_get_problem_and_unknown_id_names_close_matches():
    assert get_problem("softmax").id == "softmax"
    with pytest.raises(UnknownProblemError) as err:
        get_problem("sofmax")
    message = str(err.value)
    assert "\n" not in message and "'sofmax'" in message and "softmax" in message
    assert isinstance(err.value, ValueError)
    with pytest.raises(UnknownProblemError, match="known ids"):
        get_problem("zzzzzzzzzz")


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_prompt_states_signature_launch_shapes_and_tolerance(problem: Problem):
    prompt = problem.prompt
    for signature in problem.signatures:
        assert signature in prompt
        assert signature.startswith('extern "C" __global__ void ')
    for entry in problem.entry_points:
        assert f"`{entry}` with grid = (" in prompt
    for dims in problem.shapes:
        assert ", ".join(f"{k}={v}" for k, v in dims.items()) in prompt
    for spec in problem.outputs:
        tol = problem.tolerance_for(spec.dtype)
        assert f"<= {tol.atol:g} + {tol.rtol:g} * |ref|" in prompt
    assert "```cuda" in prompt


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_reference_solution_compiles_for_every_arch_and_passes_static_checks(problem, reference_builds):
    builds = reference_builds[problem.id]
    assert [b.arch for b in builds] == list(DEFAULT_ARCHS)
    for build in builds:
        assert build.ok, build.log
        assert build.cubin is not None and build.cubin[:4] == b"\x7fELF"
        assert sorted(k.name for k in build.kernels) == sorted(problem.entry_points)
        assert run_static_checks(problem.solution_source, problem, ptx=build.ptx) == []
    # the reference, wrapped as a model would answer, is extracted intact
    answer = f"Here is my kernel.\n```cuda\n{problem.solution_source}```\nDone."
    assert extract_cuda_source(answer, problem.entry_points) == problem.solution_source


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_inputs_are_seeded_and_reference_shapes_match(problem: Problem):
    dims = min(problem.shapes, key=lambda d: sum(d.values()))
    a = problem.make_inputs(dims, seed=1)
    b = problem.make_inputs(dims, seed=1)
    c = problem.make_inputs(dims, seed=2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    for spec in problem.inputs:
        assert tuple(a[spec.name].shape) == problem.tensor_shape(spec, dims)
    expected = problem.reference_outputs(a, dims)
    assert set(expected) == {t.name for t in problem.outputs}
    assert all(torch.equal(a[k], b[k]) for k in a), "the reference must not modify its inputs"
    for spec in problem.outputs:
        assert torch.isfinite(expected[spec.name].double()).all()
    buffers = poisoned_buffers(problem, dims)
    assert set(buffers) == {t.name for t in problem.tensors if t.role != "input"}


def test_launch_config_and_bytes_follow_the_shapes():
    problem = get_problem("matmul")
    grid, block, smem = problem.launch_config(problem.launches[0], {"M": 300, "N": 700, "K": 500})
    assert grid == (cdiv(700, 16), cdiv(300, 16), 1) and block == (16, 16, 1) and smem == 0
    attention = get_problem("attention")
    _, block, smem = attention.launch_config(attention.launches[0], {"L": 1000, "d": 64})
    assert block == (128, 1, 1) and smem == 4000
    assert attention.scalar_values({"L": 1000, "d": 64})["scale"] == pytest.approx(0.125)
    dims = {"n": 1000}
    assert get_problem("vector_add").min_read_bytes(dims) == 8000
    assert get_problem("vector_add").min_bytes(dims) == 12000
    assert get_problem("matmul").flop_count({"M": 2, "N": 3, "K": 4}) == 48


def test_mlp_scratch_is_written_by_first_launch_and_const_in_second():
    mlp = get_problem("mlp2")
    first, second = mlp.signatures
    assert "float* h" in first and "const float* h" not in first
    assert "const float* h" in second


def test_bad_problem_definitions_are_rejected_with_one_line():
    base = dict(
        id="ok_problem",
        level=1,
        title="t",
        task="t",
        tensors=(inp("x", "float32", "n"), out("y", "float32", "n")),
        scalars=(dim("n"),),
        launches=(elementwise("k", "x", "y", "n"),),
        shapes=({"n": 4},),
        reference=lambda x, **_: x,
        solution_file="none.cu",
    )
    check_problem(Problem(**base))
    bad = [
        {"id": "Bad-Id"},
        {"shapes": ({"m": 4},)},
        {"launches": (elementwise("k", "x", "y", "missing"),)},
        {"tensors": (inp("x", "float32", "n"), inp("y", "float32", "n"))},
        {"allowed_libraries": ("numpy",)},
    ]
    for change in bad:
        with pytest.raises(ProblemSpecError) as err:
            check_problem(Problem(**{**base, **change}))
        assert "\n" not in str(err.value)


def test_expressions():
    assert evaluate_int("cdiv(n,256)", {"n": 257}) == 2
    assert evaluate("1/sqrt(d)", {"d": 64}) == 0.125
    assert symbols("cdiv(rows*cols, 256) + max(a, 1)") == {"rows", "cols", "a"}
    for text, env in (("n +", {}), ("m", {"n": 1}), ("__import__('os')", {}), ("n/0", {"n": 1}), ("n/3", {"n": 4})):
        with pytest.raises(ExpressionError):
            evaluate_int(text, env)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 10**6))
def test_cdiv_matches_ceiling(a: int, b: int):
    assert evaluate_int("cdiv(a, b)", {"a": a, "b": b}) == -(-a // b) == (a + b - 1) // b


def test_solution_files_are_our_own_cuda():
    for problem in PROBLEMS:
        text = problem.solution_source
        assert re.search(r'extern "C" __global__ void', text)
        assert "torch" not in text
