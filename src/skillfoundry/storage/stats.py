"""The paired bootstrap CI of skill lift over test cases (the catalog's SQL mirrors every step).

The bootstrap resamples test cases as clusters (each case keeps its epochs inside), so repeats of
one case never count as independent samples. It is a Poisson bootstrap whose weights come from a
hash of (seed, replicate, case id) instead of a random generator: a case keeps its weights whatever
other cases are present, the SQL of the catalog can compute the very same weights, and results are
reproducible bit for bit. Replicate b of the lift is ``sum_c w[b,c] * d[c] / sum_c w[b,c]``.

The interval is the *t-expanded percentile interval*: the percentile interval of the replicates,
widened about the observed lift by ``t(1 - a/2, n - 1) / z(1 - a/2)`` for n cases. A plain percentile
interval over few clusters is too narrow (it behaves like a z interval with the n-divisor standard
deviation); simulation with a known lift (tests/storage/test_storage_coverage.py) measured 0.92-0.94
coverage of a nominal 95% interval at 10-12 cases, and about 0.95 after the expansion. The t quantile
is the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5, four terms), within 1e-3 of the exact
value for 4 or more degrees of freedom, and simple enough for SQL to compute identically.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Sequence
from statistics import NormalDist

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


def normal_quantile(level: float) -> float:
    """z(1 - a/2) of a two-sided interval at confidence ``level``."""
    return NormalDist().inv_cdf(1.0 - (1.0 - level) / 2.0)


#: Cornish-Fisher terms g_k(z) of t = z + g1/v + g2/v^2 + g3/v^3 + g4/v^4: (divisor, ((coefficient, power), ...)).
CORNISH_FISHER: tuple[tuple[float, tuple[tuple[float, int], ...]], ...] = (
    (4.0, ((1.0, 3), (1.0, 1))),
    (96.0, ((5.0, 5), (16.0, 3), (3.0, 1))),
    (384.0, ((3.0, 7), (19.0, 5), (17.0, 3), (-15.0, 1))),
    (92160.0, ((79.0, 9), (776.0, 7), (1482.0, 5), (-1920.0, 3), (-945.0, 1))),
)


def expansion(n_cases: np.ndarray | int, level: float) -> np.ndarray:
    """The factor t(1 - a/2, n - 1) / z(1 - a/2) that widens the percentile interval of n cases (1 for n < 2)."""
    z = normal_quantile(level)
    n = np.asarray(n_cases, dtype=np.float64)
    df = np.maximum(n - 1.0, 1.0)
    t = np.full_like(df, z)
    for power, (divisor, terms) in enumerate(CORNISH_FISHER, start=1):
        t = t + sum(c * z**k for c, k in terms) / divisor / df**power
    return np.where(n >= 2, t / z, 1.0)


def expand(
    lift: np.ndarray, lo: np.ndarray, hi: np.ndarray, n_cases: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """The t-expanded interval: each bound moved away from the observed lift by ``expansion(n)``, then cut
    to [-1, 1], where a difference of two pass rates lies."""
    k = expansion(n_cases, level)
    return np.maximum(lift - k * (lift - lo), -1.0), np.minimum(lift + k * (hi - lift), 1.0)


def bootstrap_groups(
    key_lists: Sequence[np.ndarray], diff_lists: Sequence[np.ndarray], *, n_boot: int, seed: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """t-expanded percentile CIs of the mean difference of many groups at once (cases in any order):
    groups with the same case set share one weight matrix, so their replicates come from one matrix
    product. A group without cases gives NaN."""
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
    lifts = np.array([np.mean(d) if len(d) else np.nan for d in sorted_diffs])
    sizes = np.array([len(k) for k in sorted_keys])
    return expand(lifts, lo, hi, sizes, level)
