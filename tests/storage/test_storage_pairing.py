"""Baselines reused across runs follow the pairing rule of the lift, findings see them, and errors
later asked again successfully are not counted (issue 10, item 4)."""

from __future__ import annotations

from pathlib import Path

from storage_builders import case_row, gen_row, grade_rows, run_row

from skillfoundry.evaluation import CaseRef
from skillfoundry.skills.model import ContainsCheck, TestCase
from skillfoundry.storage.answers import case_lifts, existing_baselines
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.writer import write_rows
from skillfoundry.tasks.steps import check_discrimination

CASES = [f"c{i}" for i in range(4)]


def reusable(root: Path, run_id: str) -> frozenset[tuple[str, int]]:
    return existing_baselines(root, run_id=run_id, model="local", sampling_key="k1", case_ids=CASES, epochs=[0, 1])


def paired(root: Path, run_id: str) -> set[str]:
    return {r.case_id for r in case_lifts(root, run_id) if r.base_n > 0}


def test_a_run_reuses_exactly_the_baselines_its_lift_pairs_with(data_dir: Path) -> None:
    write_rows(data_dir, "runs", [run_row("older", 0), run_row("newer", 5)])
    write_rows(data_dir, "test_cases", [case_row(c) for c in CASES])
    baselines = [gen_row("newer", c, "baseline", e) for c in CASES for e in (0, 1)]
    skills = [gen_row(r, c, "with_skill", 0, skill_id="s") for r in ("older", "newer") for c in CASES]
    write_rows(data_dir, "generations", baselines + skills)
    write_rows(data_dir, "grades", [g for gen in baselines + skills for g in grade_rows(gen, [True])])
    # resuming the older run: the newer run's baselines do not pair with it, so it must ask its own
    assert reusable(data_dir, "older") == frozenset() and paired(data_dir, "older") == set()
    assert reusable(data_dir, "newer") == {(c, e) for c in CASES for e in (0, 1)}
    assert paired(data_dir, "newer") == set(CASES)
    # a run started later (its runs row written at its start) reuses them and pairs with them
    write_rows(data_dir, "runs", [run_row("latest", 9)])
    assert reusable(data_dir, "latest") == {(c, e) for c in CASES for e in (0, 1)}


def test_non_discrimination_findings_see_reused_baselines(data_dir: Path) -> None:
    write_rows(data_dir, "runs", [run_row("first", 0), run_row("second", 1)])
    write_rows(data_dir, "test_cases", [case_row(c) for c in CASES])
    baselines = [gen_row("first", c, "baseline", 0) for c in CASES]
    skills = [gen_row("second", c, "with_skill", 0, skill_id="s") for c in CASES]
    write_rows(data_dir, "generations", baselines + skills)
    passes = {"c0": (True, True), "c1": (False, False), "c2": (False, True), "c3": (True, False)}
    grades = [g for gen in baselines for g in grade_rows(gen, [passes[gen.case_id][0]])]
    grades += [g for gen in skills for g in grade_rows(gen, [passes[gen.case_id][1]])]
    write_rows(data_dir, "grades", grades)
    refs = [CaseRef(case_id=c, case=TestCase(id=c, prompt=f"p {c}", checks=[ContainsCheck(values=["x"])])) for c in CASES]
    assert check_discrimination.fn("s", refs, run_id="second", data_dir=data_dir) == 2
    found = catalog(data_dir).execute("SELECT case_id, kind FROM skill_findings ORDER BY case_id").fetchall()
    assert found == [("c0", "always-passes"), ("c1", "always-fails")]


def test_errors_asked_again_successfully_are_not_counted(data_dir: Path) -> None:
    write_rows(data_dir, "runs", [run_row("a", 0), run_row("b", 1)])
    write_rows(data_dir, "test_cases", [case_row("c1")])
    # run a: the baseline timed out; run b asked it again (its own baseline) and it worked
    write_rows(data_dir, "generations", [gen_row("a", "c1", "baseline", 0, error_kind="timeout")])
    ok_base, skill = gen_row("b", "c1", "baseline", 0), gen_row("b", "c1", "with_skill", 0, skill_id="s")
    # run b's with-skill answer timed out first, then worked when asked again under the same id
    write_rows(data_dir, "generations", [skill.model_copy(update={"error_kind": "timeout", "error": "boom"})])
    write_rows(data_dir, "generations", [ok_base, skill])
    write_rows(data_dir, "grades", grade_rows(ok_base, [False]) + grade_rows(skill, [True]))
    con = catalog(data_dir, min_cases=1)
    assert con.execute("SELECT n_errors, n_cases, lift FROM skill_lift WHERE run_id = 'b'").fetchall() == [(0, 1, 1.0)]
    assert con.execute("SELECT n_errors FROM case_lift WHERE run_id = 'b'").fetchall() == [(0,)]
