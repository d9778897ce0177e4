"""A run id names one experiment: resuming it with another configuration is a one-line error (issue 10, item 6)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillfoundry.config import Settings
from skillfoundry.flows.distill import RUNTIME_SETTINGS, RunConfigError, check_same_experiment, resumable
from skillfoundry.storage.records import RunRecord
from skillfoundry.storage.resume import StoredRun, load_run
from skillfoundry.storage.writer import write_rows

CHANGES = {
    "epochs": 5, "cases": 4, "seed": 3, "temperature": 0.1, "max_tokens": 77, "students": ["local", "vllm:x/y"],
    "teacher": "anthropic:claude-x", "judge": "local", "refine_rounds": 2, "train_cases": 2,
    "teacher_thinking_tokens": 2048,
}


def stored_as(settings: Settings, flow: str = "distill") -> StoredRun:
    return StoredRun(flow=flow, config=json.loads(settings.model_dump_json()))


def test_a_new_run_id_and_the_same_settings_resume() -> None:
    settings = Settings(data_dir=Path("/nonexistent"))
    check_same_experiment(StoredRun(), settings, "r", "distill")
    check_same_experiment(stored_as(settings), settings, "r", "distill")


@given(changed=st.dictionaries(st.sampled_from(sorted(CHANGES)), st.just(None), min_size=1))
def test_every_changed_setting_is_named(changed: dict[str, None]) -> None:
    before = Settings(data_dir=Path("/d"), teacher="local", students=["local"])
    after = before.model_copy(update={k: CHANGES[k] for k in changed})
    with pytest.raises(RunConfigError) as err:
        check_same_experiment(stored_as(before), after, "r7", "distill")
    message = str(err.value)
    assert "\n" not in message and message.startswith("run r7 was started with other settings")
    named = re.findall(r"(?:\(|, )(\w+) .*? -> ", message)
    assert sorted(named) == sorted(changed)


def test_how_a_run_runs_may_change_on_resume() -> None:
    before = Settings(data_dir=Path("/d"), concurrency=8, llama_threads=2, request_timeout_s=60)
    after = before.model_copy(update={"concurrency": 1, "llama_threads": 16, "request_timeout_s": 600, "cache_dir": Path("/c")})
    check_same_experiment(stored_as(before), after, "r", "distill")
    assert {"concurrency", "llama_threads", "request_timeout_s", "cache_dir", "data_dir"} <= RUNTIME_SETTINGS


def test_a_setting_added_since_the_run_was_stored_counts_as_its_default() -> None:
    settings = Settings(data_dir=Path("/d"))
    older = stored_as(settings)
    del older.config["teacher_thinking_tokens"], older.config["trace_ids"]  # stored by a version without them
    check_same_experiment(older, settings, "r", "distill")
    with pytest.raises(RunConfigError, match=r"teacher_thinking_tokens 0 -> 1024"):
        check_same_experiment(older, settings.model_copy(update={"teacher_thinking_tokens": 1024}), "r", "distill")


def test_another_flow_under_the_same_run_id_is_refused() -> None:
    settings = Settings(data_dir=Path("/d"))
    with pytest.raises(RunConfigError, match="run r is a evaluate-skill run, not distill"):
        check_same_experiment(stored_as(settings, "evaluate-skill"), settings, "r", "distill")


def store_run(data: Path, settings: Settings, run_id: str) -> None:
    now = datetime.now(UTC)
    write_rows(
        data,
        "runs",
        [RunRecord(run_id=run_id, flow="distill", started_at=now, status="running", config_json=settings.model_dump_json())],
    )


def test_the_stored_configuration_is_read_back(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, epochs=3)
    store_run(tmp_path, settings, "r1")
    stored = load_run(tmp_path, "r1")
    assert stored.flow == "distill" and stored.config["epochs"] == 3
    assert (stored.traces, stored.skills, stored.cases) == ([], [], [])
    assert load_run(tmp_path, "other") == StoredRun()
    assert resumable(settings, "r1", "distill") == stored


def test_cli_refuses_a_changed_resume_in_one_line_with_exit_2_and_records_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("ANTHROPIC_API_KEY", None)
    store_run(data, Settings(data_dir=data, teacher="local", epochs=2, cases=3), "e1")
    files = sorted(p.name for p in data.rglob("*.parquet"))
    done = subprocess.run(
        [sys.executable, "-m", "skillfoundry", "run", "--data-dir", str(data), "--run-id", "e1", "--epochs", "3",
         "--cases", "2"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == ["error: run e1 was started with other settings (cases 3 -> 2, epochs 2 -> 3); resume it with "
                     "the same ones or use a new --run-id"]
    assert sorted(p.name for p in data.rglob("*.parquet")) == files
