"""The in-memory shape of a skill and of its test cases."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from skillfoundry.ids import content_id


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ContainsCheck(_Check):
    """Every value appears in the answer (case-insensitive unless told otherwise)."""

    type: Literal["contains"] = "contains"
    values: list[str] = Field(min_length=1)
    case_sensitive: bool = False


class NotContainsCheck(_Check):
    """No value appears in the answer."""

    type: Literal["not_contains"] = "not_contains"
    values: list[str] = Field(min_length=1)
    case_sensitive: bool = False


class RegexCheck(_Check):
    """The pattern matches somewhere in the answer (Python ``re.search``)."""

    type: Literal["regex"] = "regex"
    pattern: str
    flags: str = ""


class JsonCheck(_Check):
    """The answer (or its first fenced JSON block) parses, and fits ``schema`` if given."""

    type: Literal["json"] = "json"
    json_schema: dict | None = Field(default=None, alias="schema")


class PythonCheck(_Check):
    """``code`` defines ``check(output: str) -> bool | float``; run in a sandboxed subprocess."""

    type: Literal["python"] = "python"
    code: str
    timeout_s: float = 10.0
    memory_mb: int = 512


class KernelCheck(_Check):
    """The answer holds a CUDA kernel for ``problem_id``: compiled, checked, and on a GPU run and timed."""

    type: Literal["kernel"] = "kernel"
    problem_id: str
    require_correct: bool = True


class JudgeCheck(_Check):
    """An LLM judge scores the answer against ``rubric``."""

    type: Literal["judge"] = "judge"
    rubric: str
    model: str | None = None
    threshold: float = 0.5


Check = Annotated[
    ContainsCheck | NotContainsCheck | RegexCheck | JsonCheck | PythonCheck | KernelCheck | JudgeCheck,
    Field(discriminator="type"),
]


class TestCase(BaseModel):
    """One prompt a student answers, with the checks that grade the answer."""

    model_config = ConfigDict(extra="forbid")
    __test__ = False  # not a pytest class

    id: str
    split: Literal["train", "test"] = "test"
    prompt: str = Field(min_length=1)
    files: dict[str, str] = Field(default_factory=dict)
    checks: list[Check] = Field(min_length=1)
    expected_output: str | None = None
    kind: Literal["text", "kernel"] = "text"
    problem_id: str | None = None

    def case_id(self) -> str:
        """Content hash of the case; independent of any skill, so baselines are shared across skills."""
        return content_id(self.model_dump(mode="json", by_alias=True))


class Skill(BaseModel):
    """A skill folder: SKILL.md frontmatter fields, Markdown body and extra files (relative path -> text)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    description: str
    body: str
    license: str | None = None
    compatibility: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    allowed_tools: str | None = Field(default=None, alias="allowed-tools")
    files: dict[str, str] = Field(default_factory=dict)


class CaseSet(BaseModel):
    """A skill's test cases as one file holds them (evals/evals.json, skill_meta.json, a cases file)."""

    model_config = ConfigDict(extra="forbid")

    skill_name: str
    cases: list[TestCase]


class CaseFinding(BaseModel):
    """A problem with a test case or with how a skill relates to it (leak, non-discriminating, duplicate).

    ``kind`` is one of: leak-expected-output, leak-check-literal, leak-rubric (the skill carries a case's
    answer), always-passes, always-fails (no condition tells the case apart), duplicate-prompt.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str
    case_id: str
    detail: str
