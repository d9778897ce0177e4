"""Storage commands for the ``skillfoundry`` CLI: query, runs, show, db, compact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from skillfoundry.report.format import LIFT_HEADERS, lift_block, lift_cells
from skillfoundry.storage.errors import StorageError

if TYPE_CHECKING:
    from skillfoundry.storage.query import LiftSummary

T = TypeVar("T")
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data dir of the Parquet tables (default: SKILLFOUNDRY_DATA_DIR or the user data dir)."
    ),
]
console = Console()
errors = Console(stderr=True)


def resolve_data_dir(data_dir: Path | None) -> Path:
    """The given data dir, else the one from the settings (environment)."""
    if data_dir is not None:
        return data_dir
    from skillfoundry.config import Settings

    return Settings().data_dir


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``; a StorageError becomes a one-line message on stderr and exit code 2."""
    try:
        return action()
    except StorageError as err:
        errors.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def print_lift_blocks(out: Console, title: str, rows: list[LiftSummary], *, with_skill: bool = False) -> None:
    """Lift rows as one block each (``report.format.lift_block``), readable at any width from 40 columns."""
    out.print(title, style="bold", markup=False)
    for r in rows:
        out.print()
        if with_skill:
            out.print(f"skill {r.skill_id or '-'}", markup=False, highlight=False)
        for line in lift_block(r, out.width):
            out.print(line, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the storage commands to ``app``."""

    @app.command("query")
    def query(
        sql: Annotated[str, typer.Argument(help="One SELECT over the tables and views (skill_lift, pass_rates, ...).")],
        data_dir: DataDir = None,
        fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet.")] = "table",
        out: Annotated[Path | None, typer.Option("--out", help="Write the result to this file.")] = None,
    ) -> None:
        """Run SQL over the store's DuckDB catalog."""
        from skillfoundry.storage.query import run_query

        text = guarded(lambda: run_query(resolve_data_dir(data_dir), sql, fmt, out))  # type: ignore[arg-type]
        if out is None or fmt == "parquet":
            console.print(text, end="" if text.endswith("\n") else "\n", highlight=False, markup=False)

    @app.command("runs")
    def runs(data_dir: DataDir = None) -> None:
        """List runs, newest first."""
        from skillfoundry.storage.query import list_runs

        rows = guarded(lambda: list_runs(resolve_data_dir(data_dir)))
        table = Table(title="Runs")
        for column in ("run", "flow", "status", "started", "finished", "students", "answers"):
            table.add_column(column)
        for r in rows:
            table.add_row(
                r.run_id,
                r.flow or "-",
                r.status or "-",
                r.started_at.isoformat(timespec="seconds") if r.started_at else "-",
                r.finished_at.isoformat(timespec="seconds") if r.finished_at else "-",
                ", ".join(r.models),
                str(r.n_generations),
            )
        console.print(table)

    @app.command("show")
    def show(
        run_id: Annotated[str, typer.Argument(help="The run to show.")],
        data_dir: DataDir = None,
    ) -> None:
        """Show one run: config, lift per student with 95% CI, cost."""
        from skillfoundry.storage.query import show_run

        detail = guarded(lambda: show_run(resolve_data_dir(data_dir), run_id))
        run = detail.run
        console.print(
            f"run [bold]{run.run_id}[/bold]  flow {run.flow or '-'}  status {run.status or '-'}  "
            f"started {run.started_at or '-'}  finished {run.finished_at or '-'}"
        )
        config = Table(title="Config")
        config.add_column("setting")
        config.add_column("value")
        for key, value in sorted(detail.config.items()):
            config.add_row(key, str(value))
        console.print(config)
        lift = Table(title="Skill lift (held-out test split, paired bootstrap over cases)")
        for column in ("skill", *LIFT_HEADERS):
            lift.add_column(column)
        for r in detail.lift:
            lift.add_row(r.skill_id or "-", *lift_cells(r))
        if console.measure(lift, options=console.options.update_width(10**4)).maximum <= console.width:
            console.print(lift)
        else:  # too narrow for every column whole: one block per student and skill instead
            print_lift_blocks(console, str(lift.title), detail.lift, with_skill=True)
        cost = Table(title="Cost")
        for column in ("model", "role", "tokens in", "tokens out", "USD", "GPU s"):
            cost.add_column(column)
        for c in detail.cost:
            cost.add_row(
                c.model or "-",
                c.role,
                str(c.input_tokens),
                str(c.output_tokens),
                "unpriced" if c.usd is None else f"{c.usd:.4f}",
                f"{c.gpu_seconds:.3f}",
            )
        console.print(cost)

    @app.command("db")
    def db(
        path: Annotated[Path, typer.Argument(help="DuckDB file to write (open it later with `duckdb PATH`).")],
        data_dir: DataDir = None,
    ) -> None:
        """Export a DuckDB database file with every view over the store's Parquet files."""
        from skillfoundry.storage.query import export_db

        target = guarded(lambda: export_db(resolve_data_dir(data_dir), path))
        console.print(f"wrote {target}; open it with: duckdb {target}", highlight=False, soft_wrap=True, markup=False)

    @app.command("compact")
    def compact(data_dir: DataDir = None) -> None:
        """Merge small files per run and refresh the rollup of cells (query results do not change)."""
        from skillfoundry.storage.compact import compact as run_compact

        report = guarded(lambda: run_compact(resolve_data_dir(data_dir)))
        console.print(
            f"merged {report.partitions_merged} partitions ({report.files_removed} files), "
            f"rolled up {report.runs_rolled_up} runs (replacing {report.rollup_files_replaced} rollup files), "
            f"removed {report.temp_files_removed} stale temp files",
            highlight=False,
            soft_wrap=True,
        )
