"""Import and export ``evals/evals.json``, the Agent Skills evaluation format.

File shape: ``{"skill_name": str, "evals": [{"id", "prompt", "expected_output", "files", "assertions"}]}``;
``files`` are paths relative to the skill folder (by convention under ``evals/files/``); assertions are
natural-language statements that a grader checks.

Mapping between assertions and our checks (``TestCase.checks``):
- a string assertion (or an object with only ``text``, as skill-creator writes, or the older key
  ``expectations``) becomes ``JudgeCheck(rubric=text)``: the format means an LLM or a person judges it;
- an object with a ``check`` key holds one of our checks in its JSON form; its ``text`` is a readable
  statement of the same check for other tools, e.g.
  ``{"text": "The output contains \\"__global__\\"", "check": {"type": "contains", "values": ["__global__"]}}``;
- an eval with no assertions is judged against its ``expected_output``: ``JudgeCheck(rubric=expected_output)``.
Export writes a JudgeCheck with default settings as a plain string and every other check as a
``check`` object, so import(export(cases)) == cases. Ids: integers in the file, strings in a TestCase
(``1`` <-> ``"1"``; ids that are not canonical integers stay strings). Our fields the format lacks
travel as extra keys that other readers ignore: ``split`` (when "train"), ``kind`` (when "kernel"),
``problem_id``. File contents are read into ``TestCase.files`` keyed by the listed path; on export a
key outside ``evals/`` is stored as ``evals/files/<key>`` (the only lossy case: the key changes).
Other keys of an eval object are ignored on import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skillfoundry.skills.caseio import (
    dump_json,
    parse_check,
    read_json,
    safe_relative,
    want_dict,
    want_list,
    want_str,
    write_files,
)
from skillfoundry.skills.errors import CaseFormatError
from skillfoundry.skills.model import (
    CaseSet,
    Check,
    ContainsCheck,
    JsonCheck,
    JudgeCheck,
    KernelCheck,
    NotContainsCheck,
    PythonCheck,
    RegexCheck,
    TestCase,
)

EVALS_PATH = "evals/evals.json"
_CANONICAL_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_DEFAULT_THRESHOLD = JudgeCheck.model_fields["threshold"].default


def _case_id(value: Any, index: int, source: str, field: str) -> str:
    if value is None:
        return str(index + 1)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    raise CaseFormatError(source, field, "expected an integer or a non-empty string")


def _assertion_check(item: Any, source: str, field: str) -> Check:
    if isinstance(item, str):
        return JudgeCheck(rubric=want_str(item, source, field))
    item = want_dict(item, source, field)
    if "check" in item:
        return parse_check(item["check"], source, f"{field}.check")
    return JudgeCheck(rubric=want_str(item.get("text"), source, f"{field}.text"))


def _eval_case(raw: Any, index: int, source: str, read_file: Callable[[str], str]) -> TestCase:
    at = f"evals[{index}]"
    raw = want_dict(raw, source, at)
    prompt = want_str(raw.get("prompt"), source, f"{at}.prompt")
    expected = raw.get("expected_output")
    if expected is not None:
        want_str(expected, source, f"{at}.expected_output", empty=True)
    if "assertions" in raw and "expectations" in raw:
        raise CaseFormatError(source, f"{at}.assertions", "give assertions or expectations, not both")
    key = "expectations" if "expectations" in raw else "assertions"
    items = [] if raw.get(key) is None else want_list(raw[key], source, f"{at}.{key}")
    checks = [_assertion_check(item, source, f"{at}.{key}[{j}]") for j, item in enumerate(items)]
    if not checks:
        if not (expected or "").strip():
            raise CaseFormatError(
                source, f"{at}.assertions", "expected assertions, or an expected_output to judge against"
            )
        checks = [JudgeCheck(rubric=expected)]
    files: dict[str, str] = {}
    listed = [] if raw.get("files") is None else want_list(raw["files"], source, f"{at}.files")
    for j, path in enumerate(listed):
        path = want_str(path, source, f"{at}.files[{j}]")
        if not safe_relative(path):
            raise CaseFormatError(
                source, f"{at}.files[{j}]", f"{path!r} must be a relative path inside the skill folder"
            )
        try:
            files[path] = read_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            why = "not a UTF-8 text file" if isinstance(exc, UnicodeDecodeError) else "file not found"
            raise CaseFormatError(source, f"{at}.files[{j}]", f"{path}: {why}") from None
    extra: dict[str, Any] = {}
    for name, allowed in (("split", ("train", "test")), ("kind", ("text", "kernel"))):
        if name in raw:
            if raw[name] not in allowed:
                raise CaseFormatError(source, f"{at}.{name}", f"expected one of {', '.join(allowed)}")
            extra[name] = raw[name]
    if raw.get("problem_id") is not None:
        extra["problem_id"] = want_str(raw["problem_id"], source, f"{at}.problem_id")
    return TestCase(
        id=_case_id(raw.get("id"), index, source, f"{at}.id"),
        prompt=prompt,
        files=files,
        checks=checks,
        expected_output=expected,
        **extra,
    )


def case_set_from_evals(data: Any, *, read_file: Callable[[str], str], source: str = EVALS_PATH) -> CaseSet:
    """The cases in loaded evals.json ``data``; ``read_file(path)`` returns a listed input file's text
    (raising OSError or UnicodeDecodeError when it cannot)."""
    data = want_dict(data, source, "file")
    skill_name = want_str(data.get("skill_name"), source, "skill_name")
    cases = [
        _eval_case(raw, i, source, read_file) for i, raw in enumerate(want_list(data.get("evals"), source, "evals"))
    ]
    seen: set[str] = set()
    for i, case in enumerate(cases):
        if case.id in seen:
            raise CaseFormatError(source, f"evals[{i}].id", f"duplicate id {case.id!r}")
        seen.add(case.id)
    return CaseSet(skill_name=skill_name, cases=cases)


def describe_check(check: Check) -> str:
    """A readable statement of a check, for tools that only read an assertion's text."""
    if isinstance(check, ContainsCheck):
        what = " and ".join(f'"{v}"' for v in check.values)
        return f"The output contains {what}" + (" (case-sensitive)" if check.case_sensitive else "")
    if isinstance(check, NotContainsCheck):
        return "The output does not contain " + " or ".join(f'"{v}"' for v in check.values)
    if isinstance(check, RegexCheck):
        return f"The output matches the regular expression {check.pattern!r}" + (
            f" (flags {check.flags})" if check.flags else ""
        )
    if isinstance(check, JsonCheck):
        return "The output is valid JSON" + (
            " that fits the given JSON Schema" if check.json_schema is not None else ""
        )
    if isinstance(check, PythonCheck):
        return "The output passes the Python check function"
    if isinstance(check, KernelCheck):
        return f"The answer is a CUDA kernel for {check.problem_id} that compiles" + (
            " and is correct" if check.require_correct else ""
        )
    return check.rubric


