"""The skills CLI: import-evals and export-evals between skill folders and cases JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from skillfoundry.skills.cli import app
from skillfoundry.skills.evals_io import export_evals, import_evals
from skillfoundry.skills.model import CaseSet, ContainsCheck, JudgeCheck, TestCase
from skillfoundry.skills.upskill_io import load_upskill_tests

CASES = CaseSet(
    skill_name="demo",
    cases=[
        TestCase(id="1", prompt="Say hello", checks=[ContainsCheck(values=["hello"])]),
        TestCase(
            id="2", prompt="Explain", checks=[ContainsCheck(values=["because"])], expected_output="An explanation."
        ),
    ],
)


def test_import_then_export_through_cases_json(tmp_path: Path) -> None:
    source = tmp_path / "demo"
    export_evals(CASES, source)
    out = tmp_path / "cases.json"
    runner = CliRunner()
    result = runner.invoke(app, ["import-evals", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert CaseSet.model_validate_json(out.read_text()) == CASES
    target = tmp_path / "copy"
    result = runner.invoke(app, ["export-evals", str(out), str(target)])
    assert result.exit_code == 0, result.output
    assert import_evals(target) == CASES
    result = runner.invoke(app, ["export-evals", str(out), str(target), "--format", "upskill"])
    assert result.exit_code == 0, result.output
    assert [c.prompt for c in load_upskill_tests(target / "skill_meta.json")] == ["Say hello", "Explain"]


def test_import_prints_json_to_stdout_and_reports_bad_input(tmp_path: Path) -> None:
    export_evals(
        CaseSet(skill_name="d", cases=[TestCase(id="1", prompt="p", checks=[JudgeCheck(rubric="r")])]), tmp_path / "d"
    )
    runner = CliRunner()
    printed = runner.invoke(app, ["import-evals", str(tmp_path / "d")])
    assert printed.exit_code == 0 and json.loads(printed.stdout)["cases"][0]["checks"][0]["rubric"] == "r"
    missing = runner.invoke(app, ["import-evals", str(tmp_path / "nothing")])
    assert missing.exit_code == 1 and "holds neither evals/evals.json nor skill_meta.json" in missing.output
    (tmp_path / "bad.json").write_text("{}")
    bad = runner.invoke(app, ["export-evals", str(tmp_path / "bad.json"), str(tmp_path / "x")])
    assert bad.exit_code == 1 and "bad.json: file:" in bad.output
    fmt = runner.invoke(app, ["export-evals", str(tmp_path / "bad.json"), str(tmp_path / "x"), "--format", "yaml"])
    assert fmt.exit_code == 1 and "--format" in fmt.output
