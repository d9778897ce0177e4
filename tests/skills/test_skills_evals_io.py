"""evals/evals.json import and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from skills_strategies import case_sets

from skillfoundry.skills.errors import CaseFormatError, SkillExistsError
from skillfoundry.skills.evals_io import case_set_from_evals, evals_from_case_set, export_evals, import_evals
from skillfoundry.skills.model import CaseSet, ContainsCheck, JudgeCheck, KernelCheck, TestCase

DOC_EXAMPLE = {
    "skill_name": "csv-analyzer",
    "evals": [
        {
            "id": 1,
            "prompt": "I have a CSV of monthly sales data in data/sales_2025.csv. Can you find the top 3 months by revenue and make a bar chart?",
            "expected_output": "A bar chart image showing the top 3 months by revenue, with labeled axes and values.",
            "files": ["evals/files/sales_2025.csv"],
            "assertions": ["The output includes a bar chart image file", "Both axes are labeled"],
        },
        {
            "id": 2,
            "prompt": "clean up customers.csv and tell me how many emails were missing",
            "expected_output": "A cleaned CSV plus a count of missing emails.",
        },
    ],
}


def _no_files(path: str) -> str:
    raise FileNotFoundError(path)


def _shared_paths_agree(case_set: CaseSet) -> bool:
    seen: dict[str, str] = {}
    return all(seen.setdefault(p, t) == t for c in case_set.cases for p, t in c.files.items())


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case_set=case_sets())
def test_export_then_import_is_lossless(tmp_path: Path, case_set: CaseSet) -> None:
    assume(_shared_paths_agree(case_set))
    skill_dir = tmp_path / case_set.skill_name
    written = export_evals(case_set, skill_dir, overwrite=True)
    assert written == skill_dir / "evals" / "evals.json"
    assert import_evals(skill_dir) == case_set
    json.loads(written.read_text(encoding="utf-8"))  # plain JSON any reader can load


def test_documented_example_imports_with_judged_assertions(tmp_path: Path) -> None:
    skill_dir = tmp_path / "csv-analyzer"
    (skill_dir / "evals" / "files").mkdir(parents=True)
    (skill_dir / "evals" / "files" / "sales_2025.csv").write_text("month,revenue\nJan,10\n")
    (skill_dir / "evals" / "evals.json").write_text(json.dumps(DOC_EXAMPLE))
    case_set = import_evals(skill_dir)
    first, second = case_set.cases
    assert (case_set.skill_name, first.id, second.id) == ("csv-analyzer", "1", "2")
    assert first.files == {"evals/files/sales_2025.csv": "month,revenue\nJan,10\n"}
    assert first.checks == [
        JudgeCheck(rubric="The output includes a bar chart image file"),
        JudgeCheck(rubric="Both axes are labeled"),
    ]
    assert second.checks == [JudgeCheck(rubric="A cleaned CSV plus a count of missing emails.")]
    data, files = evals_from_case_set(case_set)
    assert data["evals"][0]["assertions"] == DOC_EXAMPLE["evals"][0]["assertions"]
    assert data["evals"][0]["id"] == 1 and files == first.files


def test_skill_creator_objects_and_legacy_expectations_are_read() -> None:
    data = {
        "skill_name": "s",
        "evals": [
            {"id": 1, "prompt": "p", "assertions": [{"text": "Has a table", "passed": None, "evidence": ""}]},
            {"id": "two", "prompt": "q", "expectations": ["Mentions revenue"]},
            {"prompt": "r", "assertions": [{"text": "ignored", "check": {"type": "contains", "values": ["x"]}}]},
        ],
    }
    cases = case_set_from_evals(data, read_file=_no_files).cases
    assert [c.id for c in cases] == ["1", "two", "3"]
    assert cases[0].checks == [JudgeCheck(rubric="Has a table")]
    assert cases[1].checks == [JudgeCheck(rubric="Mentions revenue")]
    assert cases[2].checks == [ContainsCheck(values=["x"])]


def test_our_checks_travel_with_a_readable_text() -> None:
    case_set = CaseSet(
        skill_name="k",
        cases=[
            TestCase(
                id="a",
                prompt="p",
                checks=[KernelCheck(problem_id="softmax")],
                kind="kernel",
                problem_id="softmax",
                split="train",
            )
        ],
    )
    data, _ = evals_from_case_set(case_set)
    entry = data["evals"][0]
    assert entry["assertions"] == [
        {
            "text": "The answer is a CUDA kernel for softmax that compiles and is correct",
            "check": {"type": "kernel", "problem_id": "softmax", "require_correct": True},
        }
    ]
    assert (entry["split"], entry["kind"], entry["problem_id"]) == ("train", "kernel", "softmax")
    assert case_set_from_evals(data, read_file=_no_files) == case_set


def test_files_outside_evals_are_stored_under_evals_files(tmp_path: Path) -> None:
    case_set = CaseSet(
        skill_name="s",
        cases=[TestCase(id="1", prompt="p", files={"main.py": "print(1)\n"}, checks=[ContainsCheck(values=["1"])])],
    )
    export_evals(case_set, tmp_path)
    assert (tmp_path / "evals" / "files" / "main.py").read_text() == "print(1)\n"
    assert import_evals(tmp_path).cases[0].files == {"evals/files/main.py": "print(1)\n"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["evals"][1].update(prompt=""), "evals/evals.json: evals[1].prompt: expected a non-empty string"),
        (lambda d: d["evals"][1].pop("prompt"), "evals/evals.json: evals[1].prompt: expected a non-empty string"),
        (lambda d: d.update(skill_name=3), "evals/evals.json: skill_name: expected a non-empty string"),
        (lambda d: d.update(evals={}), "evals/evals.json: evals: expected a list"),
        (lambda d: d["evals"][1].update(id=True), "evals/evals.json: evals[1].id: expected an integer or a non-empty string"),
        (lambda d: d["evals"][1].update(id=1), "evals/evals.json: evals[1].id: duplicate id '1'"),
        (
            lambda d: d["evals"][0].update(files=["../secret"]),
            "evals/evals.json: evals[0].files[0]: '../secret' must be a relative path inside the skill folder",
        ),
        (
            lambda d: d["evals"][0].update(files=["evals/files/absent.csv"]),
            "evals/evals.json: evals[0].files[0]: evals/files/absent.csv: file not found",
        ),
        (
            lambda d: d["evals"][1].update(expected_output=None),
            "evals/evals.json: evals[1].assertions: expected assertions, or an expected_output to judge against",
        ),
        (
            lambda d: d["evals"][0].update(assertions=["ok", 5]),
            "evals/evals.json: evals[0].assertions[1]: expected an object",
        ),
        (
            lambda d: d["evals"][0].update(assertions=[{"check": {"type": "contains", "values": []}}]),
            "evals/evals.json: evals[0].assertions[0].check.contains.values: List should have at least 1 item after validation, not 0",
        ),
        (lambda d: d["evals"][0].update(split="dev"), "evals/evals.json: evals[0].split: expected one of train, test"),
    ],
)
def test_bad_files_give_one_line_errors_naming_the_field(mutate, message: str) -> None:
    data = json.loads(json.dumps(DOC_EXAMPLE))
    data["evals"][0]["files"] = []
    mutate(data)
    with pytest.raises(CaseFormatError) as info:
        case_set_from_evals(data, read_file=_no_files)
    assert str(info.value) == message


def test_invalid_json_and_missing_file_errors(tmp_path: Path) -> None:
    with pytest.raises(CaseFormatError, match=r"evals\.json: file: not found"):
        import_evals(tmp_path)
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "evals.json").write_text('{"skill_name": ')
    with pytest.raises(CaseFormatError, match=r"evals\.json: file: invalid JSON at line 1 column 16"):
        import_evals(tmp_path)


def test_export_does_not_clobber_different_files(tmp_path: Path) -> None:
    one = CaseSet(skill_name="s", cases=[TestCase(id="1", prompt="p", checks=[ContainsCheck(values=["a"])])])
    two = CaseSet(skill_name="s", cases=[TestCase(id="1", prompt="q", checks=[ContainsCheck(values=["a"])])])
    path = export_evals(one, tmp_path)
    export_evals(one, tmp_path)  # identical: fine
    with pytest.raises(SkillExistsError):
        export_evals(two, tmp_path)
    assert import_evals(tmp_path) == one
    export_evals(two, tmp_path, overwrite=True)
    assert import_evals(tmp_path) == two and path.exists()


def test_export_refuses_conflicting_file_contents() -> None:
    cases = [
        TestCase(id=str(i), prompt="p", files={"evals/files/x.csv": str(i)}, checks=[ContainsCheck(values=["a"])])
        for i in range(2)
    ]
    with pytest.raises(CaseFormatError, match=r"cases\[1\]\.files: evals/files/x\.csv already holds different content"):
        evals_from_case_set(CaseSet(skill_name="s", cases=cases))
