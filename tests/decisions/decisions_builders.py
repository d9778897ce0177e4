"""Stores of several students, with and without skills, at known pass rates and costs (pipeline writers)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage"))

from storage_builders import Store, case_row, gen_row, grade_rows, run_row  # noqa: E402

from skillfoundry.storage.records import SkillRecord  # noqa: E402

EPOCHS = 4


def add_config(
    store: Store,
    run_id: str,
    model: str,
    skill_id: str | None,
    passes: list[int],
    *,
    tokens: tuple[int, int] = (100, 40),
) -> None:
    """Answers of ``model`` (with ``skill_id``, or the baseline) to cases 0..n-1 of ``store``: case i
    passes in its first ``passes[i]`` of EPOCHS epochs."""
    condition = "baseline" if skill_id is None else "with_skill"
    for i, n_pass in enumerate(passes):
        for epoch in range(EPOCHS):
            gen = gen_row(run_id, f"case{i}", condition, epoch, skill_id=skill_id, model=model, tokens=tokens)
            store.gens.append(gen)
            store.grades.extend(grade_rows(gen, [epoch < n_pass]))


def new_store(root: Path, n_cases: int, runs: list[str]) -> Store:
    store = Store(root)
    store.runs = [run_row(r, h) for h, r in enumerate(runs)]
    store.cases = [case_row(f"case{i}", problem_id=f"p{i}") for i in range(n_cases)]
    return store


def skill_row(run_id: str, skill_id: str, round_: int = 0) -> SkillRecord:
    return SkillRecord(
        run_id=run_id,
        skill_id=skill_id,
        name="demo",
        description="A demo skill.",
        body="Do it well.\n",
        skill_md="---\nname: demo\ndescription: A demo skill.\n---\nDo it well.\n",
        files_json="{}",
        round=round_,
        tokens=50,
    )
