"""Shared fixtures: one temporary compile cache per session, every reference solution built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillfoundry.kernels import DEFAULT_ARCHS, BuildResult, compile_many, list_problems
from skillfoundry.kernels.static_checks import signature_program


@pytest.fixture(scope="session")
def kernel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kernel-cache")


@pytest.fixture(scope="session")
def reference_builds(kernel_cache: Path) -> dict[str, list[BuildResult]]:
    """problem id -> builds of its reference solution (as the grader compiles it: after the problem's
    declarations) for every default arch."""
    problems = list_problems()
    programs = [signature_program(p, p.solution_source) for p in problems]
    builds = compile_many(programs, archs=DEFAULT_ARCHS, cache_dir=kernel_cache)
    return {p.id: b for p, b in zip(problems, builds)}
