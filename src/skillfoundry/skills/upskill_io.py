"""Import and export huggingface/upskill skill folders (upskill 0.2.x).

Folder: ``skills/<name>/SKILL.md`` plus ``skill_meta.json`` =
``{"metadata": {...}, "tests": [{"input", "context": {"files": {name: text}}, "expected": {"contains": [...]}}]}``.
A tests file may also be ``{"cases": [...]}`` or a plain list. upskill passes a test when every
``contains`` string appears in the output, case-insensitively.

Mapping: ``input`` -> ``prompt``, ``context.files`` -> ``files``, ``expected.contains`` (a string or a
list) -> one ``ContainsCheck(case_sensitive=False)``. Tests carry no ids: case ids are their 1-based
positions ("1", "2", ...), split "test". upskill's custom ``validator``/``output_file`` (checks on files
in a workspace) have no equivalent here and are refused with an error rather than dropped.
Export needs every check of a case to be a case-insensitive ContainsCheck (several are merged into
one list); ids, split, kind, problem_id and expected_output are not part of the format and are not
written. ``skill_meta.json`` metadata: ``license`` and ``compatibility`` fill the Skill's fields when
SKILL.md lacks them; other non-null entries join ``Skill.metadata`` as strings (SKILL.md wins on a clash).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from skillfoundry.skills.caseio import (
    dump_json,
    read_json,
    reject_unknown,
    want_dict,
    want_list,
    want_str,
    write_files,
)
from skillfoundry.skills.errors import CaseFormatError
from skillfoundry.skills.folder import load_skill, write_skill
from skillfoundry.skills.model import CaseSet, ContainsCheck, Skill, TestCase

META_FILE = "skill_meta.json"
_TEST_KEYS = {"input", "context", "expected", "output_file", "validator", "validator_config"}


def _test_case(raw: Any, index: int, source: str, listed: str) -> TestCase:
    at = f"{listed}[{index}]"
    raw = want_dict(raw, source, at)
    reject_unknown(raw, _TEST_KEYS, source, at)
    for key in ("validator", "output_file", "validator_config"):
        if raw.get(key) is not None:
            raise CaseFormatError(
                source, f"{at}.{key}", "custom upskill validators are not supported; use expected.contains"
            )
    prompt = want_str(raw.get("input"), source, f"{at}.input")
    files: dict[str, str] = {}
    if raw.get("context") is not None:
        context = want_dict(raw["context"], source, f"{at}.context")
        reject_unknown(context, {"files"}, source, f"{at}.context")
        if context.get("files") is not None:
            for name, text in want_dict(context["files"], source, f"{at}.context.files").items():
                files[name] = want_str(text, source, f"{at}.context.files.{name}", empty=True)
    expected = want_dict(raw.get("expected"), source, f"{at}.expected")
    reject_unknown(expected, {"contains"}, source, f"{at}.expected")
    contains = expected.get("contains")
    values = [contains] if isinstance(contains, str) else want_list(contains, source, f"{at}.expected.contains")
    if not values:
        raise CaseFormatError(source, f"{at}.expected.contains", "expected at least one string")
    for j, value in enumerate(values):
        want_str(value, source, f"{at}.expected.contains[{j}]", empty=True)
    return TestCase(id=str(index + 1), prompt=prompt, files=files, checks=[ContainsCheck(values=values)])


def cases_from_upskill(data: Any, *, source: str = META_FILE) -> list[TestCase]:
    """Test cases from loaded JSON: ``{"tests": [...]}`` (skill_meta.json), ``{"cases": [...]}`` or a list."""
    if isinstance(data, list):
        return [_test_case(raw, i, source, "tests") for i, raw in enumerate(data)]
    data = want_dict(data, source, "file")
    if "tests" in data and "cases" in data:
        raise CaseFormatError(source, "tests", "give tests or cases, not both")
    key = "cases" if "cases" in data else "tests"
    raw_tests = [] if data.get(key) is None else want_list(data[key], source, key)
    return [_test_case(raw, i, source, key) for i, raw in enumerate(raw_tests)]


def upskill_tests(cases: Sequence[TestCase], *, source: str = "cases") -> list[dict]:
    """The ``tests`` list upskill reads; CaseFormatError for a check upskill cannot express."""
    tests = []
    for i, case in enumerate(cases):
        values: list[str] = []
        for j, check in enumerate(case.checks):
            if not isinstance(check, ContainsCheck) or check.case_sensitive:
                raise CaseFormatError(
                    source,
                    f"cases[{i}].checks[{j}]",
                    f"upskill holds only case-insensitive contains checks, got {check.type}",
                )
            values += check.values
        context = {"files": dict(case.files)} if case.files else None
        tests.append({"input": case.prompt, "context": context, "expected": {"contains": values}})
    return tests


def load_upskill_tests(path: Path) -> list[TestCase]:
    """Test cases from an upskill tests file or skill_meta.json."""
    return cases_from_upskill(read_json(Path(path), source=str(path)), source=str(path))


def _as_str(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def import_upskill(skill_dir: Path) -> tuple[Skill, CaseSet]:
    """The skill (SKILL.md, files, skill_meta.json metadata) and its tests from an upskill folder."""
    skill_dir = Path(skill_dir)
    skill = load_skill(skill_dir)
    meta_path = skill_dir / META_FILE
    if not meta_path.exists():
        return skill, CaseSet(skill_name=skill.name, cases=[])
    source = str(meta_path)
    data = read_json(meta_path, source=source)
    cases = cases_from_upskill(data, source=source)
    raw_meta = data.get("metadata") if isinstance(data, dict) else None
    raw_meta = {} if raw_meta is None else want_dict(raw_meta, source, "metadata")
    update: dict[str, Any] = {}
    for key in ("license", "compatibility"):
        if getattr(skill, key) is None and raw_meta.get(key) is not None:
            update[key] = want_str(raw_meta[key], source, f"metadata.{key}", empty=True)
    extra = {k: _as_str(v) for k, v in raw_meta.items() if k not in ("license", "compatibility") and v is not None}
    update["metadata"] = {**extra, **skill.metadata}
    return skill.model_copy(update=update), CaseSet(skill_name=skill.name, cases=cases)


def write_upskill_meta(
    skill_dir: Path, cases: Sequence[TestCase], *, metadata: Mapping[str, str] | None = None, overwrite: bool = False
) -> Path:
    """Write ``<skill_dir>/skill_meta.json`` with ``metadata`` (default: the existing file's) and ``cases``."""
    skill_dir = Path(skill_dir)
    meta_path = skill_dir / META_FILE
    if metadata is None and meta_path.exists():
        existing = read_json(meta_path, source=str(meta_path))
        metadata = existing.get("metadata") if isinstance(existing, dict) else None
    payload = {"metadata": dict(metadata or {}), "tests": upskill_tests(cases)}
    write_files(skill_dir, {META_FILE: dump_json(payload)}, overwrite=overwrite)
    return meta_path


def export_upskill(skill: Skill, cases: Sequence[TestCase], parent_dir: Path, *, overwrite: bool = False) -> Path:
    """Write ``<parent_dir>/<name>/`` as upskill reads it (SKILL.md, files, skill_meta.json)."""
    upskill_tests(cases)  # refuse before writing anything
    folder = write_skill(skill, parent_dir, overwrite=overwrite)
    own = {"license": skill.license, "compatibility": skill.compatibility}
    metadata = {k: v for k, v in skill.metadata.items() if k not in own}
    metadata.update({k: v for k, v in own.items() if v is not None})
    write_upskill_meta(folder, cases, metadata=metadata, overwrite=overwrite)
    return folder
