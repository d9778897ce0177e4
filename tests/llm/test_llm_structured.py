"""Structured output over a forced tool call (scripted Messages API) and the schema transformation."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field
from scripted_api import Reply, ScriptedServer, chat_completion, message

from skillfoundry.llm.structured import (
    RESAMPLE_TEMPERATURE,
    StructuredOutputError,
    generate_structured,
    strict_json_schema,
)


class Inner(BaseModel):
    label: str = Field(max_length=10)


class Verdict(BaseModel):
    ok: bool
    reasons: list[str] = Field(default_factory=list, max_length=2)
    inner: Inner | None = None


def tool_use(arguments: dict) -> dict:
    return {"type": "tool_use", "id": "tu_1", "name": "Verdict", "input": arguments}


def test_strict_schema_closes_every_object() -> None:
    schema = strict_json_schema(Verdict)
    assert schema["additionalProperties"] is False and schema["required"] == ["ok", "reasons", "inner"]
    assert schema["$defs"]["Inner"]["additionalProperties"] is False
    assert schema["properties"]["reasons"]["maxItems"] == 2


def test_anthropic_forced_tool_reasks_once_with_errors(scripted: ScriptedServer) -> None:
    scripted.add(
        Reply(body=message([tool_use({"ok": "maybe"})], "tool_use", input_tokens=50, output_tokens=5)),
        Reply(body=message([tool_use({"ok": True, "reasons": ["fine"]})], "tool_use", input_tokens=80, output_tokens=6)),
    )
    result = generate_structured(scripted.endpoint("anthropic:claude-haiku-4-5", "anthropic"), system="Judge.",
                                 prompt="Is it ok?", schema=Verdict, max_tokens=100)
    assert result.obj == Verdict(ok=True, reasons=["fine"]) and result.attempts == 2
    assert (result.input_tokens, result.output_tokens) == (130, 11) and result.cost_usd > 0
    first = scripted.requests[0].body
    assert first["tool_choice"] == {"type": "tool", "name": "Verdict"}
    assert first["tools"][0]["input_schema"] == strict_json_schema(Verdict)
    feedback = scripted.requests[1].body["messages"][-1]["content"][0]
    assert feedback["type"] == "tool_result" and feedback["is_error"] is True and "ok:" in feedback["content"]


def test_openai_invalid_twice_raises_one_line(scripted: ScriptedServer) -> None:
    scripted.add(*(Reply(body=chat_completion('{"ok": "maybe"', prompt_tokens=5, completion_tokens=5)) for _ in range(2)))
    with pytest.raises(StructuredOutputError) as err:
        generate_structured(scripted.endpoint("vllm:m", "openai"), system="Judge.", prompt="Is it ok?",
                            schema=Verdict, max_tokens=100)
    assert "vllm:m" in str(err.value) and "Verdict" in str(err.value) and "\n" not in str(err.value)
    assert err.value.usage == (10, 10, 0.0)  # both calls are counted although neither gave an object
    fmt = scripted.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert "did not match the Verdict schema" in scripted.requests[1].body["messages"][-1]["content"]


def test_a_reply_cut_off_at_max_tokens_is_asked_afresh_and_sampled(scripted: ScriptedServer) -> None:
    cut = chat_completion('{"ok": true, "reasons": ["fine fine fine fine', prompt_tokens=5, completion_tokens=100)
    cut["choices"][0]["finish_reason"] = "length"
    scripted.add(Reply(body=cut), Reply(body=chat_completion('{"ok": true, "reasons": ["fine"]}', prompt_tokens=5,
                                                             completion_tokens=9)))
    result = generate_structured(scripted.endpoint("vllm:m", "openai"), system="Judge.", prompt="Is it ok?",
                                 schema=Verdict, max_tokens=100)
    assert result.obj == Verdict(ok=True, reasons=["fine"]) and result.attempts == 2
    first, second = (r.body for r in scripted.requests)
    assert second["messages"] == first["messages"]  # not shown its broken reply: the same question again
    assert (first["temperature"], second["temperature"]) == (0.0, RESAMPLE_TEMPERATURE)
    assert (result.input_tokens, result.output_tokens) == (10, 109)  # both calls are counted
