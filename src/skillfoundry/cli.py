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

from skillfoundry.config import ConfigFileError, Settings, setting_error
from skillfoundry.decisions.cli import register as register_decisions
from skillfoundry.export.cli import app as export_app
from skillfoundry.flows.prefect_env import apply_prefect_defaults
from skillfoundry.kernelbench.cli import register as register_kernelbench
from skillfoundry.kernels.cli import app as kernels_app
from skillfoundry.llm.cli import app as trace_app
from skillfoundry.llm.spec import ModelSpec, ModelSpecError
from skillfoundry.skills.cli import app as skills_app
from skillfoundry.storage.cli import guarded, print_lift_blocks, resolve_data_dir
from skillfoundry.storage.cli import register as register_storage

if TYPE_CHECKING:
    from skillfoundry.flows.distill import DistillResult

app = typer.Typer(
    help="Distil a teacher's know-how into an Agent Skill and measure its lift on students.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
register_kernelbench(kernels_app)
app.add_typer(kernels_app, name="kernels", help="CUDA problem suite, NVRTC compile and kernel checks.")
app.add_typer(skills_app, name="skills", help="Validate, import and export Agent Skills.")
app.add_typer(export_app, name="export", help="Export stored runs in other tools' formats (inspect_ai logs).")
app.add_typer(trace_app, name="trace", help="Import teacher traces (a Claude Code session).")
console = Console()
errors = Console(stderr=True, soft_wrap=True)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def settings_from(**overrides: object) -> Settings:
    """Settings from the CLI's overrides, the environment and the config file; a bad value is a one-line
    error naming the flag, variable or file it came from."""
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**flags)
    except ConfigFileError as err:
        errors.print(f"[red]error:[/red] {escape(str(err))}")
        raise typer.Exit(2) from None
    except ValidationError as err:
        first = err.errors()[0]
        errors.print(f"[red]error:[/red] {escape(setting_error(first['loc'], first['msg'], flags))}")
        raise typer.Exit(2) from None


def check_specs(specs: list[str]) -> None:
    """Every model spec parses, or a one-line error and exit 2 before anything runs."""
    try:
        for spec in specs:
            ModelSpec.parse(spec)
    except ModelSpecError as err:
        errors.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None


def before_start(check: Callable[[], object], prefix: str = "") -> None:
    """Run ``check`` before anything starts: a ValueError from it is a one-line error and exit 2."""
    try:
        check()
    except ValueError as err:
        errors.print(f"[red]error:[/red] {prefix}{escape(str(err))}")
        raise typer.Exit(2) from None


def check_traces(settings: Settings) -> None:
    """Every trace the skill is to be extracted from is stored."""
    from skillfoundry.storage.resume import stored_traces

    before_start(lambda: stored_traces(settings.data_dir, settings.trace_ids))


def check_suite(settings: Settings) -> None:
    """The kernel suite exists."""
    from skillfoundry.domain.cuda import suite_problems

    before_start(lambda: suite_problems(settings.suite, settings.data_dir), "--suite: ")


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
    suite: Annotated[str | None, typer.Option(help="Kernel problem suite: native, or an imported KernelBench level (kernelbench-l1).")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id; reusing one resumes that run with the same settings: what it stored is reused, only what is missing is computed.")] = None,
    task_runner: Annotated[str | None, typer.Option(help="Where the fan-out runs: threads (default), dask (a local cluster) or dask=tcp://HOST:PORT.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the models again instead of serving seeded requests from the response cache.")] = False,
    budget_usd: Annotated[float | None, typer.Option(help="Stop the run before it spends more than this many USD (resume it to finish).")] = None,
    trace_id: Annotated[list[str] | None, typer.Option(help="Extract the skill from this stored trace instead of a new teacher trace (e.g. one from `trace import`); repeat for several.")] = None,
) -> None:
    """Distil a skill end to end and print the skill lift per student."""
    from skillfoundry.flows.distill import distill, resumable
    from skillfoundry.flows.prefect_server import prefect_api
    from skillfoundry.flows.runners import TaskRunnerError, on_runner

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
        suite=suite,
        response_cache=False if no_cache else None,
        budget_usd=budget_usd,
        trace_ids=trace_id or None,
    )
    check_specs([settings.teacher, *settings.students, *([settings.judge] if settings.judge else [])])
    check_suite(settings)
    check_traces(settings)
    try:
        flow = on_runner(distill, task_runner)
    except TaskRunnerError as err:
        errors.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    rid = run_id or new_run_id()
    same_experiment(lambda: resumable(settings, rid, "distill"))
    console.print(f"run [bold]{rid}[/bold]: teacher {settings.teacher}, students {', '.join(settings.students)}, data {settings.data_dir}", soft_wrap=True)
    try:
        with prefect_api():  # a local Prefect server that dies with this run, unless PREFECT_API_URL is set
            result = flow(settings, rid)
    except ValueError as err:  # our errors are one-line ValueErrors naming the thing that is wrong
        errors.print(f"[red]error:[/red] run {rid} failed: {err}")
        raise typer.Exit(1) from None
    print_result(result)


