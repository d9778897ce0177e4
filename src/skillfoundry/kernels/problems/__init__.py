"""The kernel problem suite (three levels, KernelBench style): ``list_problems`` and ``get_problem``."""

from __future__ import annotations

import difflib
from functools import cache

from skillfoundry.kernels.errors import ProblemSpecError, UnknownProblemError
from skillfoundry.kernels.problems.model import Launch, Problem, ScalarSpec, TensorSpec, Tolerance, check_problem

__all__ = [
    "Launch",
    "Problem",
    "ScalarSpec",
    "TensorSpec",
    "Tolerance",
    "check_problem",
    "get_problem",
    "list_problems",
]


@cache
def _suite() -> dict[str, Problem]:
    from skillfoundry.kernels.problems import level1, level2, level3

    suite: dict[str, Problem] = {}
    for problem in (*level1.PROBLEMS, *level2.PROBLEMS, *level3.PROBLEMS):
        check_problem(problem)
        if problem.id in suite:
            raise ProblemSpecError(f"kernel problem id {problem.id!r} is defined twice")
        suite[problem.id] = problem
    return suite


def list_problems(level: int | None = None) -> list[Problem]:
    """Every problem (optionally only one level), ordered by level then definition order."""
    problems = sorted(_suite().values(), key=lambda p: p.level)
    return [p for p in problems if level is None or p.level == level]


def get_problem(problem_id: str) -> Problem:
    """The problem with this id; an unknown id raises UnknownProblemError naming close matches."""
    suite = _suite()
    if problem_id in suite:
        return suite[problem_id]
    close = difflib.get_close_matches(problem_id, list(suite), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"known ids: {', '.join(suite)}"
    raise UnknownProblemError(f"unknown kernel problem {problem_id!r}; {hint}")
