"""The decision commands of the ``skillfoundry`` CLI: config, compare, recommend."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
errors = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the decision commands to ``app``."""

    @app.command("config")
    def config() -> None:
        """Show every setting, its value and where it came from (flag > env > config file > default)."""
        from pydantic import ValidationError

        from skillfoundry.config import ConfigFileError, Settings, config_file, setting_error, setting_origins

        try:
            path = config_file()
            settings = Settings()
            origins = setting_origins({})
        except ConfigFileError as err:
            errors.print(f"[red]error:[/red] {escape(str(err))}")
            raise typer.Exit(2) from None
        except ValidationError as err:
            first = err.errors()[0]
            errors.print(f"[red]error:[/red] {escape(setting_error(first['loc'], first['msg'], {}))}")
            raise typer.Exit(2) from None
        console.print(
            f"config file: {path if path else 'none (skillfoundry.toml or [tool.skillfoundry] in pyproject.toml)'}",
            highlight=False,
            soft_wrap=True,
        )
        table = Table(title="Settings (flag > env > file > default)")
        for column in ("setting", "value", "from"):
            table.add_column(column, overflow="fold")
        for name, origin in origins.items():
            table.add_row(name, escape(str(getattr(settings, name))), escape(origin.where))
        console.print(table)
