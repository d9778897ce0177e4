"""``skillfoundry kernels import-kernelbench``: read a local KernelBench checkout into stored suites."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from skillfoundry.storage.cli import DataDir, resolve_data_dir

errors = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add ``import-kernelbench`` to the ``kernels`` command group."""

    @app.command("import-kernelbench")
    def import_kernelbench_cmd(
        path: Annotated[Path, typer.Argument(help="A local KernelBench checkout (or its KernelBench/ folder).")],
        level: Annotated[
            list[int] | None, typer.Option("--level", help="Levels to import; repeat (default 1 2 3).")
        ] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Store KernelBench problem files as suites kernelbench-l1/-l2/-l3 (parsed, never executed)."""
        from skillfoundry.kernelbench.problems import LEVELS, KernelBenchError, import_kernelbench

        try:
            suites = import_kernelbench(path, resolve_data_dir(data_dir), tuple(level or LEVELS))
        except (KernelBenchError, OSError) as err:
            errors.print(f"error: {err}", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(2) from None
        for suite in suites:
            typer.echo(f"{suite.name}: {len(suite.problems)} problems ({', '.join(p.id for p in suite.problems)})")
