"""Leak check: does a skill carry a test case's answer?

Texts are normalised (casefold, whitespace runs -> one space). For each case, the skill's rendered
SKILL.md and every bundled file are searched for:
- leak-expected-output: the case's expected_output, verbatim (normalised) when at least
  ``min_chars`` long, or sharing at least ``threshold`` of its word ``n``-grams with one skill file;
- leak-check-literal: a contains-check value of at least ``min_chars`` characters, verbatim;
- leak-rubric: a judge rubric, by the same n-gram overlap.
Short literals (keywords like ``__syncthreads``) are exactly what a skill should teach, so they are
not flagged; not_contains values, patterns, schemas and code are not answers and are not searched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from skillfoundry.skills.model import CaseFinding, ContainsCheck, JudgeCheck, Skill, TestCase
from skillfoundry.skills.render import render_skill_md

NGRAM = 8
THRESHOLD = 0.5
MIN_CHARS = 24
_WORD = re.compile(r"\w+")


def normalize(text: str) -> str:
    """Casefold and collapse whitespace."""
    return " ".join(text.casefold().split())


def ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    """Word n-grams of normalised text (a text shorter than n words has none)."""
    words = _WORD.findall(normalize(text))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _skill_texts(skill: Skill) -> dict[str, str]:
    return {"SKILL.md": render_skill_md(skill), **skill.files}


def find_leaks(
    skill: Skill,
    cases: Mapping[str, TestCase],
    *,
    n: int = NGRAM,
    threshold: float = THRESHOLD,
    min_chars: int = MIN_CHARS,
) -> list[CaseFinding]:
    """Findings for every case (keyed by case id) whose answer material appears in the skill."""
    texts = {path: normalize(text) for path, text in _skill_texts(skill).items()}
    grams = {path: ngrams(text, n) for path, text in texts.items()}
    found: list[CaseFinding] = []

    def verbatim(case_id: str, kind: str, label: str, literal: str) -> bool:
        needle = normalize(literal)
        if len(needle) < min_chars:
            return False
        where = [path for path, text in texts.items() if needle in text]
        if where:
            found.append(
                CaseFinding(
                    kind=kind,
                    case_id=case_id,
                    detail=f"{label} appears verbatim in {', '.join(where)}: {needle[:80]!r}",
                )
            )
        return bool(where)

    def overlap(case_id: str, kind: str, label: str, text: str) -> None:
        mine = ngrams(text, n)
        if not mine:
            return
        for path, theirs in grams.items():
            share = len(mine & theirs) / len(mine)
            if share >= threshold:
                found.append(
                    CaseFinding(
                        kind=kind,
                        case_id=case_id,
                        detail=f"{share:.0%} of the {label}'s {n}-word sequences appear in {path}",
                    )
                )
                return

    for case_id, case in cases.items():
        if case.expected_output and not verbatim(
            case_id, "leak-expected-output", "expected_output", case.expected_output
        ):
            overlap(case_id, "leak-expected-output", "expected_output", case.expected_output)
        for check in case.checks:
            if isinstance(check, ContainsCheck):
                for value in check.values:
                    verbatim(case_id, "leak-check-literal", "contains value", value)
            elif isinstance(check, JudgeCheck):
                overlap(case_id, "leak-rubric", "rubric", check.rubric)
    return found
