"""``skillfoundry kernels ...``: list problems, show one, compile a file, check a file against a problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from skillfoundry.kernels.candidate import check_candidate
from skillfoundry.kernels.compile import compile_cuda, validate_arch
from skillfoundry.kernels.errors import KernelEngineError
from skillfoundry.kernels.problems import get_problem, list_problems

app = typer.Typer(help="CUDA kernel problems: list, show, compile, check.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .cu file")]
ArchOpt = Annotated[str, typer.Option("--arch", help="Target architecture, e.g. sm_80, sm_90")]


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@app.command("list")
def list_cmd(
    level: Annotated[int | None, typer.Option(help="Only this level (1, 2 or 3)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List the kernel problems."""
    problems = list_problems(level)
    if as_json:
        _echo_json([{"id": p.id, "level": p.level, "title": p.title, "entry_points": p.entry_points} for p in problems])
        return
    width = max(len(p.id) for p in problems)
    for p in problems:
        typer.echo(f"L{p.level}  {p.id:<{width}}  {p.title}  [{', '.join(p.entry_points)}]")


@app.command()
def show(
    problem_id: Annotated[str, typer.Argument(help="Problem id")],
    solution: Annotated[bool, typer.Option(help="Print the reference solution instead of the prompt")] = False,
) -> None:
    """Print a problem's student prompt (or its reference solution)."""
    try:
        problem = get_problem(problem_id)
    except KernelEngineError as exc:
        raise _fail(str(exc)) from None
    typer.echo(problem.solution_source if solution else problem.prompt, nl=False)


@app.command("compile")
def compile_cmd(file: FileArg, arch: ArchOpt = "sm_90") -> None:
    """Compile FILE.cu with NVRTC; print JSON: ok, log, registers, spills, smem."""
    try:
        build = compile_cuda(file.read_text("utf-8"), arch=arch)
    except (KernelEngineError, UnicodeDecodeError) as exc:
        raise _fail(f"{file}: {exc}") from None
    _echo_json(build.summary())
    if not build.ok:
        raise typer.Exit(code=1)


@app.command()
def check(
    file: FileArg,
    problem: Annotated[str, typer.Option("--problem", "-p", help="Problem id")],
    arch: ArchOpt = "sm_90",
    timing: Annotated[bool, typer.Option(help="Time on the GPU (with torch.compile reference)")] = True,
) -> None:
    """Compile FILE.cu, run the static checks for a problem, and on a GPU check correctness and time it."""
    try:
        spec = get_problem(problem)
        source = file.read_text("utf-8")
        checked = check_candidate(source, spec, archs=(validate_arch(arch),))
    except (KernelEngineError, UnicodeDecodeError) as exc:
        raise _fail(f"{file}: {exc}") from None
    build = checked.failed_build or (checked.builds[0] if checked.builds else None)
    report: dict[str, Any] = {
        "problem": spec.id,
        "compile": {k: v for k, v in build.summary().items() if k != "kernels"} if build else None,
        "findings": [f.model_dump() for f in checked.findings],
    }
    ok = checked.stage == "ok"
    from skillfoundry.kernels.gpu import available

    if ok and available():
        from skillfoundry.kernels.gpu.runner import run_candidate

        run = run_candidate(spec, source, timing_trials=100 if timing else 1, compile_reference=timing)
        report["gpu"] = {
            "device": run.gpu.model_dump() if run.gpu else run.device_name,
            "correct": run.correct,
            "error_kind": run.error_kind,
            "error": run.error,
            "shapes": [
                s.model_dump(
                    exclude={"samples_ms", "ref_samples_ms", "ref_compiled_samples_ms", "trials", "post_trials"}
                )
                for s in run.shapes
            ],
        }
        ok = run.correct
    elif ok:
        report["gpu"] = None
        report["note"] = "No GPU here: compiled and statically checked only; correctness and timing NOT checked."
    _echo_json(report)
    if not ok:
        raise typer.Exit(code=1)
