"""How much the CLI says: ``-q/-v`` on every command, and a live progress display for long stages.

Verbosity is -1 (``-q``: results and errors only; Prefect logs warnings only), 0 (default) or 1+ (``-v``:
Prefect logs at DEBUG). A stage shows a rich progress bar on stderr only when stderr is a terminal and
the CLI is not quiet; otherwise it draws nothing (logs and pipes stay clean) but still counts, so the
summary it returns is the same either way.

Usage by a long stage (one line per unit of work, from any thread)::

    with stage("local with_skill", total=len(requests)) as s:
        for result in results_as_they_finish:
            s.advance(tokens=result.output_tokens, error=result.error is not None, usd=result.usd)
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

VERBOSITY_ENV = "SKILLFOUNDRY_VERBOSITY"
_PREFECT_LEVELS = {-1: "WARNING", 0: "INFO", 1: "DEBUG"}


def verbosity() -> int:
    """The current level: -1 quiet, 0 normal, 1+ verbose (inherited by subprocesses via the environment)."""
    try:
        return int(os.environ.get(VERBOSITY_ENV, "0"))
    except ValueError:
        return 0


def set_verbosity(level: int) -> None:
    """Set the level for this process and its children, and Prefect's log level to match."""
    os.environ[VERBOSITY_ENV] = str(level)
    os.environ["PREFECT_LOGGING_LEVEL"] = _PREFECT_LEVELS[max(-1, min(level, 1))]


VERBOSITY_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "-vv", "-vvv"})


def hoist_verbosity(argv: list[str]) -> list[str]:
    """``argv`` with every -q/-v flag (before a ``--``) moved to the front, so that the root command's
    options work after any subcommand too: ``skillfoundry run -q`` is ``skillfoundry -q run``."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in VERBOSITY_FLAGS]
    return flags + [a for a in argv[:end] if a not in VERBOSITY_FLAGS] + argv[end:]


class StageSummary(BaseModel):
    """What a stage did: units done of total, tokens, errors, USD, seconds."""

    name: str
    done: int
    total: int
    tokens: int
    errors: int
    usd: float
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """One line for logs and the final summary."""
        return (
            f"{self.name}: {self.done}/{self.total} done, {self.errors} errors, {self.tokens} tokens "
            f"({self.tokens_per_s:.0f} tok/s), ${self.usd:.4f}, {self.seconds:.1f} s"
        )


class Stage:
    """Counts of one running stage; ``advance`` is thread-safe and updates the display if there is one."""

    def __init__(self, name: str, total: int, progress: Progress | None) -> None:
        self.name, self.total = name, total
        self.done = self.tokens = self.errors = 0
        self.usd = 0.0
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._progress = progress
        self._task = progress.add_task(name, total=total, extra="") if progress is not None else None

    def advance(self, n: int = 1, *, tokens: int = 0, error: bool = False, usd: float | None = None) -> None:
        with self._lock:
            self.done += n
            self.tokens += tokens
            self.errors += int(error)
            self.usd += usd or 0.0
            if self._progress is not None and self._task is not None:
                elapsed = max(time.monotonic() - self._started, 1e-9)
                self._progress.update(
                    self._task,
                    completed=self.done,
                    extra=f"{self.tokens / elapsed:.0f} tok/s  {self.errors} err  ${self.usd:.4f}",
                )

    def summary(self) -> StageSummary:
        return StageSummary(
            name=self.name,
            done=self.done,
            total=self.total,
            tokens=self.tokens,
            errors=self.errors,
            usd=self.usd,
            seconds=time.monotonic() - self._started,
        )


def live(stream: TextIO | None = None) -> bool:
    """True when a live display should be drawn: ``stream`` (stderr) is a terminal and we are not quiet."""
    stream = sys.stderr if stream is None else stream
    return verbosity() >= 0 and stream.isatty()


@contextmanager
def stages(parts: list[tuple[str, int]], *, stream: TextIO | None = None) -> Iterator[list[Stage]]:
    """Stages that run together (``(name, total)`` each: one row per student and condition, say), drawn as
    one live display of a bar each (done/total, tokens/s, errors, cost, ETA) on a terminal."""
    target = sys.stderr if stream is None else stream
    if not live(target):
        yield [Stage(name, total, None) for name, total in parts]
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.fields[extra]}"),
        TimeRemainingColumn(),
        console=Console(file=target),
        transient=False,
    )
    with progress:
        yield [Stage(name, total, progress) for name, total in parts]


@contextmanager
def stage(name: str, total: int, *, stream: TextIO | None = None) -> Iterator[Stage]:
    """One stage of ``total`` units with its live bar on a terminal (see ``stages``)."""
    with stages([(name, total)], stream=stream) as (only,):
        yield only
