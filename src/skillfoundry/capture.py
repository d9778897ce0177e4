"""Trace capture: run the teacher's agent loop on one problem and turn it into a trace row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from skillfoundry.domain import cuda
from skillfoundry.ids import canonical_json, content_id
from skillfoundry.llm.spec import Endpoint
from skillfoundry.llm.teacher import AgentTrace, run_agent
from skillfoundry.storage.records import TraceRecord


def capture_trace(
    endpoint: Endpoint,
    problem: cuda.SuiteProblem,
    *,
    run_id: str,
    max_turns: int,
    max_tokens: int,
    cache_dir: Path | None,
    thinking_tokens: int = 0,
    on_turn: Callable[[int, float], None] | None = None,
) -> tuple[TraceRecord, AgentTrace]:
    """The teacher solves ``problem`` with real tools; every message, call, token and dollar is kept
    (``thinking_tokens``, ``on_turn``: see ``run_agent``)."""
    prompt = cuda.teacher_prompt(problem)
    trace = run_agent(
        endpoint,
        system=cuda.TEACHER_SYSTEM,
        prompt=prompt,
        tools=cuda.teacher_tools(problem, cache_dir),
        max_turns=max_turns,
        max_tokens=max_tokens,
        thinking_tokens=thinking_tokens,
        on_turn=on_turn,
    )
    messages_json = canonical_json(trace.messages)
    record = TraceRecord(
        run_id=run_id,
        trace_id=content_id(run_id, problem.id, str(endpoint.spec), messages_json),
        task_id=problem.id,
        model=str(endpoint.spec),
        messages_json=messages_json,
        tool_calls=trace.tool_calls,
        turns=trace.turns,
        input_tokens=trace.input_tokens,
        output_tokens=trace.output_tokens,
        cost_usd=trace.cost_usd,
        latency_s=trace.latency_s,
        stop_reason=trace.stop_reason,
        final_text=trace.final_text,
    )
    return record, trace
