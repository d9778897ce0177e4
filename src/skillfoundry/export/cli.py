"""``skillfoundry export``: write stored runs in other tools' formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from skillfoundry.storage.cli import DataDir, guarded, resolve_data_dir

app = typer.Typer(help="Export stored runs (inspect_ai eval logs).", no_args_is_help=True)
errors = Console(stderr=True)


@app.command("inspect")
def inspect_cmd(
    run_id: Annotated[str, typer.Argument(help="The run to export.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the .eval logs (open with `inspect view --log-dir`).")],
    data_dir: DataDir = None,
) -> None:
    """Write RUN_ID as inspect_ai eval logs, one per student x condition."""
    try:
        from skillfoundry.export.inspect_log import export_inspect
    except ImportError:
        errors.print("error: inspect export needs inspect-ai: pip install 'skillfoundry[inspect]'", highlight=False)
        raise typer.Exit(2) from None
    files = guarded(lambda: export_inspect(resolve_data_dir(data_dir), run_id, out))
    for path in files:
        typer.echo(str(path))
