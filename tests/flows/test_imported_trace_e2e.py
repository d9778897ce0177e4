"""`run --trace-id`: a skill distilled from work done elsewhere (an imported Claude Code session), not from a
new teacher trace; the lineage starts at the imported trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.records import TraceRecord
from skillfoundry.storage.resume import stored_traces, teacher_usd
from skillfoundry.storage.writer import write_rows

SESSION = Path(__file__).resolve().parents[1] / "llm" / "data" / "claude_code_session.jsonl"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "skillfoundry", *args], capture_output=True, text=True, env=env,
                          timeout=900)


def trace(run_id: str, trace_id: str, usd: float) -> TraceRecord:
    return TraceRecord(run_id=run_id, trace_id=trace_id, task_id="t", model="local", messages_json="[]", tool_calls=0,
                       turns=1, input_tokens=1, output_tokens=1, cost_usd=usd, latency_s=0.1, stop_reason="end_turn",
                       final_text="")


def test_stored_traces_come_back_in_order_and_a_missing_one_is_named(tmp_path: Path) -> None:
    write_rows(tmp_path, "traces", [trace("a", "t1", 0.25), trace("a", "t2", 0.5), trace("b", "t3", 2.0)])
    assert [t.trace_id for t in stored_traces(tmp_path, ["t3", "t1"])] == ["t3", "t1"]
    with pytest.raises(ValueError, match=r"^trace t9 is not stored in .*trace import"):
        stored_traces(tmp_path, ["t1", "t9"])
    assert teacher_usd(tmp_path, "a") == 0.75 and teacher_usd(tmp_path, "c") == 0.0


@pytest.mark.server
def test_run_extracts_the_skill_from_an_imported_session(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "200", "SKILLFOUNDRY_MAX_TOKENS": "48",
           "SKILLFOUNDRY_SKILL_MAX_TOKENS": "768"}
    env.pop("ANTHROPIC_API_KEY", None)
    imported = cli("trace", "import", str(SESSION), "--run-id", "imp", "--data-dir", str(data), env=env)
    assert imported.returncode == 0, imported.stderr
    trace_id = imported.stdout.split()[1]  # "trace ID (run imp): ..."

    missing = cli("run", "--trace-id", "0000000000000000", "--data-dir", str(data), env=env)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1, missing.stderr
    assert "trace 0000000000000000 is not stored" in missing.stderr

    done = cli("run", "--trace-id", trace_id, "--cases", "1", "--epochs", "1", "--data-dir", str(data),
               "--run-id", "from-session", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    con = catalog(data)
    task_ids = {r[0] for r in con.execute("select task_id from traces where run_id = 'from-session'").fetchall()}
    assert task_ids == {"extract-skill"}  # no new teacher trace: only the extraction call itself
    (skill_id,) = con.execute("select skill_id from skills where run_id = 'from-session'").fetchone()
    edges = con.execute(
        "select src_id from lineage where run_id = 'from-session' and src_kind = 'trace' and dst_id = ?", [skill_id]
    ).fetchall()
    assert (trace_id,) in edges
