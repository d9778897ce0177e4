"""-q/-v anywhere on the command line, and the live progress display only on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from skillfoundry.progress import VERBOSITY_ENV, hoist_verbosity, set_verbosity

SCRIPT = """
import time
from skillfoundry.progress import stage
with stage("local with_skill", total=3) as s:
    for i in range(3):
        time.sleep(0.05)
        s.advance(tokens=100, error=i == 2, usd=0.5)
print("SUMMARY", s.summary().done, s.summary().tokens, s.summary().errors, s.summary().usd)
"""


def run_in_pty(args: list[str], env: dict[str, str]) -> str:
    """Run with stdout and stderr on a pseudo-terminal; return what it drew."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def env_with(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k != VERBOSITY_ENV}
    return {**clean, "COLUMNS": "100", **extra}


def test_stage_draws_a_live_bar_on_a_terminal_only() -> None:
    drawn = run_in_pty([sys.executable, "-c", SCRIPT], env_with())
    assert "local with_skill" in drawn and "3/3" in drawn and "1 err" in drawn and "$1.5000" in drawn
    assert "SUMMARY 3 300 1 1.5" in drawn
    piped = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env_with(), timeout=60)
    assert piped.stderr == "" and piped.stdout.strip() == "SUMMARY 3 300 1 1.5"
    quiet = run_in_pty([sys.executable, "-c", SCRIPT], env_with(**{VERBOSITY_ENV: "-1"}))
    assert "3/3" not in quiet and "SUMMARY 3 300 1 1.5" in quiet


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["runs", "-q"], ["-q", "runs"]),
        (["-v", "show", "r1", "--verbose"], ["-v", "--verbose", "show", "r1"]),
        (["query", "--", "-q"], ["query", "--", "-q"]),
        (["config"], ["config"]),
    ],
)
def test_hoist_moves_verbosity_flags_to_the_front(argv: list[str], expected: list[str]) -> None:
    assert hoist_verbosity(argv) == expected


def test_quiet_and_verbose_work_after_any_command(tmp_path: Path) -> None:
    for flag in ("-q", "-v", "-vv"):
        for command in (["runs", "--data-dir", str(tmp_path)], ["config"], ["skills", "validate", str(tmp_path)]):
            done = subprocess.run(
                [sys.executable, "-m", "skillfoundry", *command, flag],
                capture_output=True,
                text=True,
                env=env_with(),
                timeout=120,
                cwd=tmp_path,
            )
            assert "No such option" not in done.stderr, (command, flag, done.stderr)
            assert done.returncode in (0, 1, 2), done.stderr  # the command's own outcome
    both = subprocess.run(
        [sys.executable, "-m", "skillfoundry", "config", "-q"],
        capture_output=True,
        text=True,
        env=env_with(),
        cwd=tmp_path,
    )
    assert both.returncode == 0 and "Settings" in both.stdout


def test_set_verbosity_sets_prefect_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "INFO")
    monkeypatch.setenv(VERBOSITY_ENV, "0")
    for level, prefect in ((-1, "WARNING"), (0, "INFO"), (1, "DEBUG"), (3, "DEBUG")):
        set_verbosity(level)
        assert os.environ["PREFECT_LOGGING_LEVEL"] == prefect and os.environ[VERBOSITY_ENV] == str(level)
