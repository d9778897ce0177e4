"""``skillfoundry trace``: bring work done elsewhere in as teacher traces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from skillfoundry.llm.claude_code import SessionFormatError, session_trace
from skillfoundry.storage.cli import resolve_data_dir
from skillfoundry.storage.writer import write_rows

app = typer.Typer(no_args_is_help=True)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


@app.command("import")
def import_session(
    session: Annotated[Path, typer.Argument(help="A Claude Code session file (~/.claude/projects/<project>/<id>.jsonl).")],
    run_id: Annotated[str, typer.Option(help="Run id to store the trace under.")] = "imported",
    data_dir: Annotated[Path | None, typer.Option(help="Where Parquet tables go.")] = None,
) -> None:
    """Store a Claude Code session as a teacher trace that skill extraction can read."""
    try:
        record = session_trace(session, run_id=run_id)
    except (OSError, SessionFormatError) as err:
        errors.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    write_rows(resolve_data_dir(data_dir), "traces", [record])
    console.print(
        f"trace {record.trace_id} (run {run_id}): {record.turns} model turns, {record.tool_calls} tool calls, "
        f"{record.input_tokens} input + {record.output_tokens} output tokens, ${record.cost_usd:.4f}, model {record.model}"
    )
