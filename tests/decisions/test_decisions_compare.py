"""``skillfoundry compare`` through the real binary on two stored runs with a known difference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from decisions_builders import EPOCHS, add_config, cli, new_store, paired_bootstrap_ci, sign_test_p, skill_row

from skillfoundry.storage.stats import DEFAULT_N_BOOT, DEFAULT_SEED
from skillfoundry.storage.writer import write_rows

HAIKU = "anthropic:claude-haiku-4-5"
A_PASSES = [1] * 6 + [2] * 6  # local with skill A: 0.25 on cases 0-5, 0.5 on 6-11
B_PASSES = [4] * 10 + [2] * 2  # local with skill B: 1.0 on cases 0-9, 0.5 on 10-11


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare") / "data"
    store = new_store(root, 12, ["ra", "rb"])
    add_config(store, "ra", "local", None, [1] * 12)
    add_config(store, "ra", "local", "skill-aaaa", A_PASSES)
    add_config(store, "rb", "local", "skill-bbbb", B_PASSES)
    add_config(store, "ra", HAIKU, "skill-aaaa", [2] * 12, tokens=(1000, 500))
    add_config(store, "rb", HAIKU, "skill-bbbb", [2] * 12, tokens=(2000, 500))
    # an older skill version in run ra that the comparison must not pick (round 0 < round 1)
    add_config(store, "ra", "local", "skill-old0", [0] * 12)
    store.write()
    write_rows(root, "skills", [skill_row("ra", "skill-old0", 0), skill_row("ra", "skill-aaaa", 1)])
    write_rows(root, "skills", [skill_row("rb", "skill-bbbb", 1)])
    return root


def hand_diffs() -> tuple[list[str], list[float]]:
    cases = [f"case{i}" for i in range(12)]
    return cases, [(b - a) / EPOCHS for a, b in zip(A_PASSES, B_PASSES, strict=True)]


def compare_json(data: Path, a: str, b: str) -> dict:
    done = cli("compare", a, b, "--data-dir", str(data), "--json")
    assert done.returncode == 0, done.stderr
    return {m["model"]: m for m in json.loads(done.stdout)["models"]}


def test_compare_two_runs_finds_the_known_difference(data: Path) -> None:
    models = compare_json(data, "ra", "rb")
    local = models["local"]
    cases, diffs = hand_diffs()
    assert local["a"]["skill_id"] == "skill-aaaa" and local["b"]["skill_id"] == "skill-bbbb"
    assert local["n_common"] == 12
    assert local["diff"] == pytest.approx(sum(diffs) / 12) == pytest.approx(6.5 / 12)
    lo, hi = paired_bootstrap_ci(cases, diffs, n_boot=DEFAULT_N_BOOT, seed=DEFAULT_SEED)
    assert (local["ci_low"], local["ci_high"]) == pytest.approx((lo, hi))
    assert local["p_value"] == pytest.approx(sign_test_p(diffs))
    assert local["verdict"] == "better"
    assert [f["problem_id"] for f in local["flips"]] == [f"p{i}" for i in range(6)]
    assert local["a"]["pass_rate"] == pytest.approx(0.375) and local["b"]["pass_rate"] == pytest.approx(11 / 12)
    assert local["a"]["lift"]["lift"] == pytest.approx(0.375 - 0.25)
    haiku = models[HAIKU]
    assert haiku["diff"] == 0 and haiku["verdict"] == "inconclusive" and haiku["flips"] == []
    # cost: 48 answers per side; haiku at $1/$5 per Mtok: A 48 * (1000 + 2500) / 1e6, B 48 * (2000 + 2500) / 1e6
    assert haiku["a"]["usd"] == pytest.approx(48 * 3500 / 1e6) and haiku["b"]["usd"] == pytest.approx(48 * 4500 / 1e6)
    assert haiku["a"]["usd_per_solved"] == pytest.approx(48 * 3500 / 1e6 / 24)
    assert haiku["b"]["tokens_per_solved"] == pytest.approx(48 * 2500 / 24)


def test_compare_is_antisymmetric_and_works_on_skill_versions(data: Path) -> None:
    reverse = compare_json(data, "rb", "ra")["local"]
    assert reverse["diff"] == pytest.approx(-6.5 / 12) and reverse["verdict"] == "worse"
    skills = compare_json(data, "skill-aa", "skill-bb")["local"]
    assert skills["diff"] == pytest.approx(6.5 / 12) and skills["verdict"] == "better"
    assert compare_json(data, "skill-old", "skill-aa")["local"]["diff"] == pytest.approx(0.375)


def test_compare_table_fits_80_columns_and_shows_the_numbers(data: Path) -> None:
    done = cli("compare", "ra", "rb", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    cases, diffs = hand_diffs()
    lo, hi = paired_bootstrap_ci(cases, diffs, n_boot=DEFAULT_N_BOOT, seed=DEFAULT_SEED)
    line = next(line for line in done.stdout.splitlines() if line.startswith("local") and "better" in line)
    assert f"+{6.5 / 12:.3f}" in line and f"[{lo:+.3f},{hi:+.3f}]" in line


def test_compare_unknown_side_is_a_one_line_error(data: Path) -> None:
    done = cli("compare", "ra", "nothing-here", "--data-dir", str(data))
    assert done.returncode == 2
    assert "'nothing-here': neither a run id nor a skill id" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    ambiguous = cli("compare", "ra", "skill-", "--data-dir", str(data))
    assert ambiguous.returncode == 2 and "ambiguous" in ambiguous.stderr
