"""Refinement: the teacher edits a skill after seeing students fail on TRAIN cases only."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from skillfoundry.llm.spec import Endpoint
from skillfoundry.llm.structured import StructuredResult, generate_structured
from skillfoundry.skills.model import Skill
from skillfoundry.skills.render import render_skill_md

REFINE_SYSTEM = (
    "You improve Agent Skills. You see a skill and how students that loaded it failed on practice tasks. "
    "Revise the skill so the procedure prevents those failures in general; never paste task answers."
)


class Failure(BaseModel):
    """One failed train-split answer shown to the teacher."""

    prompt: str
    answer: str
    reason: str


class SkillRevision(BaseModel):
    """The teacher's edit: a new description and body (the name stays)."""

    description: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=1600)


def refinement_prompt(skill: Skill, failures: Sequence[Failure], clip: int = 800) -> str:
    shown = "\n\n".join(
        f"<failure>\n<task>{f.prompt[:clip]}</task>\n<answer>{f.answer[:clip]}</answer>\n"
        f"<why>{f.reason[:clip]}</why>\n</failure>"
        for f in failures
    )
    return (
        f"<skill>\n{render_skill_md(skill)}\n</skill>\n\n{shown}\n\n"
        "Rewrite the skill's description (one line) and body (Markdown procedure) to fix these failures."
    )


def refine_skill(
    endpoint: Endpoint, skill: Skill, failures: Sequence[Failure], *, max_tokens: int
) -> tuple[Skill, StructuredResult]:
    """One refinement round: a new skill version with the same name and the teacher's revision."""
    result = generate_structured(
        endpoint,
        system=REFINE_SYSTEM,
        prompt=refinement_prompt(skill, failures),
        schema=SkillRevision,
        max_tokens=max_tokens,
    )
    revision: SkillRevision = result.obj
    revised = skill.model_copy(
        update={"description": " ".join(revision.description.split()), "body": revision.body.strip() + "\n"}
    )
    return revised, result
