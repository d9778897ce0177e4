"""The teacher's agent loop over the Anthropic Messages API (Claude, or the local llama-server's /v1/messages).

Every request and response content block is kept in the trace; tool calls run real Python functions,
and a failing tool becomes an ``is_error`` tool result the model can react to, never a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from skillfoundry.llm.clients import anthropic_client, anthropic_sampling, anthropic_usage
from skillfoundry.llm.pricing import Price, cost_usd
from skillfoundry.llm.spec import Endpoint

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_RETRIES = 4
CACHE = {"type": "ephemeral"}
# Claude models without extended thinking (older families); every other Claude model supports it.
_NO_THINKING = ("claude-3-5-", "claude-3-haiku", "claude-3-opus", "claude-3-sonnet", "claude-2", "claude-instant")


def supports_thinking(endpoint: Endpoint) -> bool:
    """Whether the endpoint's model accepts extended thinking (Claude 3.7 and later, on the Anthropic API)."""
    return endpoint.spec.provider == "anthropic" and not endpoint.model.startswith(_NO_THINKING)


def cached_request(
    endpoint: Endpoint, system: str, tools: list[dict[str, Any]], messages: list[dict[str, Any]]
) -> dict[str, Any]:
    """System, tools and messages as sent: on the Anthropic API with prompt-cache breakpoints on the system
    prompt (caching tools and system) and on the newest message (caching the conversation so far), so
    every turn pays full price only for what is new. The trace keeps the messages without them."""
    if endpoint.spec.provider != "anthropic":
        return {"system": system, "messages": messages, **({"tools": tools} if tools else {})}
    *earlier, last = messages
    blocks = [dict(block) for block in last["content"]]
    blocks[-1]["cache_control"] = CACHE
    return {
        "system": [{"type": "text", "text": system, "cache_control": CACHE}],
        "messages": [*earlier, {**last, "content": blocks}],
        **({"tools": tools} if tools else {}),
    }


class Tool(BaseModel):
    """A tool the teacher may call: its Messages-API definition plus the Python function behind it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str
    input_schema: dict[str, Any]
    fn: Callable[[dict[str, Any]], str] = Field(exclude=True)

    def definition(self) -> dict[str, Any]:
        """The tool as the Messages API expects it."""
        return self.model_dump()

    def call(self, arguments: Any) -> tuple[str, bool]:
        """Run the tool on ``arguments``: (text, is_error). Schema violations and exceptions are errors."""
        try:
            jsonschema.validate(arguments, self.input_schema)
        except jsonschema.ValidationError as err:
            return f"invalid input for {self.name}: {err.message}", True
        try:
            return str(self.fn(arguments)), False
        except Exception as err:  # a tool failure is information for the model, not a crash
            return f"{type(err).__name__}: {err}", True


class AgentTrace(BaseModel):
    """Everything one agent run said and did, with tokens, dollars and time."""

    system: str
    messages: list[dict[str, Any]]
    tool_calls: int
    turns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_s: float
    stop_reason: str
    final_text: str


def _cost(endpoint: Endpoint, usage: Sequence[int], prices: Mapping[str, Price] | None) -> float:
    """USD of (fresh input, output, cache-write, cache-read) tokens."""
    fresh, output, written, read = usage
    return cost_usd(endpoint.spec, input_tokens=fresh, output_tokens=output, cache_write_tokens=written,
                    cache_read_tokens=read, prices=prices)


def run_agent(
    endpoint: Endpoint,
    *,
    system: str,
    prompt: str,
    tools: Sequence[Tool],
    max_turns: int,
    max_tokens: int,
    temperature: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
    prices: Mapping[str, Price] | None = None,
    thinking_tokens: int = 0,
    on_turn: Callable[[int, float], None] | None = None,
) -> AgentTrace:
    """Loop: ask the model, run every tool it calls, send the results back; stop on a turn without
    tool calls (``stop_reason`` from the model) or after ``max_turns`` model turns (``max_turns``).

    Speaks the Messages API to ``endpoint.base_url`` whatever ``endpoint.api`` says: Claude, and
    servers that also answer ``/v1/messages`` (the local llama-server). On Claude, the system prompt,
    tools and conversation are prompt-cached, and ``thinking_tokens`` > 0 turns on extended thinking
    where the model supports it (its thinking blocks stay in the trace and go back with tool results).
    ``on_turn`` sees each turn's output tokens and cost as it ends (the live progress display).
    """
    by_name = {tool.name: tool for tool in tools}
    client = anthropic_client(endpoint, timeout_s=timeout_s, max_retries=max_retries)
    definitions = [tool.definition() for tool in tools]
    options: dict[str, Any]
    if thinking_tokens > 0 and supports_thinking(endpoint):
        # Thinking needs the default temperature, and max_tokens covers thinking plus the answer.
        options = {"thinking": {"type": "enabled", "budget_tokens": thinking_tokens}}
        max_tokens += thinking_tokens
    else:
        options = anthropic_sampling(temperature)
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    tokens = [0, 0, 0, 0]
    turns = tool_calls = 0
    stop_reason = "max_turns"
    final_text = ""
    started = time.monotonic()
    with client:
        while turns < max_turns:
            response = client.messages.create(
                model=endpoint.model, max_tokens=max_tokens, **cached_request(endpoint, system, definitions, messages),
                **options,
            )
            turns += 1
            usage = anthropic_usage(response.usage)
            tokens = [a + b for a, b in zip(tokens, usage, strict=True)]
            if on_turn is not None:
                on_turn(usage[1], _cost(endpoint, usage, prices))
            blocks = [block.model_dump(mode="json", exclude_none=True) for block in response.content]
            messages.append({"role": "assistant", "content": blocks})
            final_text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
            uses = [b for b in blocks if b.get("type") == "tool_use"]
            if response.stop_reason != "tool_use" or not uses:
                stop_reason = response.stop_reason or "end_turn"
                break
            if turns == max_turns:
                break
            results = []
            for use in uses:
                tool = by_name.get(use["name"])
                text, is_error = tool.call(use.get("input")) if tool else (f"unknown tool {use['name']!r}", True)
                tool_calls += 1
                results.append({"type": "tool_result", "tool_use_id": use["id"], "content": text, "is_error": is_error})
            messages.append({"role": "user", "content": results})
    return AgentTrace(
        system=system,
        messages=messages,
        tool_calls=tool_calls,
        turns=turns,
        input_tokens=tokens[0] + tokens[2] + tokens[3],
        output_tokens=tokens[1],
        cost_usd=_cost(endpoint, tokens, prices),
        latency_s=time.monotonic() - started,
        stop_reason=stop_reason,
        final_text=final_text,
    )
