"""The `skillfoundry` command line."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from skillfoundry.config import Settings
from skillfoundry.flows.prefect_env import apply_prefect_defaults
from skillfoundry.kernels.cli import app as kernels_app
from skillfoundry.llm.spec import ModelSpec, ModelSpecError
from skillfoundry.report.format import lift_block
from skillfoundry.skills.cli import app as skills_app
from skillfoundry.storage.cli import guarded, resolve_data_dir
from skillfoundry.storage.cli import register as register_storage

if TYPE_CHECKING:
    from skillfoundry.flows.distill import DistillResult

app = typer.Typer(
    help="Distil a teacher's know-how into an Agent Skill and measure its lift on students.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(kernels_app, name="kernels", help="CUDA problem suite, NVRTC compile and kernel checks.")
app.add_typer(skills_app, name="skills", help="Validate, import and export Agent Skills.")
console = Console()
errors = Console(stderr=True, soft_wrap=True)


@app.callback()
def main() -> None:
    """Distil a teacher's know-how into an Agent Skill and measure its lift on students."""
    apply_prefect_defaults()  # before any command imports Prefect


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def settings_from(**overrides: object) -> Settings:
    """Settings from the environment with the CLI's overrides; a bad value is a one-line error."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        errors.print(f"[red]error:[/red] --{field.replace('_', '-')}: {first['msg']}")
        raise typer.Exit(2) from None


def check_specs(specs: list[str]) -> None:
    """Every model spec parses, or a one-line error and exit 2 before anything runs."""
    try:
        for spec in specs:
            ModelSpec.parse(spec)
    except ModelSpecError as err:
        errors.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None


def same_experiment(check: Callable[[], object]) -> None:
    """A reused run id must name the same experiment: else a one-line error and exit 2 before anything runs."""
    from skillfoundry.flows.distill import RunConfigError

    try:
        guarded(check)
    except RunConfigError as err:
        errors.print(f"[red]error:[/red] {escape(str(err))}", highlight=False)
        raise typer.Exit(2) from None
    except ValueError as err:
        errors.print(f"[red]error:[/red] {escape(str(err))}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def run(
    teacher: Annotated[str | None, typer.Option(help="Teacher model spec (default: claude-opus-4-5 if ANTHROPIC_API_KEY, else local).")] = None,
    student: Annotated[list[str] | None, typer.Option(help="Student model spec; repeat for several (default: local).")] = None,
    judge: Annotated[str | None, typer.Option(help="Model spec of the LLM judge for rubric checks.")] = None,
    cases: Annotated[int | None, typer.Option(help="Held-out test cases.")] = None,
    train_cases: Annotated[int | None, typer.Option(help="Train problems the teacher solves (and refinement uses).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Answers per case and condition.")] = None,
    refine_rounds: Annotated[int | None, typer.Option(help="Refinement rounds on the train split.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the split and sampling.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where Parquet tables and skill folders go.")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id; reusing one resumes that run with the same settings: what it stored is reused, only what is missing is computed.")] = None,
) -> None:
    """Distil a skill end to end and print the skill lift per student."""
    from skillfoundry.flows.distill import distill, resumable

    settings = settings_from(
        teacher=teacher,
        students=student or None,
        judge=judge,
        cases=cases,
        train_cases=train_cases,
        epochs=epochs,
        refine_rounds=refine_rounds,
        seed=seed,
        data_dir=data_dir,
    )
    check_specs([settings.teacher, *settings.students, *([settings.judge] if settings.judge else [])])
    rid = run_id or new_run_id()
    same_experiment(lambda: resumable(settings, rid, "distill"))
    console.print(f"run [bold]{rid}[/bold]: teacher {settings.teacher}, students {', '.join(settings.students)}, data {settings.data_dir}")
    try:
        result = distill(settings, rid)
    except ValueError as err:  # our errors are one-line ValueErrors naming the thing that is wrong
        errors.print(f"[red]error:[/red] run {rid} failed: {err}")
        raise typer.Exit(1) from None
    print_result(result)


def print_result(result: DistillResult) -> None:
    """The chosen skill, then one block per student that fits the terminal (the full table: `show`)."""
    console.print(f"skill [bold]{result.skill_id}[/bold] at {result.skill_dir}")
    console.print(f"Skill lift, run {result.run_id} (held-out test split)", style="bold", markup=False)
    for r in result.lift:
        console.print()
        for line in lift_block(r, console.width):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"\nall columns: skillfoundry show {result.run_id}", markup=False, highlight=False)


@app.command("eval")
def eval_skill(
    skill_dir: Annotated[Path, typer.Argument(help="A skill folder (SKILL.md; test cases in evals/evals.json or skill_meta.json).")],
    student: Annotated[list[str] | None, typer.Option(help="Student model spec; repeat for several (default: local).")] = None,
    judge: Annotated[str | None, typer.Option(help="Model spec of the LLM judge for rubric checks.")] = None,
    cases: Annotated[int | None, typer.Option(help="CUDA test problems, when the skill brings no cases.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Answers per case and condition.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where Parquet tables and skill folders go.")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id; reusing one resumes that run with the same settings: what it stored is reused, only what is missing is computed.")] = None,
) -> None:
    """Evaluate an existing skill: students with and without it on its test cases; print the lift."""
    from skillfoundry.flows.evaluate_skill import evaluate_skill, resumable_eval

    settings = settings_from(students=student or None, judge=judge, cases=cases, epochs=epochs, data_dir=data_dir)
    check_specs([*settings.students, *([settings.judge] if settings.judge else [])])
    if not (skill_dir / "SKILL.md").is_file():
        errors.print(f"[red]error:[/red] {skill_dir}: expected a skill folder containing SKILL.md")
        raise typer.Exit(2)
    rid = run_id or new_run_id()
    same_experiment(lambda: resumable_eval(skill_dir, settings, rid))
    try:
        result = evaluate_skill(skill_dir, settings, rid)
    except ValueError as err:
        errors.print(f"[red]error:[/red] run {rid} failed: {err}")
        raise typer.Exit(1) from None
    print_result(result)


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="The run to report on.")],
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    data_dir: Annotated[Path | None, typer.Option(help="Where the Parquet tables are.")] = None,
) -> None:
    """Write a self-contained HTML report of a run: lift with CI, per-case lift, findings, cost, config."""
    from skillfoundry.report.data import case_rows, finding_rows
    from skillfoundry.report.html import render_report
    from skillfoundry.storage.query import show_run

    root = resolve_data_dir(data_dir)
    page = guarded(lambda: render_report(show_run(root, run_id), case_rows(root, run_id), finding_rows(root, run_id)))
    out.write_text(page, encoding="utf-8")
    console.print(f"wrote {out}")


@app.command()
def setup() -> None:
    """Build (or find cached) the embedded llama-server and check the embedded model file."""
    from skillfoundry.llm.llama_build import ensure_llama_server
    from skillfoundry.llm.model_file import smollm2_gguf_path

    settings = settings_from()
    binary = ensure_llama_server(settings.cache_dir, log=console.print)
    console.print(f"llama-server: {binary}")
    console.print(f"model: {smollm2_gguf_path()}")


@app.command()
def serve() -> None:
    """Run the embedded local model server in the foreground (OpenAI and Anthropic APIs) until Ctrl-C."""
    from skillfoundry.llm.servers import serve_foreground

    serve_foreground(settings_from())


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port for the Prefect UI on 127.0.0.1.")] = 4200) -> None:
    """Start a Prefect server with its UI on loopback (set PREFECT_API_URL to it to see runs there)."""
    import os
    import subprocess
    import sys

    console.print(f"Prefect UI on http://127.0.0.1:{port}; in another shell: export PREFECT_API_URL=http://127.0.0.1:{port}/api")
    raise typer.Exit(
        subprocess.call(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=os.environ.copy(),
        )
    )


register_storage(app)
