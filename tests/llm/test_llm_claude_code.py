"""Importing a Claude Code session as a trace: merged messages, usage counted once, CLI and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from skillfoundry.llm.claude_code import SessionFormatError, session_trace
from skillfoundry.llm.pricing import CLAUDE_PRICES

SESSION = Path(__file__).parent / "data" / "claude_code_session.jsonl"


def test_session_becomes_a_trace_extraction_can_read() -> None:
    trace = session_trace(SESSION, run_id="r1")
    messages = json.loads(trace.messages_json)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [b["type"] for b in messages[1]["content"]] == ["thinking", "tool_use"]  # one response, two lines
    assert messages[0]["content"] == [{"type": "text", "text": "Write a CUDA ReLU kernel and test it."}]
    assert "sub-agent chatter" not in trace.messages_json
    assert (trace.turns, trace.tool_calls, trace.model, trace.task_id) == (2, 1, "anthropic:claude-opus-4-5", "claude-code:s-123")
    assert (trace.input_tokens, trace.output_tokens) == (10 + 2000 + 20 + 2000, 60 + 15)  # msg_1 counted once
    price = CLAUDE_PRICES["claude-opus-4-5"]
    billed = 30 * price.input_per_mtok + 1.25 * 2000 * price.input_per_mtok + 0.1 * 2000 * price.input_per_mtok
    assert trace.cost_usd == pytest.approx((billed + 75 * price.output_per_mtok) / 1e6)
    assert trace.latency_s == 10.0 and trace.final_text == "Done: relu.cu uses a grid-stride loop."
    assert session_trace(SESSION, run_id="r1").trace_id == trace.trace_id


@pytest.mark.parametrize(
    ("text", "where"),
    [("not json\n", ":1:"), ('{"type":"user","message":{"role":"user","content":5}}\n', ":1:"),
     ('{"type":"summary","summary":"x"}\n', "no user or assistant messages")],
)
def test_bad_session_lines_are_one_line_errors(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(text)
    with pytest.raises(SessionFormatError, match=where) as err:
        session_trace(path, run_id="r")
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_cli_stores_the_trace(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "skillfoundry", "trace", "import", str(SESSION), "--run-id", "imp",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    assert "2 model turns, 1 tool calls" in out.stdout
    rows = duckdb.sql(f"select run_id, task_id from read_parquet('{tmp_path}/traces/**/*.parquet')").fetchall()
    assert rows == [("imp", "claude-code:s-123")]
    bad = subprocess.run([sys.executable, "-m", "skillfoundry", "trace", "import", str(tmp_path / "missing.jsonl")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "missing.jsonl" in bad.stderr and "Traceback" not in bad.stderr
