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


def test_an_object_store_url_is_not_taken_for_a_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a URL read as a path would create ./s3:/bucket here
    code, out = run("run", "--data-dir", "s3://bucket/data")
    assert code == 2 and out.strip().startswith("error: --data-dir: ") and "s3: is a URL scheme" in out
    assert "\n" not in out.strip() and list(tmp_path.iterdir()) == []
    monkeypatch.setenv("SKILLFOUNDRY_CACHE_DIR", "gs://bucket/cache")
    code, out = run("run", "--data-dir", str(tmp_path / "d"))
    assert code == 2 and out.strip().startswith("error: SKILLFOUNDRY_CACHE_DIR: ") and "gs: is a URL scheme" in out
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=40, deadline=None)
@given(spec=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() not in {"local"} and ":" not in s))
def test_any_spec_without_provider_is_rejected_before_running(spec: str) -> None:
    code, out = run("run", "--data-dir", "/nonexistent/skillfoundry-never-created", "--student", spec)
    assert code == 2
    assert "error:" in out
    assert not Path("/nonexistent/skillfoundry-never-created").exists()
