"""Paired statistics of skill lift: bootstrap CI over test cases, exact sign test, verdict.

The bootstrap resamples test cases as clusters (each case keeps its epochs inside), so repeats of
one case never count as independent samples. It is a Poisson bootstrap whose weights come from a
hash of (seed, replicate, case id) instead of a random generator: a case keeps its weights whatever
other cases are present, the SQL of the catalog can compute the very same weights, and results are
reproducible bit for bit. Replicate b of the lift is ``sum_c w[b,c] * d[c] / sum_c w[b,c]``.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

MASK32 = 0xFFFFFFFF
SALT_MULTIPLIER = 0x9E3779B1
FMIX_MULTIPLIERS = (0x85EBCA6B, 0xC2B2AE35)
DEFAULT_N_BOOT = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95


def _poisson_thresholds() -> tuple[int, ...]:
    """floor(2^32 * P(Poisson(1) <= k)) for every k whose threshold a 32-bit value can reach."""
    out, cdf, term, k = [], 0.0, math.exp(-1.0), 0
    while True:
        cdf += term
        threshold = math.floor(cdf * 2**32)
        if threshold > MASK32:
            return tuple(out)
        out.append(threshold)
        k += 1
        term /= k


POISSON_THRESHOLDS = _poisson_thresholds()
_THRESHOLDS = np.array(POISSON_THRESHOLDS, dtype=np.uint64)


def case_key(case_id: str) -> int:
    """A 64-bit key of a case id: the first 16 hex digits of its md5 (SQL: md5(case_id))."""
    return int(hashlib.md5(case_id.encode("utf-8")).hexdigest()[:16], 16)


def fmix32(h: np.ndarray) -> np.ndarray:
    """The murmur3 32-bit finaliser on uint64 arrays holding 32-bit values (no overflow in SQL either)."""
    h = h ^ (h >> np.uint64(16))
    h = (h * np.uint64(FMIX_MULTIPLIERS[0])) & np.uint64(MASK32)
    h = h ^ (h >> np.uint64(13))
    h = (h * np.uint64(FMIX_MULTIPLIERS[1])) & np.uint64(MASK32)
    return h ^ (h >> np.uint64(16))


def replicate_salts(n_boot: int, seed: int) -> np.ndarray:
    """One 32-bit salt per bootstrap replicate, derived from the seed."""
    b = np.arange(n_boot, dtype=np.uint64)
    return fmix32(((np.uint64(seed & MASK32) * np.uint64(SALT_MULTIPLIER)) + b) & np.uint64(MASK32))


def poisson_weights(keys: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Weights (n_boot x n_cases) of the Poisson(1) bootstrap, a pure function of (seed, b, key)."""
    keys = np.asarray(keys, dtype=np.uint64)
    lo = keys & np.uint64(MASK32)
    hi = keys >> np.uint64(32)
    salts = replicate_salts(n_boot, seed)[:, None]
    h = fmix32(lo[None, :] ^ salts)
    u = fmix32((h + hi[None, :]) & np.uint64(MASK32))
    return np.searchsorted(_THRESHOLDS, u, side="right").astype(np.float64)


def _quantiles(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bounds per column, ignoring NaN replicates (an all-NaN column gives NaN)."""
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanquantile(replicates, [alpha, 1.0 - alpha], axis=0)
    return lo, hi


def bootstrap_replicates(keys: np.ndarray, diffs: np.ndarray, *, n_boot: int, seed: int) -> np.ndarray:
    """Replicates (n_boot x n_groups) of the mean difference for groups sharing one set of cases.

    ``diffs`` is (n_cases,) or (n_cases, n_groups); a replicate whose weights are all zero is NaN.
    """
    weights = poisson_weights(keys, n_boot, seed)
    total = weights.sum(axis=1)
    d = np.asarray(diffs, dtype=np.float64)
    numerator = weights @ (d if d.ndim == 2 else d[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total[:, None] > 0, numerator / total[:, None], np.nan)


def paired_bootstrap_ci(
    case_ids: Sequence[str],
    diffs: Sequence[float],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> tuple[float, float]:
    """Percentile CI of the mean per-case difference, resampling cases (NaN, NaN when no case)."""
    if len(case_ids) != len(diffs):
        raise ValueError(f"case_ids ({len(case_ids)}) and diffs ({len(diffs)}) differ in length")
    if not case_ids:
        return math.nan, math.nan
    keys = np.array([case_key(c) for c in case_ids], dtype=np.uint64)
    lo, hi = _quantiles(bootstrap_replicates(keys, np.asarray(diffs), n_boot=n_boot, seed=seed), level)
    return float(lo[0]), float(hi[0])


def bootstrap_groups(
    key_lists: Sequence[np.ndarray], diff_lists: Sequence[np.ndarray], *, n_boot: int, seed: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """CIs of many groups at once (cases in any order): groups with the same case set share one
    weight matrix, so their replicates come from one matrix product."""
    lo = np.full(len(key_lists), np.nan)
    hi = np.full(len(key_lists), np.nan)
    by_set: dict[bytes, list[int]] = {}
    sorted_keys, sorted_diffs = [], []
    for index, (keys, diffs) in enumerate(zip(key_lists, diff_lists, strict=True)):
        keys = np.asarray(keys, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        sorted_keys.append(keys[order])
        sorted_diffs.append(np.asarray(diffs, dtype=np.float64)[order])
        if len(keys):
            by_set.setdefault(sorted_keys[-1].tobytes(), []).append(index)
    for members in by_set.values():
        keys = sorted_keys[members[0]]
        diffs = np.stack([sorted_diffs[i] for i in members], axis=1)
        group_lo, group_hi = _quantiles(bootstrap_replicates(keys, diffs, n_boot=n_boot, seed=seed), level)
        lo[members], hi[members] = group_lo, group_hi
    return lo, hi


@lru_cache(maxsize=4096)
def _binomial_tail(n: int, k: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly (integer arithmetic, one rounding)."""
    term, total = 1, 1
    for j in range(k):
        term = term * (n - j) // (j + 1)
        total += term
    return total / 2**n


def sign_test_from_counts(n_pos: int, n_neg: int) -> float:
    """Two-sided exact sign test (McNemar on discordant cases) from the counts of +/- differences."""
    n = n_pos + n_neg
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * _binomial_tail(n, min(n_pos, n_neg)))


def sign_test_p(diffs: Sequence[float]) -> float:
    """Two-sided exact sign test of per-case differences; zero differences are dropped."""
    values = np.asarray(diffs, dtype=np.float64)
    return sign_test_from_counts(int((values > 0).sum()), int((values < 0).sum()))


def verdict(ci_low: float | None, ci_high: float | None, n_cases: int, min_cases: int) -> str:
    """'helps' if the CI lies above 0, 'hurts' if below, else (or with too few cases) 'inconclusive'."""
    if n_cases < min_cases or ci_low is None or ci_high is None or math.isnan(ci_low) or math.isnan(ci_high):
        return "inconclusive"
    if ci_low > 0:
        return "helps"
    if ci_high < 0:
        return "hurts"
    return "inconclusive"
