"""The decision commands of the ``skillfoundry`` CLI: config, compare, recommend."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from skillfoundry.storage.catalog import DEFAULT_MIN_CASES
from skillfoundry.storage.cli import DataDir, guarded, resolve_data_dir

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON instead of tables.")]
console = Console()
errors = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the decision commands to ``app``."""

    @app.command("config")
    def config() -> None:
        """Show every setting, its value and where it came from (flag > env > config file > default)."""
        from skillfoundry.cli import settings_from
        from skillfoundry.config import config_file, setting_origins

        settings = settings_from()  # a bad file or variable: the same one-line error as every command
        path = config_file()
        origins = setting_origins({})
        console.print(
            f"config file: {path if path else 'none (skillfoundry.toml or [tool.skillfoundry] in pyproject.toml)'}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        table = Table(title="Settings (flag > env > file > default)")
        for column in ("setting", "value", "from"):
            table.add_column(column, overflow="fold")
        for name, origin in origins.items():
            table.add_row(name, escape(str(getattr(settings, name))), escape(origin.where))
        console.print(table)

    @app.command("compare")
    def compare_cmd(
        side_a: Annotated[str, typer.Argument(metavar="A", help="A run id or a skill id (prefix of 4+ characters).")],
        side_b: Annotated[str, typer.Argument(metavar="B", help="The run or skill version to compare against A.")],
        data_dir: DataDir = None,
        min_cases: Annotated[
            int, typer.Option(help="Fewer common test cases give 'inconclusive'.")
        ] = DEFAULT_MIN_CASES,
        as_json: JsonFlag = False,
    ) -> None:
        """Compare two runs (their latest skill version per student) or two skill versions, per student."""
        from skillfoundry.decisions.compare import compare, pairs
        from skillfoundry.decisions.render import comparison_tables
        from skillfoundry.storage.decide import paired_lift, side

        root = resolve_data_dir(data_dir)
        a = guarded(lambda: side(root, side_a, min_cases=min_cases))
        b = guarded(lambda: side(root, side_b, min_cases=min_cases))
        result = compare(a, b, paired=guarded(lambda: paired_lift(pairs(a, b), min_cases=min_cases)))
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
            return
        for table in comparison_tables(result):
            console.print(table)
            console.print()

    @app.command("recommend")
    def recommend_cmd(
        target_pass_rate: Annotated[float, typer.Option(help="Pass rate the lower 95% CI bound must reach.")] = 0.8,
        runs: Annotated[
            list[str] | None, typer.Option("--runs", help="Only these runs (repeat; default: every run).")
        ] = None,
        data_dir: DataDir = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Every (student, skill or none) with pass rate, CI and cost per solved case; the Pareto front;
        the cheapest configuration whose lower CI bound reaches the target."""
        from skillfoundry.decisions.recommend import recommend
        from skillfoundry.decisions.render import recommendation_table
        from skillfoundry.storage.decide import config_rows

        root = resolve_data_dir(data_dir)
        rows = guarded(lambda: config_rows(root, runs or None))
        try:
            result = recommend(rows, target_pass_rate)
        except ValueError as err:
            errors.print(f"[red]error:[/red] {escape(str(err))}")
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
            return
        console.print(recommendation_table(result))
        console.print("> the pick, * on the Pareto front of cost vs pass rate", highlight=False)
        console.print(result.statement, highlight=False, soft_wrap=False)
