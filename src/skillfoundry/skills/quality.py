"""Test-case quality: cases no condition tells apart, and duplicate cases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from skillfoundry.skills.leaks import normalize
from skillfoundry.skills.model import CaseFinding, TestCase


def non_discriminating(results: Iterable[tuple[str, str, bool]]) -> list[CaseFinding]:
    """Cases that every condition passes (always-passes) or fails (always-fails), from
    ``(case_id, condition, passed)`` tuples (one per graded answer). A case seen under fewer than two
    conditions is not judged: with one condition nothing can discriminate."""
    outcomes: dict[str, set[bool]] = defaultdict(set)
    conditions: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for case_id, condition, passed in results:
        outcomes[case_id].add(bool(passed))
        conditions[case_id].add(condition)
        counts[case_id] += 1
    found = []
    for case_id in sorted(outcomes):
        if len(conditions[case_id]) < 2 or len(outcomes[case_id]) != 1:
            continue
        passed = next(iter(outcomes[case_id]))
        kind = "always-passes" if passed else "always-fails"
        where = ", ".join(sorted(conditions[case_id]))
        found.append(
            CaseFinding(
                kind=kind,
                case_id=case_id,
                detail=f"{'passed' if passed else 'failed'} all {counts[case_id]} answers under {where}",
            )
        )
    return found


def duplicate_cases(cases: Mapping[str, TestCase]) -> list[CaseFinding]:
    """Cases whose normalised prompt (casefold, whitespace collapsed) repeats an earlier case's
    (ids in sorted order; the first of each group is not flagged)."""
    first: dict[str, str] = {}
    found = []
    for case_id in sorted(cases):
        key = normalize(cases[case_id].prompt)
        if key in first:
            found.append(
                CaseFinding(kind="duplicate-prompt", case_id=case_id, detail=f"same prompt as case {first[key]}")
            )
        else:
            first[key] = case_id
    return found