def _assertion(check: Check) -> str | dict:
    if (
        isinstance(check, JudgeCheck)
        and check.model is None
        and check.threshold == _DEFAULT_THRESHOLD
        and check.rubric.strip()
    ):
        return check.rubric
    return {"text": describe_check(check), "check": check.model_dump(mode="json", by_alias=True)}


def storage_path(key: str) -> str:
    """Where a case's input file lives in the skill folder: keys outside evals/ go to evals/files/."""
    return key if key.startswith("evals/") else f"evals/files/{key}"


def evals_from_case_set(case_set: CaseSet, *, source: str = "cases") -> tuple[dict, dict[str, str]]:
    """The evals.json data and the input files (path in the skill folder -> text) for ``case_set``."""
    evals: list[dict] = []
    files: dict[str, str] = {}
    seen: set[str] = set()
    for i, case in enumerate(case_set.cases):
        if case.id in seen:
            raise CaseFormatError(source, f"cases[{i}].id", f"duplicate id {case.id!r}")
        seen.add(case.id)
        paths = []
        for key, text in case.files.items():
            path = storage_path(key)
            if not safe_relative(path):
                raise CaseFormatError(source, f"cases[{i}].files", f"{key!r} must be a relative path")
            if files.get(path, text) != text:
                raise CaseFormatError(
                    source, f"cases[{i}].files", f"{path} already holds different content for another case"
                )
            files[path] = text
            paths.append(path)
        entry: dict[str, Any] = {
            "id": int(case.id) if _CANONICAL_INT.fullmatch(case.id) else case.id,
            "prompt": case.prompt,
        }
        if case.expected_output is not None:
            entry["expected_output"] = case.expected_output
        entry["files"] = paths
        entry["assertions"] = [_assertion(check) for check in case.checks]
        if case.split != "test":
            entry["split"] = case.split
        if case.kind != "text":
            entry["kind"] = case.kind
        if case.problem_id is not None:
            entry["problem_id"] = case.problem_id
        evals.append(entry)
    return {"skill_name": case_set.skill_name, "evals": evals}, files


def _reader(skill_dir: Path) -> Callable[[str], str]:
    return lambda path: (skill_dir / path).read_bytes().decode("utf-8")


def import_evals(skill_dir: Path) -> CaseSet:
    """Read ``<skill_dir>/evals/evals.json`` and the input files it lists."""
    skill_dir = Path(skill_dir)
    source = str(skill_dir / EVALS_PATH)
    return case_set_from_evals(
        read_json(skill_dir / EVALS_PATH, source=source), read_file=_reader(skill_dir), source=source
    )


def export_evals(case_set: CaseSet, skill_dir: Path, *, overwrite: bool = False) -> Path:
    """Write ``<skill_dir>/evals/evals.json`` and the input files; return the evals.json path.
    Refuses (SkillExistsError, nothing written) to replace different existing files unless ``overwrite``."""
    data, files = evals_from_case_set(case_set)
    payload = {path: text.encode("utf-8") for path, text in files.items()}
    payload[EVALS_PATH] = dump_json(data)
    write_files(Path(skill_dir), payload, overwrite=overwrite)
    return Path(skill_dir) / EVALS_PATH
