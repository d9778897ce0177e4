"""The verdict needs both statistics, and the CI covers a known lift as often as it claims
(issue 10, item 8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from storage_builders import case_row, gen_row, grade_rows, run_row

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.stats import bootstrap_groups
from skillfoundry.storage.writer import write_rows

TRUE_LIFT = 0.2


def coverage(n_cases: int, epochs: int, trials: int, seed: int) -> float:
    """How often the catalog's 95% CI holds a known lift: per-case pass rates p ~ U(0.1, 0.6) without the
    skill and p + 0.2 with it, ``epochs`` answers each, so the expected mean per-case lift is exactly 0.2."""
    rng = np.random.default_rng(seed)
    keys, diffs = [], []
    for _ in range(trials):
        p = rng.uniform(0.1, 0.6, n_cases)
        base = rng.binomial(epochs, p) / epochs
        skill = rng.binomial(epochs, p + TRUE_LIFT) / epochs
        keys.append(rng.integers(0, 2**63, n_cases, dtype=np.uint64))
        diffs.append(skill - base)
    lo, hi = bootstrap_groups(keys, diffs, n_boot=1000, seed=seed, level=0.95)
    return float(np.mean((lo <= TRUE_LIFT) & (TRUE_LIFT <= hi)))


def test_the_95_percent_ci_covers_a_known_lift_about_95_percent_of_the_time() -> None:
    found = {(n, e): coverage(n, e, trials=2000, seed=n * 10 + e) for n, e in ((10, 3), (12, 1), (20, 3))}
    print("coverage of the 95% CI (cases, epochs) -> share of 2000 simulated runs:", found)
    # a percentile interval over 10-12 cases covers only ~0.92-0.93 (anti-conservative); the t-expanded one ~0.95
    for value in found.values():
        assert 0.94 <= value <= 0.975


def test_helps_needs_the_sign_test_too(data_dir: Path) -> None:
    """Measured on the embedded model: 5 cases improved, none worsened, 7 unchanged. The CI excludes 0
    but the exact sign test gives p = 0.0625: that is not evidence enough for 'helps'."""
    write_rows(data_dir, "runs", [run_row("r", 0)])
    cases = [f"c{i}" for i in range(12)]
    write_rows(data_dir, "test_cases", [case_row(c) for c in cases])
    gens, grades = [], []
    for i, case_id in enumerate(cases):
        base, skill = gen_row("r", case_id, "baseline", 0), gen_row("r", case_id, "with_skill", 0, skill_id="s")
        gens += [base, skill]
        grades += grade_rows(base, [i >= 5]) + grade_rows(skill, [True])
    write_rows(data_dir, "generations", gens)
    write_rows(data_dir, "grades", grades)
    row = catalog(data_dir, min_cases=10).execute("SELECT ci_low, p_value, verdict FROM skill_lift").fetchone()
    ci_low, p_value, verdict = row
    assert ci_low > 0 and p_value == 0.0625
    assert verdict == "inconclusive"
