"""Bad command-line input gets a one-line error naming the option, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from skillfoundry.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--cases", "0"], "--cases"),
        (["--epochs", "0"], "--epochs"),
        (["--student", "bogus"], "model spec 'bogus'"),
        (["--teacher", "openai:m@ftp://x"], "openai:MODEL@http"),
        (["--student", "mistral:7b"], "unknown provider 'mistral'"),
    ],
)
def test_bad_run_options_are_one_line_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    code, out = run("run", "--data-dir", str(tmp_path / "d"), *args)
    assert code == 2
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("error:")
    assert not (tmp_path / "d").exists()


@settings(max_examples=40, deadline=None)
@given(spec=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() not in {"local"} and ":" not in s))
def test_any_spec_without_provider_is_rejected_before_running(spec: str) -> None:
    code, out = run("run", "--data-dir", "/nonexistent/skillfoundry-never-created", "--student", spec)
    assert code == 2
    assert "error:" in out
    assert not Path("/nonexistent/skillfoundry-never-created").exists()
