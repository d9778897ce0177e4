"""Stores of several students, with and without skills, at known pass rates and costs (pipeline writers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage"))

from storage_builders import Store, case_row, gen_row, grade_rows, run_row  # noqa: E402
from storage_reference import paired_bootstrap_ci, sign_test_p  # noqa: E402, F401  (independent reference statistics)

from skillfoundry.storage.records import SkillRecord  # noqa: E402

EPOCHS = 4


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``skillfoundry`` binary at 80 columns."""
    return subprocess.run(
        [sys.executable, "-m", "skillfoundry", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )


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


def add_benchmarks(store: Store, root: Path, speedup_of: dict[str, float]) -> None:
    """A GPU benchmark for every graded answer: correct when it passed, with the speedup of its model."""
    from skillfoundry.storage.records import KernelBenchmarkRecord
    from skillfoundry.storage.writer import write_rows

    passed = {g.gen_id for g in store.grades if g.passed}
    rows = [
        KernelBenchmarkRecord(
            run_id=gen.run_id,
            bench_id=f"b/{gen.gen_id}",
            gen_id=gen.gen_id,
            source_sha="s",
            problem_id="p",
            shape_json="{}",
            gpu_name="H200",
            driver_version="1",
            correct=gen.gen_id in passed,
            time_ms=1.0,
            ref_time_ms=speedup_of[gen.model],
            speedup=speedup_of[gen.model] * (1 + 0.1 * gen.epoch),
            trials=10,
            samples_json="[1.0]",
        )
        for gen in store.gens
    ]
    write_rows(root, "kernel_benchmarks", rows)
