"""Structured output: a pydantic object from any model, constrained at generation time.

Anthropic endpoints answer through a forced tool call whose input schema is the model's JSON schema;
OpenAI-compatible endpoints (local llama-server, vLLM, any URL) through ``response_format`` json_schema,
which llama-server and vLLM enforce with a grammar. Bound the output with maxLength/maxItems in the
schema. A reply that fails validation is re-asked once with the errors (one cut off at max_tokens is asked
afresh instead); then StructuredOutputError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from skillfoundry.llm.clients import anthropic_client, anthropic_sampling, anthropic_usage, openai_client
from skillfoundry.llm.pricing import Price, cost_usd
from skillfoundry.llm.spec import Endpoint

T = TypeVar("T", bound=BaseModel)
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_RETRIES = 4
RESAMPLE_TEMPERATURE = 0.8


class StructuredOutputError(ValueError):
    """The model's output did not validate against the schema, even after one re-ask; ``usage`` is
    what the two calls cost all the same: (input tokens, output tokens, USD)."""

    def __init__(self, message: str, usage: tuple[int, int, float]) -> None:
        super().__init__(message)
        self.usage = usage


class StructuredResult(BaseModel, Generic[T]):
    """A validated object and what it cost (summed over the re-ask, if any)."""

    obj: T
    input_tokens: int
    output_tokens: int
    cost_usd: float
    raw: str
    attempts: int


def strict_json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every object closed (no extra keys) and every property required,
    as strict structured-output modes expect."""

    def close(node: Any) -> Any:
        if isinstance(node, dict):
            node = {key: close(value) for key, value in node.items()}
            if node.get("type") == "object" and isinstance(node.get("properties"), dict):
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            return node
        if isinstance(node, list):
            return [close(item) for item in node]
        return node

    return close(schema.model_json_schema())


def schema_name(schema: type[BaseModel]) -> str:
    """A tool/format name for the schema (letters, digits, _ and -; at most 64)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", schema.__name__)[:64] or "result"


def describe_errors(err: ValidationError, limit: int = 8) -> list[str]:
    """Validation errors as ``field.path: message`` lines."""
    return [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in err.errors()[:limit]]


def generate_structured(
    endpoint: Endpoint,
    *,
    system: str,
    prompt: str,
    schema: type[T],
    max_tokens: int,
    temperature: float = 0.0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
    prices: Mapping[str, Price] | None = None,
) -> StructuredResult[T]:
    """Ask for one ``schema`` object; re-ask once with the validation errors; then raise."""
    ask = _ask_anthropic if endpoint.api == "anthropic" else _ask_openai
    conversation = _Conversation(endpoint, system, prompt, schema, max_tokens, temperature, timeout_s, max_retries)
    first_error = ""
    for attempt in (1, 2):
        raw, payload = ask(conversation)
        try:
            obj = schema.model_validate(payload) if payload is not None else schema.model_validate_json(raw)
        except ValidationError as err:
            errors = describe_errors(err)
            first_error = first_error or errors[0]
            conversation.reject(errors)
            continue
        tokens_in, tokens_out, usd = conversation.usage(prices)
        return StructuredResult[schema](  # type: ignore[valid-type]
            obj=obj, input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=usd, raw=raw, attempts=attempt
        )
    raise StructuredOutputError(
        f"model {endpoint.spec}: {schema_name(schema)} output invalid after one re-ask: {first_error}",
        conversation.usage(prices),
    )


class _Conversation:
    """The messages of one structured request, in the wire format of the endpoint's API."""

    def __init__(
        self,
        endpoint: Endpoint,
        system: str,
        prompt: str,
        schema: type[BaseModel],
        max_tokens: int,
        temperature: float,
        timeout_s: float,
        max_retries: int,
    ) -> None:
        self.endpoint, self.system, self.schema = endpoint, system, schema
        self.max_tokens, self.temperature = max_tokens, temperature
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self.name = schema_name(schema)
        self.json_schema = strict_json_schema(schema)
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        self.tokens = [0, 0, 0, 0]  # input, output, cache write, cache read
        self.pending_tool_use_id: str | None = None
        self.cut_off = False  # the last reply ended at max_tokens

    def add_tokens(self, *counts: int) -> None:
        for i, count in enumerate(counts):
            self.tokens[i] += count

    def usage(self, prices: Mapping[str, Price] | None) -> tuple[int, int, float]:
        """(input tokens, cache reads and writes included; output tokens; USD) of the calls so far."""
        tokens_in, tokens_out, cache_write, cache_read = self.tokens
        usd = cost_usd(
            self.endpoint.spec,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cache_write_tokens=cache_write,
            cache_read_tokens=cache_read,
            prices=prices,
        )
        return tokens_in + cache_write + cache_read, tokens_out, usd

    def reject(self, errors: list[str]) -> None:
        """Tell the model what was wrong with its last answer. A reply cut off at max_tokens (often a small
        model repeating itself inside a string) is not shown back: the question is asked afresh, sampled at
        ``RESAMPLE_TEMPERATURE`` at least, so the second try does not retrace the first."""
        if self.cut_off:
            del self.messages[1:]
            self.pending_tool_use_id = None
            self.temperature = max(self.temperature, RESAMPLE_TEMPERATURE)
            return
        problems = "; ".join(errors)
        if self.pending_tool_use_id is not None:
            content: Any = [
                {
                    "type": "tool_result",
                    "tool_use_id": self.pending_tool_use_id,
                    "is_error": True,
                    "content": f"Invalid input: {problems}. Call {self.name} again with corrected input.",
                }
            ]
        else:
            content = f"Your answer did not match the {self.name} schema: {problems}. Reply again with only the corrected JSON."
        self.messages.append({"role": "user", "content": content})


