"""The catalog's views against an independent Python computation, on real Parquet + DuckDB."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
import storage_reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storage_builders import Store, case_row, gen_row, grade_rows, run_row, synthetic_store

from skillfoundry.storage.catalog import DERIVED_VIEWS, catalog
from skillfoundry.storage.query import export_db
from skillfoundry.storage.records import KernelBenchmarkRecord, RunRecord, TraceRecord
from skillfoundry.storage.schemas import TABLES, table_spec
from skillfoundry.storage.writer import write_rows

N_BOOT = 300


def records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    result = con.execute(sql)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def assert_close(got: dict[str, Any], want: dict[str, Any], rel: float = 1e-9) -> None:
    for key, value in want.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=rel, abs=1e-12), key
        else:
            assert got[key] == value, key


def drop_some_grades(store: Store, every: int) -> None:
    """Leave every n-th generation ungraded (as if grading had not finished)."""
    ungraded = {g.gen_id for i, g in enumerate(store.gens) if i % every == 0}
    store.grades = [g for g in store.grades if g.gen_id not in ungraded]


CONFIGS = st.fixed_dictionaries(
    {
        "n_cases": st.integers(1, 12),
        "epochs": st.integers(1, 3),
        "runs": st.integers(1, 3),
        "skill_effect": st.sampled_from([0.0, 0.3, -0.3]),
        "seed": st.integers(0, 10_000),
        "baseline_every_run": st.booleans(),
        "models": st.sampled_from([("local",), ("local", "anthropic:claude-haiku-4-5")]),
        "train_cases": st.integers(0, 3),
        "error_rate": st.sampled_from([0.0, 0.2]),
    }
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=CONFIGS, ungraded_every=st.sampled_from([0, 7]), duplicate=st.booleans())
def test_views_agree_with_an_independent_python_computation(
    config: dict[str, Any], ungraded_every: int, duplicate: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = synthetic_store(Path(tmp), **config)
        if ungraded_every:
            drop_some_grades(store, ungraded_every)
        store.write()
        if duplicate:  # a retried batch lands twice
            store.append("generations", store.gens[: len(store.gens) // 2])
            store.append("grades", store.grades[: len(store.grades) // 3])
        con = catalog(tmp, min_cases=5, n_boot=N_BOOT, seed=11)
        lift = records(con, "SELECT * FROM skill_lift")
        cases = records(con, "SELECT * FROM case_lift")
        rates = records(con, "SELECT * FROM pass_rates")
        con.close()
    want_lift = ref.skill_lift(store, min_cases=5, n_boot=N_BOOT, seed=11)
    group = ("run_id", "model", "skill_id", "sampling_key", "level")
    assert {tuple(r[k] for k in group) for r in lift} == set(want_lift)
    for row in lift:
        assert row["split"] == "test"
        assert_close(row, want_lift[tuple(row[k] for k in group)])
    want_cases = ref.case_lift(store)
    assert len(cases) == len(want_cases)
    for row in cases:
        assert_close(row, want_cases[tuple(row[k] for k in (*group, "case_id"))])
    want_rates = ref.pass_rates(store)
    assert len(rates) == len(want_rates)
    for row in rates:
        key = ("run_id", "model", "skill_id", "condition", "sampling_key", "level", "split")
        assert_close(row, want_rates[tuple(row[k] for k in key)])


def test_identical_conditions_give_exactly_zero_lift(data_dir: Path) -> None:
    store = synthetic_store(data_dir, n_cases=15, epochs=2, runs=1, seed=4)
    copied = []
    for gen in store.gens:  # the with-skill answers grade exactly like the baseline answers
        if gen.condition == "with_skill":
            twin = gen.gen_id.replace("/skill0/with_skill/", "/None/baseline/")
            copied += [
                g.model_copy(update={"gen_id": gen.gen_id, "grade_id": g.grade_id + "w"})
                for g in store.grades
                if g.gen_id == twin
            ]
    store.grades = [g for g in store.grades if "/baseline/" in g.gen_id] + copied
    store.write()
    (row,) = records(catalog(data_dir, min_cases=1), "SELECT * FROM skill_lift")
    assert row["lift"] == 0.0 and row["ci_low"] == 0.0 and row["ci_high"] == 0.0
    assert row["p_value"] == 1.0 and row["verdict"] == "inconclusive"
    assert row["baseline_pass_rate"] == row["skill_pass_rate"]


def test_a_a_runs_through_the_views_are_almost_always_inconclusive(data_dir: Path) -> None:
    models = tuple(f"vllm:m{i}" for i in range(40))  # independent students: independent comparisons
    synthetic_store(data_dir, n_cases=20, epochs=3, runs=1, seed=77, models=models).write()
    verdicts = [r[0] for r in catalog(data_dir, n_boot=500).execute("SELECT verdict FROM skill_lift").fetchall()]
    assert len(verdicts) == 40
    assert verdicts.count("inconclusive") / 40 >= 0.9


def test_a_real_effect_shows_up_as_helps(data_dir: Path) -> None:
    synthetic_store(data_dir, n_cases=40, epochs=3, runs=1, seed=3, skill_effect=0.35).write()
    (row,) = records(catalog(data_dir), "SELECT * FROM skill_lift")
    assert row["verdict"] == "helps" and row["ci_low"] > 0 and row["p_value"] < 0.01


def test_too_few_cases_is_inconclusive_whatever_the_ci(data_dir: Path) -> None:
    synthetic_store(data_dir, n_cases=8, epochs=3, runs=1, seed=3, skill_effect=0.6).write()
    strict = records(catalog(data_dir, min_cases=10), "SELECT * FROM skill_lift")[0]
    lenient = records(catalog(data_dir, min_cases=1), "SELECT * FROM skill_lift")[0]
    assert strict["verdict"] == "inconclusive"
    assert lenient["verdict"] == "helps"
    assert strict["ci_low"] == lenient["ci_low"]


def test_baselines_pair_with_same_or_earlier_runs_only(data_dir: Path) -> None:
    store = Store(data_dir, runs=[run_row("early", 0), run_row("late", 5)], cases=[case_row("c1")])
    store.gens = [
        gen_row("early", "c1", "with_skill", 0, skill_id="s"),
        gen_row("late", "c1", "baseline", 0),
        gen_row("late", "c1", "with_skill", 0, skill_id="s"),
    ]
    for gen in store.gens:
        store.grades += grade_rows(gen, [True])
    store.write()
    rows = {r["run_id"]: r for r in records(catalog(data_dir, min_cases=1), "SELECT * FROM case_lift")}
    assert rows["early"]["base_n"] == 0 and rows["early"]["diff"] is None
    assert rows["late"]["base_n"] == 1 and rows["late"]["diff"] == 0.0


def test_errors_are_counted_not_failed(data_dir: Path) -> None:
    store = Store(data_dir, runs=[run_row("r", 0)], cases=[case_row("c1")])
    ok_base, ok_skill = gen_row("r", "c1", "baseline", 0), gen_row("r", "c1", "with_skill", 0, skill_id="s")
    store.gens = [
        ok_base,
        ok_skill,
        gen_row("r", "c1", "with_skill", 1, skill_id="s", error_kind="timeout"),
        gen_row("r", "c1", "baseline", 1, error_kind="rate_limit"),
    ]
    store.grades = grade_rows(ok_base, [False]) + grade_rows(ok_skill, [True, True])
    store.write()
    con = catalog(data_dir, min_cases=1)
    (lift,) = records(con, "SELECT * FROM skill_lift")
    assert (lift["skill_pass_rate"], lift["baseline_pass_rate"], lift["n_errors"]) == (1.0, 0.0, 2)
    rates = {r["condition"]: r for r in records(con, "SELECT * FROM pass_rates")}
    assert rates["with_skill"]["n_errors"] == 1 and rates["with_skill"]["n_generations"] == 1
    assert rates["with_skill"]["pass_rate"] == 1.0


def test_a_generation_passes_only_when_every_grade_passes(data_dir: Path) -> None:
    store = Store(data_dir, runs=[run_row("r", 0)], cases=[case_row("c1")])
    gens = [gen_row("r", "c1", "baseline", e) for e in range(3)]
    store.gens = gens
    store.grades = grade_rows(gens[0], [True, True]) + grade_rows(gens[1], [True, False]) + grade_rows(gens[2], [False])
    store.write()
    (row,) = records(catalog(data_dir), "SELECT * FROM pass_rates")
    assert row["pass_rate"] == pytest.approx(1 / 3) and row["n_generations"] == 3


def test_runs_view_keeps_the_latest_status(data_dir: Path) -> None:
    first = run_row("r1", 0, status="running")
    failed = first.model_copy(update={"status": "failed", "finished_at": first.started_at.replace(minute=5)})
    resumed = RunRecord(
        **(first.model_dump() | {"started_at": first.started_at.replace(minute=30), "status": "running"})
    )
    done = resumed.model_copy(update={"status": "completed", "finished_at": first.started_at.replace(hour=2)})
    for row in (first, failed, resumed, done):
        write_rows(data_dir, "runs", [row])
    (run,) = records(catalog(data_dir), "SELECT * FROM runs")
    assert run["status"] == "completed"


def test_empty_store_gives_every_view_with_its_columns(data_dir: Path) -> None:
    con = catalog(data_dir)
    for table in TABLES:
        result = con.execute(f'SELECT * FROM "{table}"')
        assert [d[0] for d in result.description] == table_spec(table).schema.names
        assert result.fetchall() == []
    for view in DERIVED_VIEWS:
        assert con.execute(f"SELECT * FROM {view}").fetchall() == []


def test_cost_view_prices_tokens_and_counts_gpu_seconds(data_dir: Path) -> None:
    store = Store(data_dir, runs=[run_row("r", 0)], cases=[case_row("k1", kind="kernel", problem_id="p1")])
    store.gens = [
        gen_row("r", "k1", "baseline", 0, model="anthropic:claude-haiku-4-5", tokens=(2_000_000, 1_000_000)),
        gen_row("r", "k1", "baseline", 0, model="anthropic:claude-unknown", tokens=(10, 10)),
        gen_row("r", "k1", "baseline", 0, model="vllm:qwen", tokens=(1_000_000, 1_000_000)),
        gen_row("r", "k1", "baseline", 0, model="local", tokens=(5, 5)),
    ]
    store.write()
    write_rows(
        data_dir,
        "traces",
        [
            TraceRecord(
                run_id="r",
                trace_id="t1",
                task_id="p1",
                model="anthropic:claude-opus-4-5",
                messages_json="[]",
                tool_calls=2,
                turns=3,
                input_tokens=1000,
                output_tokens=500,
                cost_usd=0.0175,
                latency_s=3.0,
            )
        ],
    )
    samples = {  # per-trial milliseconds: lists by role (as the GPU runner writes) or one plain list
        store.gens[2].gen_id: {"kernel": [1000.0, 2000.0], "reference": [500.0], "reference_compiled": []},
        store.gens[3].gen_id: [250.0, 250.0],
    }
    write_rows(
        data_dir,
        "kernel_benchmarks",
        [
            KernelBenchmarkRecord(
                run_id="r",
                bench_id=f"b{i}",
                gen_id=gen_id,
                source_sha="s",
                problem_id="p1",
                shape_json="{}",
                gpu_name="H100",
                driver_version="1",
                correct=True,
                time_ms=2.0,
                speedup=1.2,
                trials=3,
                samples_json=json.dumps(trials),
            )
            for i, (gen_id, trials) in enumerate(samples.items())
        ],
    )
    rows = {
        (r["model"], r["role"]): r
        for r in records(catalog(data_dir, prices={"vllm:qwen": (0.5, 1.0)}), "SELECT * FROM cost")
    }
    assert rows[("anthropic:claude-haiku-4-5", "student")]["usd"] == pytest.approx(2 * 1.0 + 1 * 5.0)
    assert rows[("anthropic:claude-unknown", "student")]["usd"] is None
    assert rows[("vllm:qwen", "student")]["usd"] == pytest.approx(0.5 + 1.0)
    assert rows[("vllm:qwen", "student")]["gpu_seconds"] == pytest.approx(3.5)
    assert rows[("local", "student")]["usd"] == 0.0
    assert rows[("local", "student")]["gpu_seconds"] == pytest.approx(0.5)
    teacher = rows[("anthropic:claude-opus-4-5", "teacher")]
    assert (teacher["usd"], teacher["input_tokens"], teacher["output_tokens"]) == (pytest.approx(0.0175), 1000, 500)


def test_kernel_speedups_are_fast_p_over_all_answers(data_dir: Path) -> None:
    store = Store(data_dir, runs=[run_row("r", 0)], cases=[case_row("k1", kind="kernel", problem_id="p1")])
    store.gens = [gen_row("r", "k1", "baseline", e) for e in range(4)] + [
        gen_row("r", "k1", "baseline", 9, error_kind="timeout")
    ]
    store.write()
    bench = [
        (store.gens[0], True, 2.5, False),
        (store.gens[1], True, 1.2, False),
        (store.gens[2], False, 9.0, False),
        (store.gens[3], True, 3.0, True),
    ]  # wrong answer; suspect timing; gens[4] errored: left out
    write_rows(
        data_dir,
        "kernel_benchmarks",
        [
            KernelBenchmarkRecord(
                run_id="r",
                bench_id=f"b{i}",
                gen_id=g.gen_id,
                source_sha=f"s{i}",
                problem_id="p1",
                shape_json="{}",
                gpu_name="H100",
                driver_version="1",
                correct=ok,
                speedup=speed,
                trials=3,
                samples_json="[]",
                suspect=suspect,
            )
            for i, (g, ok, speed, suspect) in enumerate(bench)
        ],
    )
    (row,) = records(catalog(data_dir), "SELECT * FROM kernel_speedups")
    assert (row["problem_id"], row["n_generations"], row["n_benchmarked"], row["n_correct"]) == ("p1", 4, 4, 2)
    assert (row["fast_0"], row["fast_1"], row["fast_1_5"], row["fast_2"]) == (0.5, 0.5, 0.25, 0.25)
    assert row["best_speedup"] == 2.5


def test_exported_database_opens_in_plain_duckdb_and_agrees(data_dir: Path, tmp_path: Path) -> None:
    synthetic_store(data_dir, n_cases=10, epochs=2, runs=2, seed=9, skill_effect=0.2).write()
    path = export_db(data_dir, tmp_path / "store.duckdb", n_boot=N_BOOT, seed=3, min_cases=3)
    plain = duckdb.connect(str(path), read_only=True)  # no Python functions registered here
    sql_rows = records(plain, "SELECT * FROM skill_lift ORDER BY run_id")
    numpy_rows = records(
        catalog(data_dir, n_boot=N_BOOT, seed=3, min_cases=3), "SELECT * FROM skill_lift ORDER BY run_id"
    )
    assert len(sql_rows) == 2
    for got, want in zip(sql_rows, numpy_rows, strict=True):
        assert_close(got, want, rel=1e-12)
    for view in ("pass_rates", "case_lift", "cost", "kernel_speedups", "generations"):
        assert (
            plain.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
            == catalog(data_dir).execute(f"SELECT count(*) FROM {view}").fetchone()[0]
        )
    plain.close()
    synthetic_store(data_dir, n_cases=10, epochs=2, runs=3, seed=9).write()  # later runs show up live
    plain = duckdb.connect(str(path), read_only=True)
    assert plain.execute("SELECT count(DISTINCT run_id) FROM generations").fetchone()[0] == 3


def test_reading_never_writes(data_dir: Path) -> None:
    synthetic_store(data_dir, n_cases=4, runs=2, seed=1).write()
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in data_dir.rglob("*")}
    con = catalog(data_dir)
    for view in (*TABLES, *DERIVED_VIEWS):
        con.execute(f'SELECT * FROM "{view}"').fetchall()
    con.close()
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in data_dir.rglob("*")} == before
