"""Builders of realistic store contents for the storage tests (real Parquet files in tmp_path)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from skillfoundry.storage.records import GenerationRecord, GradeRecord, RunRecord, TestCaseRecord
from skillfoundry.storage.writer import write_rows

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def run_row(run_id: str, hours: int, status: str = "completed") -> RunRecord:
    return RunRecord(
        run_id=run_id, flow="distill", started_at=T0 + timedelta(hours=hours), status=status, config_json='{"seed": 1}'
    )


def case_row(
    case_id: str, split: str = "test", run_id: str = "r0", kind: str = "text", problem_id: str | None = None
) -> TestCaseRecord:
    return TestCaseRecord(
        run_id=run_id,
        case_id=case_id,
        skill_name="demo",
        split=split,
        prompt=f"prompt {case_id}",
        checks_json="[]",
        kind=kind,
        problem_id=problem_id,
    )


def gen_row(
    run_id: str,
    case_id: str,
    condition: str,
    epoch: int,
    *,
    skill_id: str | None = None,
    model: str = "local",
    key: str = "k1",
    error_kind: str | None = None,
    tokens: tuple[int, int] = (100, 40),
) -> GenerationRecord:
    skill_id = skill_id if condition == "with_skill" else None
    return GenerationRecord(
        run_id=run_id,
        gen_id=f"{run_id}/{model}/{case_id}/{skill_id}/{condition}/{epoch}/{key}",
        case_id=case_id,
        skill_id=skill_id,
        condition=condition,
        model=model,
        epoch=epoch,
        seed=epoch,
        sampling_key=key,
        text="answer",
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        latency_s=0.5,
        error="boom" if error_kind else None,
        error_kind=error_kind,
    )


def grade_rows(
    gen: GenerationRecord, passed: list[bool], *, level: str = "deterministic", infra: bool = False
) -> list[GradeRecord]:
    return [
        GradeRecord(
            run_id=gen.run_id,
            grade_id=f"{gen.gen_id}#{i}",
            gen_id=gen.gen_id,
            grader=f"check{i}",
            passed=p and not infra,
            score=float(p and not infra),
            detail_json="{}",
            infra_error=infra,
            level=level,
        )
        for i, p in enumerate(passed)
    ]


@dataclass
class Store:
    """Rows written to a data dir, kept in Python for independent reference computations."""

    root: Path
    runs: list[RunRecord] = field(default_factory=list)
    cases: list[TestCaseRecord] = field(default_factory=list)
    gens: list[GenerationRecord] = field(default_factory=list)
    grades: list[GradeRecord] = field(default_factory=list)
    #: Every write of generations and grades, in order: what "latest" means to the reference.
    log: list[tuple[str, list[GenerationRecord] | list[GradeRecord]]] = field(default_factory=list)

    def write(self) -> Path:
        for table, rows in (("runs", self.runs), ("test_cases", self.cases)):
            if rows:
                write_rows(self.root, table, rows)
        self.append("generations", self.gens)
        self.append("grades", self.grades)
        return self.root

    def append(self, table: str, rows: list[GenerationRecord] | list[GradeRecord]) -> None:
        """Write one batch of generations or grades (a later write is a later copy)."""
        if rows:
            write_rows(self.root, table, rows)
            self.log.append((table, list(rows)))


def synthetic_store(
    root: Path,
    *,
    n_cases: int = 12,
    epochs: int = 3,
    runs: int = 2,
    skill_effect: float = 0.0,
    seed: int = 0,
    baseline_every_run: bool = False,
    models: tuple[str, ...] = ("local",),
    train_cases: int = 0,
    error_rate: float = 0.0,
) -> Store:
    """Runs of with-skill answers; baselines in the first run (or every run); two checks per answer."""
    rng = np.random.default_rng(seed)
    store = Store(root)
    p_case = rng.uniform(0.1, 0.9, n_cases + train_cases)
    case_ids = [f"case-{seed}-{i}" for i in range(n_cases + train_cases)]
    store.cases = [case_row(c, "train" if i >= n_cases else "test") for i, c in enumerate(case_ids)]
    errors = ["timeout", "server_error", "connection"]
    for r in range(runs):
        run_id = f"run{r}"
        store.runs.append(run_row(run_id, r))
        for model in models:
            for i, case_id in enumerate(case_ids):
                conditions = ["with_skill"] + (["baseline"] if (r == 0 or baseline_every_run) else [])
                for condition in conditions:
                    for epoch in range(epochs):
                        error = errors[epoch % 3] if rng.uniform() < error_rate else None
                        gen = gen_row(
                            run_id, case_id, condition, epoch, skill_id=f"skill{r}", model=model, error_kind=error
                        )
                        store.gens.append(gen)
                        if error:
                            continue
                        effect = 0.0 if condition == "baseline" else skill_effect
                        p = min(1.0, max(0.0, p_case[i] + effect))
                        store.grades.extend(grade_rows(gen, [bool(rng.uniform() < p), bool(rng.uniform() < 0.95)]))
    return store
