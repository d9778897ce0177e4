"""Stored skill versions and their test cases, for installing and exporting a skill from the store."""

from __future__ import annotations

from pathlib import Path

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.query import _records
from skillfoundry.storage.records import SkillRecord, TestCaseRecord

MIN_PREFIX = 4


def find_skill(data_dir: Path | str, skill_id: str) -> SkillRecord:
    """The stored skill version whose id is ``skill_id`` or starts with it (at least 4 characters);
    a one-line StorageError when none or several match."""
    if len(skill_id) < MIN_PREFIX:
        raise StorageError(f"skill id {skill_id!r}: expected at least {MIN_PREFIX} characters of a skill id")
    con = catalog(data_dir)
    try:
        rows = _records(
            con,
            "SELECT * FROM skills WHERE starts_with(skill_id, ?) ORDER BY skill_id",
            [skill_id],
        )
    finally:
        con.close()
    ids = sorted({row["skill_id"] for row in rows})
    if not ids:
        raise StorageError(
            f"skill {skill_id!r} not found in {data_dir} (list: skillfoundry query 'SELECT skill_id, name FROM skills')"
        )
    if len(ids) > 1:
        raise StorageError(f"skill {skill_id!r} is ambiguous: matches {', '.join(ids[:5])}")
    return SkillRecord(**{k: v for k, v in rows[0].items() if k in SkillRecord.model_fields})


def skill_cases(data_dir: Path | str, skill: SkillRecord) -> list[TestCaseRecord]:
    """The test cases stored with ``skill`` by the runs that stored it (train and test), one row per
    case, train first, then by case id."""
    con = catalog(data_dir)
    try:
        rows = _records(
            con,
            "SELECT DISTINCT ON (case_id) * FROM _raw_test_cases WHERE skill_name = ? "
            "AND run_id IN (SELECT run_id FROM _raw_skills WHERE skill_id = ?) ORDER BY case_id, run_id",
            [skill.name, skill.skill_id],
        )
    finally:
        con.close()
    records = [TestCaseRecord(**{k: v for k, v in row.items() if k in TestCaseRecord.model_fields}) for row in rows]
    return sorted(records, key=lambda r: (r.split != "train", r.case_id))
