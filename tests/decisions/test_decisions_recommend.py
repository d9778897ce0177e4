"""``skillfoundry recommend`` through the real binary: the pick matches a hand computation in SQL and Python."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from decisions_builders import EPOCHS, add_config, cli, new_store, paired_bootstrap_ci

from skillfoundry.decisions.recommend import pareto_front
from skillfoundry.storage.recommend import ConfigRow
from skillfoundry.storage.stats import DEFAULT_N_BOOT, DEFAULT_SEED

HAIKU, SONNET = "anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-5"
PRICES = {HAIKU: (1.0, 5.0), SONNET: (3.0, 15.0), "local": (0.0, 0.0)}
N_CASES = 12
# (run, model, skill, passes per case out of EPOCHS, tokens in/out per answer)
CONFIGS = [
    ("r1", "local", None, [1] * N_CASES, (100, 40)),
    ("r1", "local", "skill-s1", [3] * N_CASES, (150, 40)),
    ("r1", HAIKU, None, [2] * N_CASES, (1000, 300)),
    ("r1", HAIKU, "skill-s1", [4] * 11 + [3], (1200, 300)),
    ("r2", SONNET, None, [4] * N_CASES, (1000, 300)),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recommend") / "data"
    store = new_store(root, N_CASES, ["r1", "r2"])
    for run, model, skill, passes, tokens in CONFIGS:
        add_config(store, run, model, skill, passes, tokens=tokens)
    store.write()
    return root


def python_pick(target: float, runs: set[str]) -> tuple[str, str | None] | None:
    """The pick computed by hand from the builder's numbers (independent of the catalog)."""
    rows = []
    for run, model, skill, passes, (tin, tout) in CONFIGS:
        if run not in runs:
            continue
        rates = [p / EPOCHS for p in passes]
        lo, _hi = paired_bootstrap_ci(
            [f"case{i}" for i in range(N_CASES)], rates, n_boot=DEFAULT_N_BOOT, seed=DEFAULT_SEED
        )
        solved = sum(passes)
        usd = N_CASES * EPOCHS * (tin * PRICES[model][0] + tout * PRICES[model][1]) / 1e6
        rows.append((lo, usd / solved, N_CASES * EPOCHS * (tin + tout) / solved, model, skill))
    good = [r for r in rows if r[0] >= target]
    return min(good, key=lambda r: (r[1], r[2]))[3:] if good else None


def recommend_json(data: Path, *args: str) -> dict:
    done = cli("recommend", "--data-dir", str(data), "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sql_pick(data: Path, target: float) -> tuple[str, str | None] | None:
    """The pick by a hand-written query through ``skillfoundry query``: pass rates and cost per solved case
    from generations and grades directly, the CI bound from the view."""
    sql = f"""
    WITH answers AS (
        SELECT g.model, g.skill_id, g.case_id, g.input_tokens, g.output_tokens, bool_and(r.passed) AS ok
        FROM generations g JOIN grades r USING (gen_id) GROUP BY ALL),
    per_config AS (
        SELECT model, skill_id, sum(ok::INT) AS solved,
               sum(input_tokens * CASE model WHEN '{HAIKU}' THEN 1.0 WHEN '{SONNET}' THEN 3.0 ELSE 0 END
                   + output_tokens * CASE model WHEN '{HAIKU}' THEN 5.0 WHEN '{SONNET}' THEN 15.0 ELSE 0 END) / 1e6 AS usd,
               sum(input_tokens + output_tokens) AS tokens
        FROM answers GROUP BY ALL)
    SELECT p.model, p.skill_id, p.usd / p.solved AS usd_per_solved, r.pass_rate
    FROM per_config p JOIN recommendations r ON r.model = p.model AND r.skill_id IS NOT DISTINCT FROM p.skill_id
    WHERE r.ci_low >= {target}
    ORDER BY usd_per_solved, p.tokens / p.solved LIMIT 1"""
    done = cli("query", sql, "--data-dir", str(data), "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    return (rows[0]["model"], rows[0]["skill_id"]) if rows else None


@pytest.mark.parametrize("target", [0.8, 0.99])
def test_pick_matches_hand_computations_in_sql_and_python(data: Path, target: float) -> None:
    result = recommend_json(data, "--target-pass-rate", str(target))
    pick = result["pick"]
    assert pick is not None
    expected = python_pick(target, {"r1", "r2"})
    assert (pick["model"], pick["skill_id"]) == expected == sql_pick(data, target)
    assert expected == ((HAIKU, "skill-s1") if target == 0.8 else (SONNET, None))
    assert result["statement"].startswith(f"Deploy {expected[0]}")


def test_view_rows_equal_the_cli_rows_and_hand_numbers(data: Path) -> None:
    result = recommend_json(data)
    done = cli("query", "SELECT * FROM recommendations", "--data-dir", str(data), "--format", "json")
    view = [ConfigRow(**row) for row in json.loads(done.stdout)]
    rows = [ConfigRow(**row) for row in result["rows"]]
    assert rows == view
    by_key = {(r.model, r.skill_id): r for r in rows}
    haiku = by_key[(HAIKU, "skill-s1")]
    assert haiku.pass_rate == pytest.approx((11 + 0.75) / 12)
    assert haiku.n_solved == 47 and haiku.n_answers == 48
    assert haiku.usd_per_solved == pytest.approx(48 * (1200 * 1 + 300 * 5) / 1e6 / 47)
    assert haiku.tokens_per_solved == pytest.approx(48 * 1500 / 47)
    assert by_key[("local", None)].usd_per_solved == 0.0
    front = [(r["model"], r["skill_id"]) for r in result["front"]]
    assert front == [("local", "skill-s1"), (HAIKU, "skill-s1"), (SONNET, None)]
    assert [(r.model, r.skill_id) for r in pareto_front(rows)] == front


def test_no_config_reaches_the_target_names_the_closest(data: Path) -> None:
    result = recommend_json(data, "--target-pass-rate", "0.99", "--runs", "r1")
    assert result["pick"] is None and python_pick(0.99, {"r1"}) is None
    closest = result["closest"]
    assert (closest["model"], closest["skill_id"]) == (HAIKU, "skill-s1")
    assert result["statement"].startswith("No configuration reaches a lower bound of 0.99. Closest: " + HAIKU)
    assert {r["model"] for r in result["rows"]} == {"local", HAIKU}


def test_table_fits_80_columns_and_states_the_pick(data: Path) -> None:
    done = cli("recommend", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    text = " ".join(done.stdout.split())
    assert f"Deploy {HAIKU} with skill skill-s1: pass rate 0.979" in text
    pick_line = next(line for line in done.stdout.splitlines() if line.startswith(">"))
    assert "skill-s1" in pick_line and "0.979" in pick_line


def test_bad_input_is_a_one_line_error(data: Path) -> None:
    for args, needle in ((("--target-pass-rate", "1.5"), "expected a pass rate"), (("--runs", "nope"), "'nope'")):
        done = cli("recommend", "--data-dir", str(data), *args)
        assert done.returncode == 2 and needle in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_recommendation_markdown_artifact_carries_the_statement_and_rows(data: Path) -> None:
    from skillfoundry.decisions.recommend import recommend
    from skillfoundry.decisions.render import recommendation_markdown
    from skillfoundry.storage.decide import config_rows

    rec = recommend(config_rows(data), 0.8)
    text = recommendation_markdown(rec)
    assert rec.statement in text and f"{HAIKU} with skill skill-s1 (pick)" in text
    assert text.count("\n| ") == len(rec.rows) + 1  # header + one row per configuration
    assert "No configuration has graded answers" in recommendation_markdown(recommend([], 0.8))
