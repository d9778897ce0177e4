"""An independent, plain-Python computation of the catalog's derived views from the written rows."""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean
from typing import Any

from storage_builders import Store

from skillfoundry.storage.stats import paired_bootstrap_ci, sign_test_p, verdict


def generation_status(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (run_id, gen_id): the generation (first copy) and passed True/False/None (ungraded)."""
    grades: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for g in store.grades:
        grades[(g.run_id, g.gen_id)].append(g.passed)
    out = {}
    for gen in store.gens:
        key = (gen.run_id, gen.gen_id)
        if key in out:
            continue
        passed = all(grades[key]) if grades.get(key) else None
        out[key] = {"gen": gen, "passed": passed}
    return out


def cells(store: Store) -> dict[tuple, dict[str, Any]]:
    out: dict[tuple, dict[str, Any]] = {}
    for item in generation_status(store).values():
        gen, passed = item["gen"], item["passed"]
        key = (gen.run_id, gen.model, gen.skill_id, gen.condition, gen.sampling_key, gen.case_id)
        cell = out.setdefault(
            key, {"n_gens": 0, "n_errors": 0, "n_ungraded": 0, "n_graded": 0, "n_passed": 0, "epochs": set()}
        )
        cell["n_gens"] += 1
        cell["epochs"].add(gen.epoch)
        if gen.error_kind is not None:
            cell["n_errors"] += 1
        elif passed is None:
            cell["n_ungraded"] += 1
        else:
            cell["n_graded"] += 1
            cell["n_passed"] += int(passed)
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
    """Per (run, model, skill, key, case) with-skill cell: pooled baseline of same/earlier runs."""
    all_cells, order, split = cells(store), run_order(store), splits(store)
    out = {}
    for (run_id, model, skill_id, condition, key, case_id), cell in all_cells.items():
        if condition != "with_skill":
            continue
        base = [
            c
            for (r, m, s, cond, k, cid), c in all_cells.items()
            if cond == "baseline"
            and s is None
            and m == model
            and k == key
            and cid == case_id
            and order[r] <= order[run_id]
        ]
        base_n = sum(c["n_graded"] for c in base)
        base_passed = sum(c["n_passed"] for c in base)
        skill_rate = cell["n_passed"] / cell["n_graded"] if cell["n_graded"] else None
        base_rate = base_passed / base_n if base_n else None
        out[(run_id, model, skill_id, key, case_id)] = {
            "split": split.get(case_id),
            "n_epochs": len(cell["epochs"]),
            "skill_n": cell["n_graded"],
            "base_n": base_n,
            "skill_rate": skill_rate,
            "baseline_rate": base_rate,
            "diff": skill_rate - base_rate if skill_rate is not None and base_rate is not None else None,
            "n_errors": cell["n_errors"] + sum(c["n_errors"] for c in base),
        }
    return out


def skill_lift(store: Store, *, min_cases: int, n_boot: int, seed: int) -> dict[tuple, dict[str, Any]]:
    groups: dict[tuple, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for (run_id, model, skill_id, key, case_id), row in case_lift(store).items():
        if row["split"] == "test":
            groups[(run_id, model, skill_id, key)].append((case_id, row))
    out = {}
    for group, rows in groups.items():
        paired = [(cid, r) for cid, r in rows if r["diff"] is not None]
        diffs = [r["diff"] for _, r in paired]
        lo, hi = (
            paired_bootstrap_ci([cid for cid, _ in paired], diffs, n_boot=n_boot, seed=seed) if paired else (None, None)
        )
        out[group] = {
            "n_cases": len(paired),
            "n_epochs": max((r["n_epochs"] for _, r in paired), default=0),
            "n_errors": sum(r["n_errors"] for _, r in rows),
            "baseline_pass_rate": fmean(r["baseline_rate"] for _, r in paired) if paired else None,
            "skill_pass_rate": fmean(r["skill_rate"] for _, r in paired) if paired else None,
            "lift": fmean(diffs) if paired else None,
            "ci_low": lo,
            "ci_high": hi,
            "p_value": sign_test_p(diffs),
            "verdict": verdict(lo, hi, len(paired), min_cases),
        }
    return out


def pass_rates(store: Store) -> dict[tuple, dict[str, Any]]:
    split = splits(store)
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for (run_id, model, skill_id, condition, key, case_id), cell in cells(store).items():
        groups[(run_id, model, skill_id, condition, key, split.get(case_id))].append(cell)
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