def _ask_anthropic(conv: _Conversation) -> tuple[str, Any]:
    """Forced tool call: (raw JSON, tool input or None when the model did not call the tool)."""
    tool = {"name": conv.name, "description": f"Return the {conv.name} object.", "input_schema": conv.json_schema}
    with anthropic_client(conv.endpoint, timeout_s=conv.timeout_s, max_retries=conv.max_retries) as client:
        response = client.messages.create(
            model=conv.endpoint.model,
            system=conv.system,
            messages=conv.messages,
            max_tokens=conv.max_tokens,
            tools=[tool],
            tool_choice={"type": "tool", "name": conv.name},
            **anthropic_sampling(conv.temperature),
        )
    conv.add_tokens(*anthropic_usage(response.usage))
    conv.cut_off = response.stop_reason == "max_tokens"
    blocks = [block.model_dump(mode="json", exclude_none=True) for block in response.content]
    conv.messages.append({"role": "assistant", "content": blocks})
    use = next((b for b in blocks if b.get("type") == "tool_use" and b.get("name") == conv.name), None)
    conv.pending_tool_use_id = use["id"] if use else None
    if use is None:
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        return text, None
    return json.dumps(use.get("input"), ensure_ascii=False), use.get("input")


def _ask_openai(conv: _Conversation) -> tuple[str, Any]:
    """``response_format`` json_schema: (raw text, None); the text is validated as JSON."""
    with openai_client(conv.endpoint, timeout_s=conv.timeout_s, max_retries=conv.max_retries) as client:
        response = client.chat.completions.create(
            model=conv.endpoint.model,
            messages=[{"role": "system", "content": conv.system}, *conv.messages],  # type: ignore[list-item]
            max_tokens=conv.max_tokens,
            temperature=conv.temperature,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": conv.name, "schema": conv.json_schema, "strict": True},
            },
        )
    usage = response.usage
    conv.add_tokens(usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)
    text = (response.choices[0].message.content or "") if response.choices else ""
    conv.cut_off = bool(response.choices) and response.choices[0].finish_reason == "length"
    conv.messages.append({"role": "assistant", "content": text})
    return text, None
