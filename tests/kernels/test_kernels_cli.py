"""The `kernels` typer app: list, show, compile, check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skillfoundry.kernels import get_problem, list_problems
from skillfoundry.kernels.cli import app
from skillfoundry.kernels.gpu import available

runner = CliRunner()


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SKILLFOUNDRY_CACHE_DIR", str(tmp_path / "cache"))


def test_list_and_show():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == len(list_problems())
    result = runner.invoke(app, ["list", "--level", "3", "--json"])
    assert {p["id"] for p in json.loads(result.output)} == {p.id for p in list_problems(3)}
    result = runner.invoke(app, ["show", "softmax"])
    assert result.exit_code == 0 and result.output == get_problem("softmax").prompt
    result = runner.invoke(app, ["show", "softmax", "--solution"])
    assert result.output == get_problem("softmax").solution_source
    result = runner.invoke(app, ["show", "sofmax"])
    assert result.exit_code == 2 and "did you mean softmax" in result.output


def test_compile_prints_json(tmp_path: Path):
    good = tmp_path / "relu.cu"
    good.write_text(get_problem("relu").solution_source)
    result = runner.invoke(app, ["compile", str(good), "--arch", "sm_80"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True and data["arch"] == "sm_80" and data["registers"] > 0
    assert {"log", "spills", "smem"} <= set(data)
    bad = tmp_path / "bad.cu"
    bad.write_text("__global__ void f( {\n")
    result = runner.invoke(app, ["compile", str(bad)])
    assert result.exit_code == 1 and json.loads(result.output)["ok"] is False
    result = runner.invoke(app, ["compile", str(good), "--arch", "sm_1"])
    assert result.exit_code == 2 and "not supported" in result.output


@pytest.mark.skipif(available(), reason="checks the no-GPU message")
def test_check_says_plainly_there_is_no_gpu(tmp_path: Path):
    good = tmp_path / "softmax.cu"
    good.write_text(get_problem("softmax").solution_source)
    result = runner.invoke(app, ["check", str(good), "--problem", "softmax"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["findings"] == [] and data["gpu"] is None and "NOT checked" in data["note"]
    result = runner.invoke(app, ["check", str(good), "--problem", "relu"])
    assert result.exit_code == 1
    assert {"missing_entry", "extra_entry"} <= {f["rule"] for f in json.loads(result.output)["findings"]}
