"""``skillfoundry export inspect``: a stored run read back with inspect_ai's own reader matches the Parquet rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("inspect_ai")  # the optional extra `inspect` (in dev, so CI runs these)
from inspect_ai.log import read_eval_log  # noqa: E402

from skillfoundry.storage import records  # noqa: E402
from skillfoundry.storage.records import GenerationRecord, GradeRecord, RunRecord  # noqa: E402
from skillfoundry.storage.writer import write_rows  # noqa: E402

RUN = "run-x1"
MODELS = ("local", "openai:qwen-small")
CASES = ("case-a", "case-b", "case-c")
EPOCHS = 2


def gen(model: str, case: str, condition: str, epoch: int, *, error_kind: str | None = None) -> GenerationRecord:
    skill = "skill-1" if condition == "with_skill" else None
    return GenerationRecord(
        run_id=RUN,
        gen_id=f"{model}/{case}/{condition}/{epoch}",
        case_id=case,
        skill_id=skill,
        condition=condition,
        model=model,
        epoch=epoch,
        seed=epoch,
        sampling_key="k1",
        text=f"answer of {model} to {case} ({condition}, {epoch})",
        input_tokens=100 + len(case) + epoch,
        output_tokens=30 + 7 * epoch + len(model),
        latency_s=0.25,
        error="read timed out" if error_kind else None,
        error_kind=error_kind,
    )


def grades(g: GenerationRecord, passed: list[bool], infra: bool = False) -> list[GradeRecord]:
    return [
        GradeRecord(
            run_id=RUN,
            grade_id=f"{g.gen_id}#{i}",
            gen_id=g.gen_id,
            grader=f"check{i}",
            passed=p,
            score=float(p),
            detail_json=json.dumps({"reason": f"check {i} {'ok' if p else 'failed'}"}),
            infra_error=infra and i == 1,
            level="deterministic" if i == 0 else "sandboxed",
        )
        for i, p in enumerate(passed)
    ]


@pytest.fixture
def stored_run(tmp_path: Path) -> Path:
    """Two students x two conditions x 3 cases x 2 epochs, one errored answer, one infra-errored grade, one
    generation written twice (a retried batch)."""
    data = tmp_path / "data"
    runs = [
        RunRecord(
            run_id=RUN,
            flow="distill",
            started_at=datetime(2026, 1, 2, tzinfo=UTC),
            status="completed",
            config_json='{"epochs": 2}',
        )
    ]
    cases = [
        records.TestCaseRecord(
            run_id=RUN, case_id=c, skill_name="demo", split="test", prompt=f"Solve {c}.", checks_json="[]", kind="text"
        )
        for c in CASES
    ]
    gens, grade_rows = [], []
    for m, model in enumerate(MODELS):
        for condition in ("baseline", "with_skill"):
            for c, case in enumerate(CASES):
                for epoch in range(EPOCHS):
                    errored = model == "local" and condition == "baseline" and case == "case-b" and epoch == 1
                    g = gen(model, case, condition, epoch, error_kind="timeout" if errored else None)
                    gens.append(g)
                    if not errored:
                        passed = [(m + c + epoch + (condition == "with_skill")) % 2 == 0, c != 2]
                        infra = model == "openai:qwen-small" and case == "case-c" and epoch == 0
                        grade_rows.extend(grades(g, passed, infra))
    write_rows(data, "runs", runs)
    write_rows(data, "test_cases", cases)
    write_rows(data, "generations", gens)
    write_rows(data, "generations", gens[:1])  # the same id again: one answer, not two
    write_rows(data, "grades", grade_rows)
    return data


def export(data: Path, out: Path, run_id: str = RUN) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "skillfoundry",
        "export",
        "inspect",
        run_id,
        "--out",
        str(out),
        "--data-dir",
        str(data),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=os.environ.copy())


def parquet_rows(data: Path, table: str) -> list[dict]:
    rows = [r for f in sorted((data / table).rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    key = {"generations": "gen_id", "grades": "grade_id"}[table]
    return list({r[key]: r for r in rows}.values())


def test_export_reads_back_with_inspect_and_matches_parquet(stored_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "logs"
    done = export(stored_run, out)
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.eval"))
    assert len(files) == len(MODELS) * 2  # one per student x condition
    assert sorted(done.stdout.split()) == sorted(str(f) for f in files)

    gens = parquet_rows(stored_run, "generations")
    grades_by_gen: dict[str, list[dict]] = defaultdict(list)
    for r in parquet_rows(stored_run, "grades"):
        grades_by_gen[r["gen_id"]].append(r)
    expected: dict[tuple[str, str], dict[tuple[str, int], dict]] = defaultdict(dict)
    for g in gens:
        expected[(g["model"], g["condition"])][(g["case_id"], g["epoch"] + 1)] = g

    seen = set()
    for path in files:
        log = read_eval_log(str(path))
        assert log.status == "success"
        key = (log.eval.model, log.eval.metadata["condition"])
        seen.add(key)
        want = expected[key]
        assert log.eval.config.epochs == EPOCHS
        assert log.eval.dataset.samples == len(CASES)
        assert len(log.samples) == len(want) == len(CASES) * EPOCHS
        total_in = total_out = 0
        for s in log.samples:
            g = want[(s.id, s.epoch)]
            assert s.input == f"Solve {g['case_id']}."
            assert s.output.completion == g["text"]
            assert s.output.model == g["model"]
            usage = s.model_usage[g["model"]]
            assert (usage.input_tokens, usage.output_tokens) == (g["input_tokens"], g["output_tokens"])
            total_in, total_out = total_in + g["input_tokens"], total_out + g["output_tokens"]
            stored = grades_by_gen[g["gen_id"]]
            if g["error_kind"]:
                assert s.error is not None and s.error.message.startswith("timeout")
                assert not s.scores
                continue
            assert s.error is None
            for r in stored:
                score = s.scores[r["grader"]]
                assert score.value == r["score"]
                assert score.metadata["passed"] == r["passed"] and score.metadata["level"] == r["level"]
            infra = any(r["infra_error"] for r in stored)
            assert ("all_checks" in s.scores) == (not infra)
            if not infra:
                assert s.scores["all_checks"].value == float(all(r["passed"] for r in stored))
        stats = log.stats.model_usage[log.eval.model]
        assert (stats.input_tokens, stats.output_tokens) == (total_in, total_out)
        means = {sc.name: sc.metrics["mean"].value for sc in log.results.scores}
        check0 = [r["score"] for g in want.values() for r in grades_by_gen[g["gen_id"]] if r["grader"] == "check0"]
        assert means["check0"] == pytest.approx(sum(check0) / len(check0))
    assert seen == set(expected)


def test_export_of_an_unknown_run_is_a_one_line_error(stored_run: Path, tmp_path: Path) -> None:
    done = export(stored_run, tmp_path / "logs", run_id="no-such-run")
    assert done.returncode == 2
    assert "no-such-run" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "logs").glob("*.eval"))
