"""A stored skill version and its test cases rebuilt as a ``Skill`` and ``TestCase`` objects."""

from __future__ import annotations

import json

from pydantic import TypeAdapter

from skillfoundry.skills.model import Check, Skill, TestCase
from skillfoundry.skills.parse import parse_skill_md
from skillfoundry.storage.records import SkillRecord, TestCaseRecord

_CHECKS = TypeAdapter(list[Check])
MAX_GUESSED_INDEX = 1000


def skill_of(record: SkillRecord) -> Skill:
    """The skill a stored row describes: its SKILL.md plus its bundled files."""
    skill = parse_skill_md(record.skill_md, source=f"skills[{record.skill_id}].skill_md")
    return skill.model_copy(update={"files": json.loads(record.files_json)})


def _candidate_ids(record: TestCaseRecord) -> list[str]:
    """The ids the pipeline gives cases: a kernel problem id, an extracted practice case
    (``<skill>-practice-<i>``), or an imported case's position (``1``, ``2``, ...)."""
    ids = [record.problem_id] if record.problem_id else []
    ids += [f"{record.skill_name}-practice-{i}" for i in range(MAX_GUESSED_INDEX)]
    ids += [str(i) for i in range(1, MAX_GUESSED_INDEX + 1)]
    return ids


def case_from_row(record: TestCaseRecord) -> TestCase:
    """The test case a stored row describes, under the row's (content) id."""
    return TestCase(
        id=record.case_id,
        split=record.split,
        prompt=record.prompt,
        files=json.loads(record.files_json),
        checks=_CHECKS.validate_json(record.checks_json),
        expected_output=record.expected_output,
        kind=record.kind,
        problem_id=record.problem_id,
    )


def case_of(record: TestCaseRecord) -> TestCase:
    """The test case a stored row describes. Rows keep the case's content id, not its own id, so the id
    is the pipeline's id whose content hash matches the row (then ``case.case_id() == record.case_id``,
    and answers to the exported case pair with stored ones); else the content id itself."""
    base = case_from_row(record)
    for candidate in _candidate_ids(record):
        case = base.model_copy(update={"id": candidate})
        if case.case_id() == record.case_id:
            return case
    return base
