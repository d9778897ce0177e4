"""Extraction: the teacher turns its trace into a skill (SKILL.md) and proposed train cases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, Field

from skillfoundry.llm.spec import Endpoint
from skillfoundry.llm.structured import StructuredResult, generate_structured
from skillfoundry.skills.model import ContainsCheck, Skill, TestCase
from skillfoundry.skills.validate import validate_skill

NAME_PATTERN = r"^[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,3}$"

EXTRACT_SYSTEM = (
    "You write Agent Skills: short, reusable procedures that let a weaker model do a kind of task well. "
    "A skill teaches the transferable method (steps, checks, pitfalls), never the answer to one task."
)


class SkillExtractionError(ValueError):
    """The teacher's skill failed validation even after one repair round."""


class ProposedCase(BaseModel):
    """A practice case the teacher proposes; graded by required substrings."""

    prompt: str = Field(min_length=1, max_length=400)
    must_contain: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(min_length=1, max_length=3)


class SkillDraft(BaseModel):
    """What the teacher returns: SKILL.md fields and practice cases."""

    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    description: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=1600)
    cases: list[ProposedCase] = Field(default_factory=list, max_length=3)


def condense_trace(messages: Sequence[dict], limit: int = 12_000) -> str:
    """A readable transcript of a trace's messages, clipped to ``limit`` characters."""
    lines: list[str] = []
    for message in messages:
        content = message.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": str(content)}]
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                lines.append(f"[{message.get('role')}] {block.get('text', '')}")
            elif kind == "tool_use":
                lines.append(f"[tool call {block.get('name')}] {json.dumps(block.get('input'))[:2000]}")
            elif kind == "tool_result":
                lines.append(f"[tool result] {str(block.get('content'))[:2000]}")
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit // 2] + "\n[...]\n" + text[-limit // 2 :]


def extraction_prompt(task_prompt: str, transcript: str, n_cases: int) -> str:
    return (
        "Below is how an expert solved a task, with every tool call and result.\n\n"
        f"<task>\n{task_prompt}\n</task>\n\n<transcript>\n{transcript}\n</transcript>\n\n"
        "Write an Agent Skill that would help a less capable model solve OTHER tasks of the same kind. "
        "name: lowercase words joined by hyphens. description: one line saying what the skill does and when "
        "to use it. body: Markdown with a numbered procedure, the checks to run, and the pitfalls; no "
        f"solution code specific to this task. Also propose {n_cases} short practice tasks of the same kind, "
        "each with up to 3 strings a good answer must contain."
    )


def draft_to_skill(draft: SkillDraft, *, source: str) -> tuple[Skill, list[TestCase]]:
    """Turn a validated draft into a Skill and train-split practice cases."""
    skill = Skill(
        name=draft.name,
        description=" ".join(draft.description.split()),
        body=draft.body.strip() + "\n",
        metadata={"generated-by": source},
    )
    cases = [
        TestCase(
            id=f"{draft.name}-practice-{i}",
            split="train",
            prompt=case.prompt,
            checks=[ContainsCheck(values=case.must_contain)],
        )
        for i, case in enumerate(draft.cases)
    ]
    return skill, cases


def extract_skill(
    endpoint: Endpoint, *, task_prompt: str, messages: Sequence[dict], n_cases: int, max_tokens: int
) -> tuple[Skill, list[TestCase], list[StructuredResult]]:
    """Ask the teacher for a skill; re-ask once with the validation findings; then fail clearly."""
    prompt = extraction_prompt(task_prompt, condense_trace(messages), n_cases)
    calls: list[StructuredResult] = []
    for _attempt in range(2):
        result = generate_structured(
            endpoint, system=EXTRACT_SYSTEM, prompt=prompt, schema=SkillDraft, max_tokens=max_tokens
        )
        calls.append(result)
        skill, cases = draft_to_skill(result.obj, source=str(endpoint.spec))
        errors = [f for f in validate_skill(skill, folder_name=skill.name) if f.severity == "error"]
        if not errors:
            return skill, cases, calls
        problems = "; ".join(f"{f.field}: {f.message}" for f in errors)
        prompt = f"{prompt}\n\nYour previous skill was invalid: {problems}. Fix these and answer again."
    raise SkillExtractionError(f"skill from {endpoint.spec}: still invalid after one repair: {problems}")