def print_result(result: DistillResult) -> None:
    """The chosen skill, then one block per student that fits the terminal (the full table: `show`)."""
    console.print(f"skill [bold]{result.skill_id}[/bold] at {result.skill_dir}", soft_wrap=True)
    print_lift_blocks(console, f"Skill lift, run {result.run_id} (held-out test split)", result.lift)
    console.print(f"\nall columns: skillfoundry show {result.run_id}", markup=False, highlight=False)


@app.command("eval")
def eval_skill(
    skill_dir: Annotated[Path, typer.Argument(help="A skill folder (SKILL.md; test cases in evals/evals.json or skill_meta.json).")],
    student: Annotated[list[str] | None, typer.Option(help="Student model spec; repeat for several (default: local).")] = None,
    judge: Annotated[str | None, typer.Option(help="Model spec of the LLM judge for rubric checks.")] = None,
    cases: Annotated[int | None, typer.Option(help="CUDA test problems, when the skill brings no cases.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Answers per case and condition.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where Parquet tables and skill folders go.")] = None,
    suite: Annotated[str | None, typer.Option(help="Kernel problem suite for a skill without cases: native, or an imported KernelBench level (kernelbench-l1).")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id; reusing one resumes that run with the same settings: what it stored is reused, only what is missing is computed.")] = None,
    task_runner: Annotated[str | None, typer.Option(help="Where the fan-out runs: threads (default), dask (a local cluster) or dask=tcp://HOST:PORT.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the models again instead of serving seeded requests from the response cache.")] = False,
) -> None:
    """Evaluate an existing skill: students with and without it on its test cases; print the lift."""
    from skillfoundry.flows.evaluate_skill import evaluate_skill, resumable_eval
    from skillfoundry.flows.prefect_server import prefect_api
    from skillfoundry.flows.runners import TaskRunnerError, on_runner

    settings = settings_from(students=student or None, judge=judge, cases=cases, epochs=epochs, data_dir=data_dir,
                             suite=suite, response_cache=False if no_cache else None)
    check_specs([*settings.students, *([settings.judge] if settings.judge else [])])
    check_suite(settings)
    if not (skill_dir / "SKILL.md").is_file():
        errors.print(f"[red]error:[/red] {skill_dir}: expected a skill folder containing SKILL.md")
        raise typer.Exit(2)
    try:
        flow = on_runner(evaluate_skill, task_runner)
    except TaskRunnerError as err:
        errors.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    rid = run_id or new_run_id()
    same_experiment(lambda: resumable_eval(skill_dir, settings, rid))
    try:
        with prefect_api():
            result = flow(skill_dir, settings, rid)
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
    """Write a self-contained HTML report of a run: lift with CI, recommendation, plots, per-case lift,
    findings, cost, config."""
    from skillfoundry.decisions.report_data import report_plots
    from skillfoundry.report.data import case_rows, finding_rows
    from skillfoundry.report.html import render_report
    from skillfoundry.storage.query import show_run

    root = resolve_data_dir(data_dir)
    page = guarded(
        lambda: render_report(
            show_run(root, run_id), case_rows(root, run_id), finding_rows(root, run_id), report_plots(root, run_id)
        )
    )
    out.write_text(page, encoding="utf-8")
    console.print(f"wrote {out}", soft_wrap=True)


@app.command()
def setup() -> None:
    """Build (or find cached) the embedded llama-server and check the embedded model file."""
    from skillfoundry.llm.llama_build import ensure_llama_server
    from skillfoundry.llm.model_file import smollm2_gguf_path

    def say(message: str) -> None:  # plain lines: no colours in version numbers, paths never wrapped
        console.print(message, highlight=False, markup=False, soft_wrap=True)

    settings = settings_from()
    binary = ensure_llama_server(settings.cache_dir, log=say)
    say(f"llama-server: {binary}")
    say(f"model: {smollm2_gguf_path()}")


@app.command()
def serve() -> None:
    """Run the embedded local model server in the foreground (OpenAI and Anthropic APIs) until Ctrl-C."""
    from skillfoundry.llm.servers import serve_foreground

    serve_foreground(settings_from())


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port for the Prefect UI and API on 127.0.0.1.")] = 4200,
    worker: Annotated[bool, typer.Option(help="Also start a worker for the work pool (runs deployments).")] = False,
    pool: Annotated[str, typer.Option(help="Work pool the worker polls.")] = "skillfoundry",
) -> None:
    """Start a Prefect server with its UI on loopback (and a worker); both stop with this command."""
    import asyncio

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from skillfoundry.flows.deploy import project_root
    from skillfoundry.flows.prefect_server import PrefectServer, PrefectWorker
    from skillfoundry.flows.zombies import ensure_zombie_automation
    from skillfoundry.llm.servers import ServerError

    try:
        with PrefectServer(port=port, ui=True) as server:
            with temporary_settings({PREFECT_API_URL: server.api_url}):
                asyncio.run(ensure_zombie_automation())
            console.print(
                f"Prefect UI on {server.base_url}; in another shell: export PREFECT_API_URL={server.api_url}",
                soft_wrap=True,
            )
            if worker:
                with PrefectWorker(pool, server.api_url, workdir=project_root()) as running:
                    console.print(f"worker polling pool {pool} (log {running.log_path})")
                    server.wait()
            else:
                server.wait()
    except ServerError as err:
        errors.print(f"[red]error:[/red] {err}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("stopped")


@app.command()
def deploy(
    prefect_file: Annotated[Path | None, typer.Option(help="The prefect.yaml to deploy (default: the project's).")] = None,
) -> None:
    """Create the work pool if missing and register the deployments of prefect.yaml on the configured Prefect API."""
    import asyncio

    from skillfoundry.flows.deploy import PROJECT_FILE, DeployError, pools_of, project_root
    from skillfoundry.flows.deploy import deploy as register
    from skillfoundry.flows.prefect_server import configured_api_url
    from skillfoundry.flows.zombies import AUTOMATION_NAME, ensure_zombie_automation

    api_url = configured_api_url()
    if not api_url:
        errors.print(
            "[red]error:[/red] PREFECT_API_URL is not set: start a server (`skillfoundry ui`) and export the URL it prints"
        )
        raise typer.Exit(2)
    path = prefect_file or project_root() / PROJECT_FILE
    try:
        created = register(path, api_url)
    except DeployError as err:
        errors.print(f"[red]error:[/red] {err}")
        raise typer.Exit(1) from None
    for pool in created:
        console.print(f"created work pool {pool} (process)")
    if asyncio.run(ensure_zombie_automation()):
        console.print(f"created automation {AUTOMATION_NAME!r}")
    console.print(f"registered the deployments of {path} on {api_url}", soft_wrap=True)
    for pool in pools_of(path):
        console.print(
            f"start a worker: SKILLFOUNDRY_HOME={path.parent} PREFECT_API_URL={api_url} prefect worker start --pool {pool}"
            f"  (or: skillfoundry ui --worker)",
            soft_wrap=True,
        )


@app.command()
def lineage(
    skill_id: Annotated[str, typer.Argument(help="A skill version id (as printed by `run` and stored in skills).")],
    data_dir: Annotated[Path | None, typer.Option(help="Where the Parquet tables are.")] = None,
) -> None:
    """Print where a skill came from and where it went: trace -> skill -> refinements -> evaluations."""
    from rich.tree import Tree

    from skillfoundry.storage.lineage import skill_lineage

    found = guarded(lambda: skill_lineage(resolve_data_dir(data_dir), skill_id))

    def add(node: Tree, version_id: str) -> None:
        version = next(v for v in found.versions if v.skill_id == version_id)
        mark = " [bold](asked)[/bold]" if version.skill_id == found.skill_id else ""
        kind = "skill" if version.parent_skill_id is None else "refinement"
        branch = node.add(f"{kind} {version.skill_id} {version.name} round {version.round}{mark}")
        for trace in version.traces:
            branch.add(f"trace {trace}")
        for evaluation in version.evaluations:
            branch.add(f"evaluation {evaluation}")
        for child in found.children(version.skill_id):
            add(branch, child.skill_id)

    tree = Tree(f"lineage of skill {skill_id}")
    add(tree, found.versions[0].skill_id)
    console.print(tree, soft_wrap=True)


register_storage(app)
register_decisions(app)


@app.callback()
def verbosity_options(
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Only results and errors: no progress display, Prefect warnings only. Works after any command too.",
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="More output (Prefect debug logs). Works after any command too."
        ),
    ] = 0,
) -> None:
    """Distil a teacher's know-how into an Agent Skill and measure its lift on students."""
    from skillfoundry.progress import set_verbosity

    apply_prefect_defaults()  # before any command imports Prefect
    if quiet or verbose:
        set_verbosity(-1 if quiet else verbose)


def main() -> None:
    """The console entry point: ``-q/-v`` are accepted anywhere on the command line."""
    import sys

    from skillfoundry.progress import hoist_verbosity

    app(args=hoist_verbosity(sys.argv[1:]), prog_name="skillfoundry")
