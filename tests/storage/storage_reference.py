"""An independent, plain-Python computation of the catalog's derived views from the written rows,
and the reference statistics (exact sign test, percentile bootstrap CI, verdict) the SQL must match."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from statistics import fmean
from typing import Any

import numpy as np
from storage_builders import Store

from skillfoundry.storage.stats import _quantiles, bootstrap_replicates, case_key, expand

UNKNOWN = "unknown"


def binomial_tail(n: int, k: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly (integer arithmetic, one rounding)."""
    return sum(math.comb(n, j) for j in range(k + 1)) / 2**n


def sign_test_p(diffs: Sequence[float]) -> float:
    """Two-sided exact sign test of per-case differences; zero differences are dropped."""
    pos, neg = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    return 1.0 if pos + neg == 0 else min(1.0, 2.0 * binomial_tail(pos + neg, min(pos, neg)))


def paired_bootstrap_ci(
    case_ids: Sequence[str], diffs: Sequence[float], *, n_boot: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """The t-expanded percentile CI of the mean per-case difference, one group at a time."""
    keys = np.array([case_key(c) for c in case_ids], dtype=np.uint64)
    d = np.asarray(diffs, dtype=np.float64)
    lo, hi = _quantiles(bootstrap_replicates(keys, d, n_boot=n_boot, seed=seed), level)
    lo, hi = expand(np.array([d.mean()]), lo, hi, np.array([len(d)]), level)
    return float(lo[0]), float(hi[0])


def verdict(ci_low: float | None, ci_high: float | None, p_value: float, n_cases: int, min_cases: int) -> str:
    """'helps'/'hurts' only when the CI excludes 0 on that side, the sign test rejects at 5% and enough cases."""
    if n_cases < min_cases or ci_low is None or ci_high is None or not p_value < 0.05:
        return "inconclusive"
    if ci_low > 0:
        return "helps"
    if ci_high < 0:
        return "hurts"
    return "inconclusive"


def winning_answers(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (run_id, gen_id): the winning copy (no error first, then the latest answer; a copy repeating an
    earlier answer dates from that one), its grades (written no earlier than that answer; per grade id
    no infra error first, then the latest) and its state."""
    answered: dict[tuple, int] = {}
    copies: dict[tuple[str, str], list[tuple[int, Any]]] = defaultdict(list)
    grades: dict[tuple[str, str], dict[str, list[tuple[int, Any]]]] = defaultdict(lambda: defaultdict(list))
    for seq, (table, rows) in enumerate(store.log):
        for row in rows:
            if table == "generations":
                same = (row.run_id, row.gen_id, row.text, row.error_kind, row.error)
                answered.setdefault(same, seq)
                copies[(row.run_id, row.gen_id)].append((answered[same], row))
            else:
                grades[(row.run_id, row.gen_id)][row.grade_id].append((seq, row))
    out = {}
    for key, found in copies.items():
        at, gen = max(found, key=lambda c: (c[1].error_kind is None, c[0]))
        own = []
        for versions in grades[key].values():
            mine = [(seq, g) for seq, g in versions if seq >= at]
            if mine:
                own.append(max(mine, key=lambda v: (not v[1].infra_error, v[0]))[1])
        level = "+".join(sorted({g.level or UNKNOWN for g in own})) if own else None
        if gen.error_kind is not None or any(g.infra_error for g in own):
            state = "error"
        elif not own:
            state = "ungraded"
        else:
            state = "usable"
        out[key] = {"gen": gen, "state": state, "passed": all(g.passed for g in own), "level": level}
    return out


def cells(store: Store) -> dict[tuple, dict[str, Any]]:
    answers = winning_answers(store).values()
    run_levels: dict[tuple, set[str]] = defaultdict(set)
    for a in answers:
        if a["level"] is not None:
            run_levels[(a["gen"].run_id, a["gen"].model, a["gen"].sampling_key)].add(a["level"])
    out: dict[tuple, dict[str, Any]] = {}
    for a in answers:
        gen = a["gen"]
        levels = run_levels[(gen.run_id, gen.model, gen.sampling_key)]
        level = a["level"] or (next(iter(levels)) if len(levels) == 1 else UNKNOWN)
        key = (gen.run_id, gen.model, gen.skill_id, gen.condition, gen.sampling_key, gen.case_id, level)
        cell = out.setdefault(
            key, {"n_gens": 0, "n_errors": 0, "n_ungraded": 0, "n_graded": 0, "n_passed": 0, "epochs": set()}
        )
        cell["n_gens"] += 1
        if a["state"] == "error":
            cell["n_errors"] += 1
        elif a["state"] == "ungraded":
            cell["n_ungraded"] += 1
        else:
            cell["n_graded"] += 1
            cell["n_passed"] += int(a["passed"])
            cell["epochs"].add(gen.epoch)
    return out


def splits(store: Store) -> dict[str, str]:
    return {c.case_id: c.split for c in store.cases}


def run_order(store: Store) -> dict[str, int]:
    started = {}
    for r in store.runs:
        started[r.run_id] = min(started.get(r.run_id, r.started_at), r.started_at)
    ids = {g.run_id for g in store.gens} | set(started)
    ordered = sorted(ids, key=lambda rid: (started.get(rid) is None, started.get(rid) or 0, rid))
    return {rid: i for i, rid in enumerate(ordered)}


def case_lift(store: Store) -> dict[tuple, dict[str, Any]]:
    """Per (run, model, skill, key, level, case) with-skill cell: pooled baseline of same/earlier runs."""
    all_cells, order, split = cells(store), run_order(store), splits(store)
    out = {}
    for (run_id, model, skill_id, condition, key, case_id, level), cell in all_cells.items():
        if condition != "with_skill":
            continue
        base = {
            r: c
            for (r, m, s, cond, k, cid, lvl), c in all_cells.items()
            if cond == "baseline"
            and s is None
            and (m, k, cid, lvl) == (model, key, case_id, level)
            and order[r] <= order[run_id]
        }
        base_n = sum(c["n_graded"] for c in base.values())
        base_passed = sum(c["n_passed"] for c in base.values())
        skill_rate = cell["n_passed"] / cell["n_graded"] if cell["n_graded"] else None
        base_rate = base_passed / base_n if base_n else None
        out[(run_id, model, skill_id, key, level, case_id)] = {
            "split": split.get(case_id),
            "n_epochs": len(cell["epochs"]),
            "skill_n": cell["n_graded"],
            "base_n": base_n,
            "skill_rate": skill_rate,
            "baseline_rate": base_rate,
            "diff": skill_rate - base_rate if skill_rate is not None and base_rate is not None else None,
            "n_errors": cell["n_errors"] + (base[run_id]["n_errors"] if run_id in base else 0),
        }
    return out


def skill_lift(store: Store, *, min_cases: int, n_boot: int, seed: int) -> dict[tuple, dict[str, Any]]:
    groups: dict[tuple, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for (run_id, model, skill_id, key, level, case_id), row in case_lift(store).items():
        if row["split"] == "test":
            groups[(run_id, model, skill_id, key, level)].append((case_id, row))
    out = {}
    for group, rows in groups.items():
        paired = [(cid, r) for cid, r in rows if r["diff"] is not None]
        diffs = [r["diff"] for _, r in paired]
        lo, hi = (
            paired_bootstrap_ci([cid for cid, _ in paired], diffs, n_boot=n_boot, seed=seed) if paired else (None, None)
        )
        p = sign_test_p(diffs)
        out[group] = {
            "n_cases": len(paired),
            "n_epochs": max((r["n_epochs"] for _, r in paired), default=0),
            "n_errors": sum(r["n_errors"] for _, r in rows),
            "baseline_pass_rate": fmean(r["baseline_rate"] for _, r in paired) if paired else None,
            "skill_pass_rate": fmean(r["skill_rate"] for _, r in paired) if paired else None,
            "lift": fmean(diffs) if paired else None,
            "ci_low": lo,
            "ci_high": hi,
            "p_value": p,
            "verdict": verdict(lo, hi, p, len(paired), min_cases),
        }
    return out


def pass_rates(store: Store) -> dict[tuple, dict[str, Any]]:
    split = splits(store)
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for (run_id, model, skill_id, condition, key, case_id, level), cell in cells(store).items():
        groups[(run_id, model, skill_id, condition, key, level, split.get(case_id))].append(cell)
    out = {}
    for group, members in groups.items():
        graded = [c for c in members if c["n_graded"]]
        out[group] = {
            "n_cases": len(graded),
            "n_generations": sum(c["n_graded"] for c in members),
            "n_errors": sum(c["n_errors"] for c in members),
            "n_ungraded": sum(c["n_ungraded"] for c in members),
            "pass_rate": fmean(c["n_passed"] / c["n_graded"] for c in graded) if graded else None,
        }
    return out
