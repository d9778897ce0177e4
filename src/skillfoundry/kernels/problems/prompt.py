"""Render a problem as text: exact C signatures and the student-facing prompt."""

from __future__ import annotations

from skillfoundry.kernels.problems.model import CTYPES, HOST_LIBRARIES, Launch, Problem

_ROLE_TEXT = {
    "input": "input (read-only)",
    "output": "output",
    "scratch": "scratch buffer (yours between launches; contents undefined at the start)",
}


def _expr(e: object) -> str:
    return str(e).replace(",", ", ").replace(",  ", ", ")


def signature(problem: Problem, launch: Launch) -> str:
    """The exact declaration the student must define, e.g. ``extern "C" __global__ void f(const float* a, ...)``."""
    written = problem.written_by(launch)
    params = []
    for name in launch.args:
        scalar = problem.scalar(name)
        if scalar is not None:
            params.append(f"{CTYPES[scalar.dtype]} {name}")
        else:
            const = "" if name in written else "const "
            params.append(f"{const}{CTYPES[problem.tensor(name).dtype]}* {name}")
    return f'extern "C" __global__ void {launch.entry}({", ".join(params)});'


def _headers(problem: Problem) -> list[str]:
    dtypes = {t.dtype for t in problem.tensors}
    headers = []
    if "float16" in dtypes:
        headers.append("`#include <cuda_fp16.h>` for `__half`")
    if "bfloat16" in dtypes:
        headers.append("`#include <cuda_bf16.h>` for `__nv_bfloat16`")
    return headers


def _launch_line(index: int, problem: Problem, launch: Launch) -> str:
    grid = list(launch.grid) + [1] * (3 - len(launch.grid))
    block = list(launch.block) + [1] * (3 - len(launch.block))
    return (
        f"{index}. `{launch.entry}` with grid = ({', '.join(_expr(g) for g in grid)}) blocks of "
        f"({', '.join(str(b) for b in block)}) threads and {_expr(launch.shared_bytes)} bytes of dynamic shared "
        f"memory, arguments ({', '.join(launch.args)})."
    )


def render_prompt(problem: Problem) -> str:
    """The full task text a student model receives."""
    lines = [f"# Kernel problem `{problem.id}` (level {problem.level}): {problem.title}", "", problem.task.strip(), ""]
    lines += ["## Data", "All tensors are contiguous, row-major, in GPU global memory:"]
    for t in problem.tensors:
        shape = ", ".join(_expr(s) for s in t.shape)
        lines.append(f"- `{t.name}`: {t.dtype} [{shape}], {_ROLE_TEXT[t.role]}")
    if problem.scalars:
        lines.append("Scalar arguments (passed by value):")
        for s in problem.scalars:
            value = "" if str(s.value) == s.name else f" = {_expr(s.value)}"
            doc = f": {s.doc}" if s.doc else ""
            lines.append(f"- `{s.name}` ({CTYPES[s.dtype]}){value}{doc}")
    lines += ["", "## Required signature" + ("s" if len(problem.launches) > 1 else ""), "```cuda"]
    lines += problem.signatures
    lines += ["```"]
    headers = _headers(problem)
    if headers:
        lines.append("Include " + " and ".join(headers) + ".")
    lines += [
        "",
        "## Launch contract",
        "The harness compiles your file with NVRTC (device code only: no host code, no `main`, no `<<<...>>>`)",
        "and launches, in this order on one stream:",
    ]
    lines += [_launch_line(i + 1, problem, launch) for i, launch in enumerate(problem.launches)]
    lines += [
        "`cdiv(a, b)` is (a + b - 1) / b. Your kernel must be correct for exactly this launch configuration.",
        "Shapes tested: " + "; ".join(", ".join(f"{k}={v}" for k, v in dims.items()) for dims in problem.shapes) + ".",
        "",
        "## Rules",
        "- Write every element of every output: outputs start filled with NaN. Never modify the inputs.",
    ]
    tolerances = sorted({t.dtype for t in problem.outputs})
    for dtype in tolerances:
        tol = problem.tolerance_for(dtype)
        lines.append(
            f"- {dtype} outputs must match the PyTorch reference elementwise: "
            f"|out - ref| <= {tol.atol:g} + {tol.rtol:g} * |ref|."
        )
    banned = [lib for lib in HOST_LIBRARIES if lib not in problem.allowed_libraries]
    lines += [
        f"- No library fallbacks ({', '.join(banned)}); CUB/libcu++ device headers are fine.",
        "- No streams, events, memory allocation, device management or device-side launches; no clock/timer reads;",
        "  no `__device__` global variables (no state kept between launches).",
        "- float32 arithmetic must keep float32 precision (no TF32 or half-precision shortcuts).",
        "",
        "Answer with one ```cuda code block holding the complete .cu file.",
    ]
    return "\n".join(lines) + "\n"
