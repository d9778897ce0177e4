"""Statistics of lift: cluster bootstrap CI, exact sign test (reference), verdicts, A/A calibration."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from storage_reference import paired_bootstrap_ci, sign_test_p, verdict

from skillfoundry.storage.stats import POISSON_THRESHOLDS, bootstrap_groups, case_key, expansion, poisson_weights

SETTINGS = settings(max_examples=50, deadline=None)
DIFFS = st.lists(st.sampled_from([-1.0, -2 / 3, -0.5, -1 / 3, 0.0, 1 / 3, 0.5, 2 / 3, 1.0]), min_size=1, max_size=40)


def ids(n: int, prefix: str = "c") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


@SETTINGS
@given(diffs=DIFFS, seed=st.integers(0, 2**32))
def test_ci_contains_the_point_estimate(diffs: list[float], seed: int) -> None:
    lo, hi = paired_bootstrap_ci(ids(len(diffs)), diffs, n_boot=300, seed=seed)
    mean = float(np.mean(diffs))
    assert lo <= mean + 1e-12 and mean - 1e-12 <= hi
    assert -1.0 <= lo and hi <= 1.0  # a difference of pass rates, however few the cases


def test_a_lift_near_one_has_no_bound_past_one() -> None:
    diffs = [1.0] * 10 + [0.5, 0.0]  # the t-expansion of 12 cases pushed the upper bound to 1.015
    lo, hi = paired_bootstrap_ci(ids(len(diffs)), diffs, n_boot=1000, seed=0)
    assert 0.5 < lo < float(np.mean(diffs)) and hi == 1.0


def test_ci_narrows_as_cases_grow() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for n in (10, 40, 160, 640):
        diffs = rng.choice([-1.0, 0.0, 0.0, 1.0], size=n)
        lo, hi = paired_bootstrap_ci(ids(n), list(diffs), n_boot=1000, seed=1)
        widths.append(hi - lo)
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < widths[0] / 4  # ~ 1/sqrt(n): 64x the cases, ~8x narrower


@SETTINGS
@given(n=st.integers(1, 30), seed=st.integers(0, 1000))
def test_identical_conditions_give_zero_lift_and_a_zero_width_ci(n: int, seed: int) -> None:
    rates = np.random.default_rng(seed).integers(0, 4, n) / 3
    diffs = list(rates - rates)
    assert paired_bootstrap_ci(ids(n), diffs, n_boot=200, seed=seed) == (0.0, 0.0)
    assert sign_test_p(diffs) == 1.0
    assert verdict(0.0, 0.0, 1.0, n, 1) == "inconclusive"


def test_bootstrap_is_reproducible_and_seeded() -> None:
    diffs = list(np.random.default_rng(0).choice([-1.0, 0.0, 1.0], 25))
    first = paired_bootstrap_ci(ids(25), diffs, n_boot=500, seed=7)
    assert paired_bootstrap_ci(ids(25), diffs, n_boot=500, seed=7) == first
    assert paired_bootstrap_ci(ids(25), diffs, n_boot=500, seed=8) != first


def test_weights_depend_only_on_seed_replicate_and_case() -> None:
    keys = np.array([case_key(c) for c in ids(30)], dtype=np.uint64)
    all_weights = poisson_weights(keys, 50, seed=5)
    some = poisson_weights(keys[[3, 17, 29]], 50, seed=5)
    assert np.array_equal(all_weights[:, [3, 17, 29]], some)
    big = poisson_weights(np.array([case_key(c) for c in ids(4000)], dtype=np.uint64), 250, seed=1)
    assert abs(big.mean() - 1.0) < 0.01 and abs(big.var() - 1.0) < 0.02  # Poisson(1)
    assert abs((big == 0).mean() - math.exp(-1)) < 0.005


def test_poisson_thresholds_are_the_cdf_in_32_bits() -> None:
    cdf = 0.0
    for k, threshold in enumerate(POISSON_THRESHOLDS):
        cdf += math.exp(-1) / math.factorial(k)
        assert threshold == math.floor(cdf * 2**32)


def test_groups_sharing_a_case_set_match_one_at_a_time() -> None:
    rng = np.random.default_rng(1)
    keys = np.sort(np.array([case_key(c) for c in ids(20)], dtype=np.uint64))
    other = np.sort(np.array([case_key(c) for c in ids(12, "x")], dtype=np.uint64))
    key_lists = [keys, keys, other, keys[:0]]
    diff_lists = [rng.choice([-1.0, 0.0, 1.0], len(k)) for k in key_lists]
    lo, hi = bootstrap_groups(key_lists, diff_lists, n_boot=400, seed=3, level=0.95)
    for i, name_prefix in ((0, "c"), (1, "c"), (2, "x")):
        order = {case_key(c): c for c in ids(len(key_lists[i]), name_prefix)}
        single = paired_bootstrap_ci([order[int(k)] for k in key_lists[i]], list(diff_lists[i]), n_boot=400, seed=3)
        assert lo[i] == pytest.approx(single[0], abs=1e-12) and hi[i] == pytest.approx(single[1], abs=1e-12)
    assert math.isnan(lo[3]) and math.isnan(hi[3])


def exact_sign_p(pos: int, neg: int) -> float:
    n = pos + neg
    if n == 0:
        return 1.0
    tail = sum(Fraction(math.comb(n, k), 2**n) for k in range(min(pos, neg) + 1))
    return float(min(Fraction(1), 2 * tail))


@SETTINGS
@given(pos=st.integers(0, 60), neg=st.integers(0, 60), ties=st.integers(0, 5))
def test_sign_test_is_the_exact_two_sided_binomial(pos: int, neg: int, ties: int) -> None:
    diffs = [0.5] * pos + [-0.25] * neg + [0.0] * ties
    assert sign_test_p(diffs) == pytest.approx(exact_sign_p(pos, neg), rel=1e-12)


def test_sign_test_known_values() -> None:
    assert sign_test_p([1.0] * 10) == pytest.approx(2 / 1024)
    assert sign_test_p([1.0, -1.0]) == 1.0
    assert sign_test_p([]) == 1.0


def test_verdict_rules() -> None:
    assert verdict(0.01, 0.2, 0.01, 30, 10) == "helps"
    assert verdict(-0.2, -0.01, 0.01, 30, 10) == "hurts"
    assert verdict(-0.1, 0.2, 0.01, 30, 10) == "inconclusive"
    assert verdict(0.01, 0.2, 0.01, 9, 10) == "inconclusive"
    assert verdict(0.01, 0.2, 0.0625, 30, 10) == "inconclusive"  # the CI alone is not enough
    assert verdict(None, None, 0.01, 30, 10) == "inconclusive"


@pytest.mark.parametrize(("df", "t"), [(4, 2.776445), (9, 2.262157), (11, 2.200985), (29, 2.045230), (200, 1.971896)])
def test_expansion_uses_the_t_quantile(df: int, t: float) -> None:
    z = 1.959963984540054
    assert float(expansion(df + 1, 0.95)) == pytest.approx(t / z, abs=1e-3 / z)
    assert float(expansion(1, 0.95)) == 1.0


def test_a_a_comparisons_are_almost_always_inconclusive() -> None:
    """Same process twice (epochs inside cases): the 95% CI must exclude 0 rarely."""
    rng = np.random.default_rng(2024)
    outcomes = []
    for trial in range(300):
        n_cases, epochs = int(rng.integers(10, 40)), int(rng.integers(1, 5))
        p = rng.beta(0.7, 0.7, n_cases)
        a = rng.binomial(epochs, p) / epochs
        b = rng.binomial(epochs, p) / epochs
        lo, hi = paired_bootstrap_ci(ids(n_cases, f"t{trial}-"), list(a - b), n_boot=400, seed=trial)
        outcomes.append(verdict(lo, hi, sign_test_p(list(a - b)), n_cases, 10))
    assert outcomes.count("inconclusive") / len(outcomes) >= 0.9


def test_a_real_effect_is_found() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0.1, 0.6, 60)
    base = rng.binomial(3, p) / 3
    skill = rng.binomial(3, np.minimum(1, p + 0.3)) / 3
    lo, hi = paired_bootstrap_ci(ids(60), list(skill - base), n_boot=1000, seed=0)
    assert verdict(lo, hi, sign_test_p(list(skill - base)), 60, 10) == "helps"
    assert sign_test_p(list(skill - base)) < 0.01
