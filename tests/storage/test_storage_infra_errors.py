"""A grade that failed for infrastructure reasons is an error, never a model failure."""

from __future__ import annotations

from pathlib import Path

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.records import GenerationRecord, GradeRecord
from skillfoundry.storage.writer import write_rows


def gen(gen_id: str, epoch: int) -> GenerationRecord:
    return GenerationRecord(
        run_id="r", gen_id=gen_id, case_id="c", skill_id=None, condition="baseline", model="m", epoch=epoch,
        seed=epoch, sampling_key="k", text="answer", input_tokens=1, output_tokens=1, latency_s=0.1,
    )


def grade(gen_id: str, passed: bool, infra_error: bool | None) -> GradeRecord:
    return GradeRecord(
        run_id="r", grade_id=f"g-{gen_id}", gen_id=gen_id, grader="judge", passed=passed, score=float(passed),
        detail_json="{}", infra_error=infra_error, level="judged",
    )


def test_infra_error_grades_are_counted_as_errors_and_left_out_of_rates(tmp_path: Path) -> None:
    write_rows(tmp_path, "generations", [gen("a", 0), gen("b", 1), gen("c", 2)])
    write_rows(tmp_path, "grades", [grade("a", True, False), grade("b", False, True), grade("c", False, None)])
    (n_gens, n_errors, rate), = catalog(tmp_path).execute(
        "select n_generations, n_errors, pass_rate from pass_rates"
    ).fetchall()
    assert (n_gens, n_errors) == (2, 1)  # n_generations counts graded answers only
    assert rate == 0.5  # one pass, one real failure; the judge outage is not a failure
