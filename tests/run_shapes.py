"""What a run stores, by what each row is, and what an uninterrupted run stores: the yardstick of the
tests that check a run's rows, and that a killed run's resume lost and doubled nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb

from skillfoundry.domain import cuda
from skillfoundry.kernels.gpu import available
from skillfoundry.kernels.problems import list_problems
from skillfoundry.storage.catalog import catalog


def table_shape(data: Path, run_id: str) -> dict[str, object]:
    """What a run stored, keyed by what each row is: skill versions by round, answers by (model, case,
    condition, epoch, skill round). The teacher's practice cases are left out: how many it proposes
    differs from run to run."""
    con = catalog(data)
    rounds = dict(con.execute("select skill_id, round from skills where run_id = ?", [run_id]).fetchall())
    gens = con.execute(
        "select gen_id, model, case_id, condition, epoch, skill_id from generations where run_id = ?", [run_id]
    ).fetchall()
    keys = {g[0]: (g[1], g[2], g[3], g[4], rounds.get(g[5])) for g in gens}
    grades = con.execute("select gen_id, grader, level from grades where run_id = ?", [run_id]).fetchall()
    problems = con.execute(
        "select case_id, split from test_cases where run_id = ? and kind = 'kernel' order by all", [run_id]
    ).fetchall()
    return {
        "skills": sorted(rounds.values()),
        "traces": sorted(r[0] for r in con.execute("select task_id from traces where run_id = ?", [run_id]).fetchall()),
        "cases": problems,
        "generations": sorted(keys.values()),
        "grades": sorted((keys[g[0]], g[1], g[2]) for g in grades),
        "lift": con.execute(
            "select model, n_cases from skill_lift where run_id = ? order by all", [run_id]
        ).fetchall(),
    }


def uninterrupted_shape() -> dict[str, object]:
    """The rows an uninterrupted `run --cases 3 --epochs 2` stores (default seed and one train problem)."""
    train, test = cuda.split_problems(list_problems(), seed=0, n_train=1, n_test=3)
    level = "kernel-gpu" if available() else "kernel-static"
    gens = sorted(
        ("local", cuda.problem_case(p, "test").case_id(), condition, epoch, 0 if condition == "with_skill" else None)
        for p in test
        for condition in ("baseline", "with_skill")
        for epoch in (0, 1)
    )
    return {
        "skills": [0],
        "traces": sorted([train[0].id, "extract-skill"]),
        "cases": sorted(
            [(cuda.problem_case(train[0], "train").case_id(), "train")]
            + [(cuda.problem_case(p, "test").case_id(), "test") for p in test]
        ),
        "generations": gens,
        "grades": sorted((g, "kernel", level) for g in gens),
        "lift": [("local", 3)],
    }


def held_out_split_stored(data: Path) -> bool:
    files = [str(f) for f in (data / "test_cases").rglob("*.parquet")]
    query = f"select count(*) from read_parquet({files}) where split = 'test'"
    return bool(files) and duckdb.connect().execute(query).fetchone()[0] > 0
