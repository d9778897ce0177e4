"""Errors raised on bad skill folders, SKILL.md files and test-case files: one line naming file and field."""

from __future__ import annotations


class SkillFormatError(ValueError):
    """A SKILL.md or skill folder breaks the Agent Skills format.

    ``str(error)`` is one line: ``<file>: <field>: <message>``; ``rule`` names the broken rule.
    """

    def __init__(self, file: str, field: str, rule: str, message: str) -> None:
        self.file, self.field, self.rule, self.message = file, field, rule, message
        super().__init__(f"{file}: {field}: {message}")


class SkillExistsError(SkillFormatError):
    """A different skill (or test file) already sits where we were asked to write; nothing was changed."""


class CaseFormatError(ValueError):
    """A test-case file (evals/evals.json, skill_meta.json, a cases file) is malformed.

    ``str(error)`` is one line: ``<file>: <field>: <message>``, e.g.
    ``evals/evals.json: evals[2].prompt: expected a non-empty string``.
    """

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file, self.field, self.message = file, field, message
        super().__init__(f"{file}: {field}: {message}")
