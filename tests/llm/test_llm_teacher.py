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


def run(scripted: ScriptedServer, tools: list[Tool], max_turns: int = 5,
        turns: list[tuple[int, float]] | None = None) -> AgentTrace:
    return run_agent(
        scripted.endpoint("anthropic:claude-opus-4-8", "anthropic"),
        system="You add numbers.", prompt="What is 2+3?", tools=tools,
        max_turns=max_turns, max_tokens=256, temperature=0.2, max_retries=2,
        on_turn=None if turns is None else lambda tokens, usd: turns.append((tokens, usd)),
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
    turns: list[tuple[int, float]] = []
    trace = run(scripted, [add_tool(calls)], turns=turns)

    assert calls == [{"a": 2, "b": 3}]
    assert [tokens for tokens, _ in turns] == [20, 10]  # each turn reported as it ended
    assert sum(usd for _, usd in turns) == pytest.approx(trace.cost_usd)
    assert (trace.turns, trace.tool_calls, trace.stop_reason, trace.final_text) == (2, 1, "end_turn", "2+3 = 5")
    assert (trace.input_tokens, trace.output_tokens) == (250, 30)
    price = CLAUDE_PRICES["claude-opus-4-8"]
    assert trace.cost_usd == pytest.approx((250 * price.input_per_mtok + 30 * price.output_per_mtok) / 1e6)
    assert len(scripted.requests) == 3  # the 529 was retried by the SDK
    first, last = scripted.requests[1].body, scripted.requests[2].body
    assert scripted.requests[2].path == "/v1/messages"
    assert first["tools"] == [{"name": "add", "description": "Add two integers.", "input_schema": ADD_SCHEMA}]
    # prompt caching: a breakpoint on the system prompt (tools + system) and on the newest message
    assert first["system"] == [{"type": "text", "text": "You add numbers.", "cache_control": {"type": "ephemeral"}}]
    assert first["temperature"] == 0.2 and "thinking" not in first
    result = last["messages"][-1]
    assert result == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tu_1", "content": "5", "is_error": False,
         "cache_control": {"type": "ephemeral"}}]}
    assert [b.get("cache_control") for m in last["messages"][:-1] for b in m["content"]] == [None] * 3
    sent = [*last["messages"][:-1], {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tu_1", "content": "5", "is_error": False}]}]
    assert trace.messages == [*sent, {"role": "assistant", "content": [text("2+3 = 5")]}]  # no breakpoints kept
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


def test_extended_thinking_is_sent_and_recorded_and_cache_tokens_priced(scripted: ScriptedServer) -> None:
    thinking = {"type": "thinking", "thinking": "2 and 3 make 5.", "signature": "sig"}
    reply = message([thinking, text("5")], "end_turn", input_tokens=10, output_tokens=40)
    reply["usage"].update(cache_creation_input_tokens=1000, cache_read_input_tokens=3000)
    scripted.add(Reply(body=reply))
    trace = run_agent(scripted.endpoint("anthropic:claude-opus-4-8", "anthropic"), system="S", prompt="2+3?",
                      tools=[], max_turns=2, max_tokens=256, temperature=0.2, thinking_tokens=1024)
    body = scripted.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024} and body["max_tokens"] == 256 + 1024
    assert "temperature" not in body  # thinking requires the default temperature
    assert trace.messages[-1]["content"][0] == thinking and trace.final_text == "5"
    price = CLAUDE_PRICES["claude-opus-4-8"]
    billed = 10 + 1.25 * 1000 + 0.1 * 3000
    assert trace.input_tokens == 4010
    assert trace.cost_usd == pytest.approx((billed * price.input_per_mtok + 40 * price.output_per_mtok) / 1e6)


def test_no_thinking_or_cache_fields_for_models_without_them(scripted: ScriptedServer) -> None:
    scripted.add(Reply(body=message([text("5")], "end_turn", input_tokens=1, output_tokens=1)),
                 Reply(body=message([text("5")], "end_turn", input_tokens=1, output_tokens=1)))
    run_agent(scripted.endpoint("anthropic:claude-3-5-haiku", "anthropic"), system="S", prompt="2+3?", tools=[],
              max_turns=1, max_tokens=64, thinking_tokens=1024)
    assert "thinking" not in scripted.requests[0].body and scripted.requests[0].body["max_tokens"] == 64
    run_agent(scripted.endpoint("openai:m@http://127.0.0.1:1/v1", "anthropic"), system="S", prompt="2+3?", tools=[],
              max_turns=1, max_tokens=64)
    assert scripted.requests[1].body["system"] == "S"  # a local /v1/messages server gets plain fields
