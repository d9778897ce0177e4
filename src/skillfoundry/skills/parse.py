"""Parse SKILL.md text into a ``Skill``, strictly: the result always satisfies the specification."""

from __future__ import annotations

from skillfoundry.skills.errors import SkillFormatError
from skillfoundry.skills.model import Skill
from skillfoundry.skills.validate import SKILL_MD, collect_skill_md, validate_skill

__all__ = ["SkillFormatError", "parse_skill_md"]


def parse_skill_md(text: str, *, source: str = SKILL_MD) -> Skill:
    """The Skill in ``text`` (frontmatter + body; no bundled files).

    Raises SkillFormatError (a ValueError) with one line ``<source>: <field>: <message>`` on the first
    error: missing/unclosed frontmatter, bad YAML, unknown or missing keys, wrong types, or a value
    rule (name, description, compatibility). Warnings never raise; the folder-name rule needs a
    folder, so ``load_skill`` checks it.
    """
    skill, found = collect_skill_md(text, source=source)
    if skill is not None:
        found = [
            f.model_copy(update={"file": source}) if f.file == SKILL_MD else f for f in validate_skill(skill, None)
        ]
    for finding in found:
        if finding.severity == "error":
            raise finding.as_error()
    assert skill is not None  # no error means collect_skill_md built the skill
    return skill
