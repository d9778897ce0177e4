"""Student chat clients: a batch of single-turn requests, run concurrently, one result per request.

OpenAI-compatible endpoints (llama-server, vLLM, any URL) use chat completions; Anthropic endpoints
use the Messages API; both give the same ChatResult. The SDKs retry 408/409/429/5xx/529 with backoff,
jitter and ``retry-after``; ``timeout_s`` caps each request's wall time, retries included. A request
that still fails becomes a ChatResult with ``error`` and ``error_kind``; the batch never raises for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import anthropic
import openai
from pydantic import BaseModel, Field

from skillfoundry.llm.clients import anthropic_sampling, async_anthropic_client, async_openai_client
from skillfoundry.llm.spec import Endpoint

ErrorKind = Literal["timeout", "server_error", "connection", "rate_limit", "bad_request", "other"]
DEFAULT_MAX_RETRIES = 3


class ChatRequest(BaseModel):
    """One single-turn chat request; ``key`` is the caller's id for it."""

    key: str
    system: str | None = None
    prompt: str
    temperature: float = Field(default=0.7, ge=0.0)
    max_tokens: int = Field(default=512, ge=1)
    seed: int | None = None


class ChatResult(BaseModel):
    """The answer to one ChatRequest, or why there is none."""

    key: str
    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float
    finish_reason: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None


def classify_error(err: BaseException) -> ErrorKind:
    """What kind of failure ``err`` is, for reporting and for telling infrastructure from model errors."""
    if isinstance(err, (TimeoutError, openai.APITimeoutError, anthropic.APITimeoutError)):
        return "timeout"
    if isinstance(err, (openai.APIConnectionError, anthropic.APIConnectionError)):
        return "connection"
    if isinstance(err, (openai.APIStatusError, anthropic.APIStatusError)):
        code = err.status_code
        if code == 408:
            return "timeout"
        if code == 429:
            return "rate_limit"
        if code >= 500:
            return "server_error"
        if code >= 400:
            return "bad_request"
    return "other"


def describe_error(err: BaseException, timeout_s: float) -> str:
    """One line naming the error."""
    if isinstance(err, TimeoutError) and not str(err):
        return f"request took longer than timeout_s={timeout_s:g}"
    return f"{type(err).__name__}: {' '.join(str(err).split())}"[:500]


async def _openai_chat(client: openai.AsyncOpenAI, model: str, request: ChatRequest) -> dict[str, Any]:
    messages = ([{"role": "system", "content": request.system}] if request.system else []) + [
        {"role": "user", "content": request.prompt}
    ]
    response = await client.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        **({"seed": request.seed} if request.seed is not None else {}),
    )
    choice = response.choices[0] if response.choices else None
    return {
        "text": (choice.message.content or "") if choice else "",
        "finish_reason": choice.finish_reason if choice else None,
        "input_tokens": response.usage.prompt_tokens if response.usage else 0,
        "output_tokens": response.usage.completion_tokens if response.usage else 0,
    }


async def _anthropic_chat(client: anthropic.AsyncAnthropic, model: str, request: ChatRequest) -> dict[str, Any]:
    response = await client.messages.create(
        model=model,
        max_tokens=request.max_tokens,
        messages=[{"role": "user", "content": request.prompt}],
        **({"system": request.system} if request.system else {}),
        **anthropic_sampling(request.temperature),
    )
    return {
        "text": "".join(block.text for block in response.content if block.type == "text"),
        "finish_reason": response.stop_reason,
        "input_tokens": response.usage.input_tokens,
        "output_tokens": response.usage.output_tokens,
    }


async def complete_batch(
    endpoint: Endpoint,
    requests: Sequence[ChatRequest],
    *,
    concurrency: int,
    timeout_s: float,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> list[ChatResult]:
    """Run ``requests`` with at most ``concurrency`` in flight; results in request order."""
    if concurrency < 1:
        raise ValueError(f"concurrency={concurrency}: expected at least 1")
    limit = asyncio.Semaphore(concurrency)
    client: Any
    if endpoint.api == "anthropic":
        client, chat = async_anthropic_client(endpoint, timeout_s=timeout_s, max_retries=max_retries), _anthropic_chat
    else:
        client, chat = async_openai_client(endpoint, timeout_s=timeout_s, max_retries=max_retries), _openai_chat

    async def one(request: ChatRequest) -> ChatResult:
        async with limit:
            started = time.monotonic()
            try:
                fields = await asyncio.wait_for(chat(client, endpoint.model, request), timeout_s)
            except Exception as err:  # one failed request is a result row, never a lost batch
                return ChatResult(
                    key=request.key,
                    latency_s=time.monotonic() - started,
                    error=describe_error(err, timeout_s),
                    error_kind=classify_error(err),
                )
            return ChatResult(key=request.key, latency_s=time.monotonic() - started, **fields)

    async with client:
        return list(await asyncio.gather(*(one(request) for request in requests)))


def complete_batch_sync(
    endpoint: Endpoint,
    requests: Sequence[ChatRequest],
    *,
    concurrency: int,
    timeout_s: float,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> list[ChatResult]:
    """complete_batch for sync callers (also from inside a running event loop, via a helper thread)."""
    run = lambda: asyncio.run(  # noqa: E731
        complete_batch(endpoint, requests, concurrency=concurrency, timeout_s=timeout_s, max_retries=max_retries)
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
