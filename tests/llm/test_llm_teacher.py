"""The agent loop's tool-call paths, against a scripted Messages-API server on loopback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scripted_api import Reply, ScriptedServer, message

from skillfoundry.llm.pricing import CLAUDE_PRICES
from skillfoundry.llm.teacher import AgentTrace, Tool, run_agent

ADD_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}


def add_tool(calls: list[dict[str, Any]]) -> Tool:
    def add(args: dict[str, Any]) -> str:
        calls.append(args)
        return str(args["a"] + args["b"])

    return Tool(name="add", description="Add two integers.", input_schema=ADD_SCHEMA, fn=add)


def tool_use(use_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": use_id, "name": name, "input": arguments}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def run(scripted: ScriptedServer, tools: list[Tool], max_turns: int = 5) -> AgentTrace:
    return run_agent(
        scripted.endpoint("anthropic:claude-opus-4-8", "anthropic"),
        system="You add numbers.", prompt="What is 2+3?", tools=tools,
        max_turns=max_turns, max_tokens=256, temperature=0.2, max_retries=2,
    )


def test_tool_call_then_answer_with_retry_and_cost(scripted: ScriptedServer) -> None:
    scripted.add(
        Reply(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
              {"retry-after-ms": "10"}),
        Reply(body=message([text("Let me add."), tool_use("tu_1", "add", {"a": 2, "b": 3})], "tool_use",
                           input_tokens=100, output_tokens=20)),
        Reply(body=message([text("2+3 = 5")], "end_turn", input_tokens=150, output_tokens=10)),
    )
    calls: list[dict[str, Any]] = []
    trace = run(scripted, [add_tool(calls)])

    assert calls == [{"a": 2, "b": 3}]
    assert (trace.turns, trace.tool_calls, trace.stop_reason, trace.final_text) == (2, 1, "end_turn", "2+3 = 5")
    assert (trace.input_tokens, trace.output_tokens) == (250, 30)
    price = CLAUDE_PRICES["claude-opus-4-8"]
    assert trace.cost_usd == pytest.approx((250 * price.input_per_mtok + 30 * price.output_per_mtok) / 1e6)
    assert len(scripted.requests) == 3  # the 529 was retried by the SDK
    first, last = scripted.requests[1].body, scripted.requests[2].body
    assert scripted.requests[2].path == "/v1/messages"
    assert first["tools"] == [{"name": "add", "description": "Add two integers.", "input_schema": ADD_SCHEMA}]
    assert first["system"] == "You add numbers." and first["temperature"] == 0.2
    result = last["messages"][-1]
    assert result == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tu_1", "content": "5", "is_error": False}]}
    assert trace.messages == [*last["messages"], {"role": "assistant", "content": [text("2+3 = 5")]}]
    json.dumps(trace.model_dump())  # the whole trace is JSON-able


def test_failing_unknown_and_invalid_tool_calls_become_error_results(scripted: ScriptedServer) -> None:
    def broken(_args: dict[str, Any]) -> str:
        raise RuntimeError("compiler exploded")

    scripted.add(
        Reply(body=message([
            tool_use("tu_1", "broken", {}),
            tool_use("tu_2", "nope", {}),
            tool_use("tu_3", "add", {"a": "two", "b": 3}),
        ], "tool_use", input_tokens=10, output_tokens=10)),
        Reply(body=message([text("I give up.")], "end_turn", input_tokens=10, output_tokens=3)),
    )
    calls: list[dict[str, Any]] = []
    tools = [add_tool(calls), Tool(name="broken", description="fails", input_schema={"type": "object"}, fn=broken)]
    trace = run(scripted, tools)
    results = scripted.requests[1].body["messages"][-1]["content"]
    assert [(r["tool_use_id"], r["is_error"]) for r in results] == [("tu_1", True), ("tu_2", True), ("tu_3", True)]
    assert results[0]["content"] == "RuntimeError: compiler exploded"
    assert "unknown tool 'nope'" in results[1]["content"]
    assert "invalid input for add" in results[2]["content"]
    assert calls == [] and trace.tool_calls == 3 and trace.stop_reason == "end_turn"


def test_max_turns_stops_cleanly(scripted: ScriptedServer) -> None:
    for i in range(2):
        scripted.add(Reply(body=message([tool_use(f"tu_{i}", "add", {"a": i, "b": 1})], "tool_use",
                                        input_tokens=5, output_tokens=5)))
    calls: list[dict[str, Any]] = []
    trace = run(scripted, [add_tool(calls)], max_turns=2)
    assert (trace.stop_reason, trace.turns, len(scripted.requests)) == ("max_turns", 2, 2)
    assert calls == [{"a": 0, "b": 1}]  # the last turn's call is not run: nobody would read its result
    assert trace.messages[-1]["role"] == "assistant"


def test_tool_serialisation_excludes_the_function() -> None:
    tool = add_tool([])
    assert tool.model_dump() == {"name": "add", "description": "Add two integers.", "input_schema": ADD_SCHEMA}
    assert tool.call({"a": 1, "b": 2}) == ("3", False)
