"""Copies of a row under one id: the latest successful copy wins everywhere, whatever the file order,
also after compaction; only usable answers count as done (issue 10, items 2 and 3)."""

from __future__ import annotations

from pathlib import Path

from storage_builders import case_row, gen_row, grade_rows, run_row

from skillfoundry.storage.answers import answered, existing_baselines
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.compact import compact
from skillfoundry.storage.writer import write_rows

N = 24


def lift_and_rates(root: Path) -> tuple[tuple, dict[str, tuple]]:
    con = catalog(root, min_cases=1, n_boot=200)
    try:
        lift = con.execute(
            "SELECT n_cases, n_errors, baseline_pass_rate, skill_pass_rate FROM skill_lift"
        ).fetchall()
        rates = con.execute("SELECT condition, n_generations, n_errors, n_ungraded, pass_rate FROM pass_rates").fetchall()
        errored = con.execute("SELECT count(*) FROM generations WHERE error_kind IS NOT NULL").fetchone()
    finally:
        con.close()
    assert len(lift) == 1
    return (*lift[0], errored[0]), {r[0]: r[1:] for r in rates}


def write_reasked_answers(root: Path) -> None:
    """Each with-skill answer first failed on a timeout, then was asked again and passed; each baseline
    answer was graded (a failure), then asked again by mistake and that copy errored. One file per copy,
    so file names (random) decide the order a reader meets them."""
    write_rows(root, "runs", [run_row("r", 0)])
    write_rows(root, "test_cases", [case_row(f"c{i}") for i in range(N)])
    for i in range(N):
        write_rows(root, "generations", [gen_row("r", f"c{i}", "with_skill", 0, skill_id="s", error_kind="timeout")])
        good = gen_row("r", f"c{i}", "with_skill", 0, skill_id="s").model_copy(update={"text": "second try"})
        write_rows(root, "generations", [good])
        write_rows(root, "grades", grade_rows(good, [True]))
        base = gen_row("r", f"c{i}", "baseline", 0)
        write_rows(root, "generations", [base])
        write_rows(root, "grades", grade_rows(base, [False]))
        write_rows(root, "generations", [base.model_copy(update={"error_kind": "timeout", "error": "boom"})])


def test_the_latest_successful_copy_wins_in_every_view_and_after_compaction(data_dir: Path) -> None:
    write_reasked_answers(data_dir)
    want_lift = (N, 0, 0.0, 1.0, 0)  # no errors left: every answer has a successful copy
    want_rates = {"with_skill": (N, 0, 0, 1.0), "baseline": (N, 0, 0, 0.0)}
    assert lift_and_rates(data_dir) == (want_lift, want_rates)
    compact(data_dir)
    assert lift_and_rates(data_dir) == (want_lift, want_rates)


def test_grades_of_an_earlier_copy_do_not_grade_a_new_one(data_dir: Path) -> None:
    first = gen_row("r", "c1", "with_skill", 0, skill_id="s")
    write_rows(data_dir, "generations", [first])
    write_rows(data_dir, "grades", grade_rows(first, [True], level="kernel-static"))
    # asked again (e.g. to grade it on a GPU): the new text is not graded yet
    write_rows(data_dir, "generations", [first.model_copy(update={"text": "another answer"})])
    con = catalog(data_dir)
    assert con.execute("SELECT text, state, passed FROM answers").fetchall() == [("another answer", "ungraded", None)]
    # the same answer written again (a retried batch) keeps its grades
    write_rows(data_dir, "generations", [first])
    write_rows(data_dir, "generations", [first])
    con = catalog(data_dir)
    assert con.execute("SELECT text, state, passed FROM answers").fetchall() == [("another answer", "ungraded", None)]


def test_a_retried_identical_batch_keeps_its_grades(data_dir: Path) -> None:
    gen = gen_row("r", "c1", "with_skill", 0, skill_id="s")
    write_rows(data_dir, "generations", [gen])
    write_rows(data_dir, "grades", grade_rows(gen, [True]))
    write_rows(data_dir, "generations", [gen])  # the same answer lands again after it was graded
    rows = catalog(data_dir).execute("SELECT state, passed FROM answers").fetchall()
    assert rows == [("usable", True)]
    compact(data_dir)
    assert catalog(data_dir).execute("SELECT state, passed FROM answers").fetchall() == [("usable", True)]


def test_answered_lists_only_usable_answers_of_the_run_skill_and_sampling(data_dir: Path) -> None:
    good = gen_row("r", "c1", "with_skill", 0, skill_id="s")
    infra = gen_row("r", "c2", "with_skill", 0, skill_id="s")  # the judge was unreachable
    errored = gen_row("r", "c3", "with_skill", 0, skill_id="s", error_kind="timeout")
    ungraded = gen_row("r", "c4", "with_skill", 0, skill_id="s")
    other_key = gen_row("r", "c5", "with_skill", 0, skill_id="s", key="k2")
    write_rows(data_dir, "generations", [good, infra, errored, ungraded, other_key])
    write_rows(
        data_dir,
        "grades",
        grade_rows(good, [True]) + grade_rows(infra, [False], infra=True) + grade_rows(other_key, [True]),
    )
    done = answered(data_dir, run_id="r", model="local", skill_id="s", sampling_key="k1")
    assert done == {("c1", 0)}
    assert answered(data_dir, run_id="r", model="local", skill_id="s", sampling_key="k2") == {("c5", 0)}
    assert answered(data_dir, run_id="other", model="local", skill_id="s", sampling_key="k1") == set()
    # the judge answers on the next try: the answer is usable from then on
    write_rows(data_dir, "grades", grade_rows(infra, [False]))
    assert answered(data_dir, run_id="r", model="local", skill_id="s", sampling_key="k1") == {("c1", 0), ("c2", 0)}


def test_infra_errored_baselines_are_asked_again(data_dir: Path) -> None:
    write_rows(data_dir, "runs", [run_row("r", 0)])
    judged, unjudged = gen_row("r", "c1", "baseline", 0), gen_row("r", "c2", "baseline", 0)
    write_rows(data_dir, "generations", [judged, unjudged])
    write_rows(data_dir, "grades", grade_rows(judged, [False]) + grade_rows(unjudged, [False], infra=True))
    have = existing_baselines(
        data_dir, run_id="r", model="local", sampling_key="k1", case_ids=["c1", "c2"], epochs=[0]
    )
    assert have == {("c1", 0)}
