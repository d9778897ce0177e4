"""Student chat requests: one scheduler per server for a whole batch, one result per request.

OpenAI-compatible endpoints (llama-server, vLLM, any URL) use chat completions; Anthropic endpoints
use the Messages API; both give the same ChatResult. Requests are grouped by server (endpoints with
the same wire API and base URL share one), each server gets as many requests in flight as it has
slots (``Endpoint.slots``, else ``concurrency``), so a request is sent only when the server can start
it and its timeout counts from that send, never from time spent queued. Requests that share a system
prompt (a skill) are sent one after another, so the server's prompt cache (llama-server
``cache_prompt``, vLLM prefix caching) serves the shared prefix.

Faults: our own retries (the SDKs' are off) per ``RetryPolicy``: backoff with jitter, honouring
``retry-after``, on 408/409/429/5xx/529, dropped connections and timeouts, within a total deadline.
A circuit breaker per server: refused connections in a row mean the server is down, and every request
still waiting fails at once with one message (``BatchResult.down``) instead of a timeout each. A request
that still fails is a ChatResult with ``error`` and ``error_kind``; the batch never raises for it.

Seeded requests are served from the ResponseCache when given one (``from_cache``) and stored in it.
A ``slot`` hook, when given, is held around every send (the orchestration layer passes Prefect's global
concurrency limits through it, shared by every run on one Prefect server); ``on_result`` sees every
result as it arrives (the live progress display).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, TypeVar

import anthropic
import openai
from pydantic import BaseModel, Field

from skillfoundry.llm.budget import Budget
from skillfoundry.llm.clients import (
    anthropic_sampling,
    anthropic_usage,
    async_anthropic_client,
    async_openai_client,
)
from skillfoundry.llm.pricing import cost_usd
from skillfoundry.llm.response_cache import CachedAnswer, ResponseCache, request_key
from skillfoundry.llm.retry import RetryPolicy, backoff_s, is_refused, is_retryable, retry_after_s
from skillfoundry.llm.spec import Endpoint

ErrorKind = Literal["timeout", "server_error", "connection", "rate_limit", "bad_request", "other"]
T = TypeVar("T")
Slot = Callable[[Endpoint], AbstractAsyncContextManager[object]]
"""Makes the context held around one send to an endpoint (a slot of a concurrency limit)."""


class ChatRequest(BaseModel):
    """One single-turn chat request; ``key`` is the caller's id for it."""

    key: str
    system: str | None = None
    prompt: str
    temperature: float = Field(default=0.7, ge=0.0)
    max_tokens: int = Field(default=512, ge=1)
    seed: int | None = None

    def messages(self) -> list[dict[str, str]]:
        """The request as chat messages (system first, when there is one)."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, {"role": "user", "content": self.prompt}]

    def sampling(self) -> dict[str, object]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}


class ChatResult(BaseModel):
    """The answer to one ChatRequest, or why there is none."""

    key: str
    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = Field(default=0, description="prompt tokens the server took from its prompt cache")
    cost_usd: float = 0.0
    latency_s: float
    attempts: int = 0
    from_cache: bool = False
    unsent: bool = Field(default=False, description="never sent: the run's budget was reached first")
    finish_reason: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None


OnResult = Callable[[int, ChatResult], None]
"""Sees each job's result (by its index in the batch) as it arrives."""


class BatchResult(BaseModel):
    """Results in request order, and one line per server that went down during the batch."""

    results: list[ChatResult]
    down: list[str] = Field(default_factory=list)

    @property
    def cache_hits(self) -> int:
        return sum(r.from_cache for r in self.results)


class ServerDownError(ValueError):
    """A server stopped accepting connections; its unanswered requests are stored as errors."""


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
        return f"timeout: the request took longer than its {timeout_s:.1f} s limit"
    return f"{type(err).__name__}: {' '.join(str(err).split())}"[:500]


async def _openai_chat(client: openai.AsyncOpenAI, endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
    # llama-server keeps each slot's prompt in its KV cache and reuses the common prefix (on by default;
    # asked for explicitly so a changed default cannot cost the skill prefix).
    extra = {"extra_body": {"cache_prompt": True}} if endpoint.spec.provider == "local" else {}
    response = await client.chat.completions.create(
        model=endpoint.model,
        messages=request.messages(),  # type: ignore[arg-type]
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        **({"seed": request.seed} if request.seed is not None else {}),
        **extra,  # type: ignore[arg-type]
    )
    choice = response.choices[0] if response.choices else None
    usage = response.usage
    details = getattr(usage, "prompt_tokens_details", None)
    return {
        "text": (choice.message.content or "") if choice else "",
        "finish_reason": choice.finish_reason if choice else None,
        "input_tokens": usage.prompt_tokens if usage else 0,
        "output_tokens": usage.completion_tokens if usage else 0,
        "cached_tokens": (getattr(details, "cached_tokens", None) or 0) if details else 0,
    }


async def _anthropic_chat(client: anthropic.AsyncAnthropic, endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
    response = await client.messages.create(
        model=endpoint.model,
        max_tokens=request.max_tokens,
        messages=[{"role": "user", "content": request.prompt}],
        **({"system": request.system} if request.system else {}),
        **anthropic_sampling(request.temperature),
    )
    fresh, output, written, read = anthropic_usage(response.usage)
    return {  # input_tokens counts the whole prompt, as OpenAI-compatible servers do
        "text": "".join(block.text for block in response.content if block.type == "text"),
        "finish_reason": response.stop_reason,
        "input_tokens": fresh + written + read,
        "output_tokens": output,
        "cached_tokens": read,
    }


class _Server:
    """One server's queue: its client, its slot count, and its circuit breaker."""

    def __init__(self, endpoint: Endpoint, slots: int, policy: RetryPolicy) -> None:
        self.endpoint, self.slots, self.policy = endpoint, slots, policy
        self.refusals = 0
        self.down: str | None = None
        self.rng = random.Random()
        # The SDK's own timeout is a backstop just above ours; its retries are off (ours count the deadline).
        timeout = policy.timeout_s + 5
        if endpoint.api == "anthropic":
            self.client: Any = async_anthropic_client(endpoint, timeout_s=timeout, max_retries=0)
        else:
            self.client = async_openai_client(endpoint, timeout_s=timeout, max_retries=0)

    def note(self, err: BaseException | None) -> None:
        """Feed the breaker: refused connections in a row open it; any answer from the server resets it."""
        if err is None or not is_refused(err):
            self.refusals = 0
            return
        self.refusals += 1
        if self.refusals >= self.policy.breaker_refusals and self.down is None:
            self.down = (
                f"{self.endpoint.spec} at {self.endpoint.base_url or self.endpoint.api} is down: "
                f"{self.refusals} connections refused in a row ({describe_error(err, self.policy.timeout_s)})"
            )

    async def chat(self, endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
        call = _anthropic_chat if endpoint.api == "anthropic" else _openai_chat
        return await call(self.client, endpoint, request)

    async def answer(self, endpoint: Endpoint, request: ChatRequest) -> ChatResult:
        """One request with retries; the clock starts at its first send."""
        policy = self.policy
        started = time.monotonic()
        deadline = started + policy.deadline_s
        attempt = 0
        while True:
            if self.down is not None:
                return self._failed(request, started, attempt, self.down, "connection")
            attempt += 1
            limit_s = min(policy.timeout_s, deadline - time.monotonic())
            try:
                fields = await asyncio.wait_for(self.chat(endpoint, request), limit_s)
            except Exception as err:  # one failed request is a result row, never a lost batch
                self.note(err)
                wait = backoff_s(policy, attempt, retry_after_s(err), self.rng)
                if (
                    not is_retryable(err) or attempt >= policy.attempts or self.down is not None
                    or time.monotonic() + wait >= deadline
                ):
                    message = self.down or describe_error(err, limit_s)
                    return self._failed(request, started, attempt, message, classify_error(err))
                await asyncio.sleep(wait)
                continue
            self.note(None)
            cost = cost_usd(endpoint.spec, input_tokens=fields["input_tokens"] - fields["cached_tokens"],
                            output_tokens=fields["output_tokens"], cache_read_tokens=fields["cached_tokens"])
            return ChatResult(key=request.key, latency_s=time.monotonic() - started, attempts=attempt,
                              cost_usd=cost, **fields)

    @staticmethod
    def _failed(request: ChatRequest, started: float, attempts: int, error: str, kind: ErrorKind) -> ChatResult:
        return ChatResult(key=request.key, latency_s=time.monotonic() - started, attempts=attempts,
                          error=error, error_kind=kind)


def shared_prefix_order(jobs: Sequence[tuple[int, ChatRequest]]) -> list[tuple[int, ChatRequest]]:
    """Jobs grouped by system prompt (groups in order of first appearance, stable inside a group), so
    requests that share a long prefix follow each other and hit the server's prompt cache."""
    groups: dict[str | None, list[tuple[int, ChatRequest]]] = {}
    for job in jobs:
        groups.setdefault(job[1].system, []).append(job)
    return [job for group in groups.values() for job in group]


async def complete(
    jobs: Sequence[tuple[Endpoint, ChatRequest]],
    *,
    concurrency: int,
    policy: RetryPolicy,
    cache: ResponseCache | None = None,
    budget: Budget | None = None,
    slot: Slot | None = None,
    on_result: OnResult | None = None,
) -> BatchResult:
    """Answer every (endpoint, request); results in job order. With a ``budget``, each answer's cost is
    charged to it and no request is sent once it is exhausted (those come back ``unsent``)."""
    if concurrency < 1:
        raise ValueError(f"concurrency={concurrency}: expected at least 1")
    results: list[ChatResult | None] = [None] * len(jobs)
    keys: list[str | None] = [None] * len(jobs)
    pending: dict[tuple[str, str | None], list[tuple[int, ChatRequest]]] = {}
    endpoints: dict[tuple[str, str | None], Endpoint] = {}
    for index, (endpoint, request) in enumerate(jobs):
        if cache is not None and request.seed is not None:
            keys[index] = request_key(endpoint, request.messages(), request.sampling())
            hit = cache.get(keys[index])  # type: ignore[arg-type]
            if hit is not None:
                results[index] = ChatResult(key=request.key, latency_s=0.0, from_cache=True, **hit.model_dump())
                if on_result is not None:
                    on_result(index, results[index])  # type: ignore[arg-type]
                continue
        pending.setdefault(endpoint.server_key(), []).append((index, request))
        endpoints.setdefault(endpoint.server_key(), endpoint)
    servers = {key: _Server(endpoints[key], endpoints[key].slots or concurrency, policy) for key in pending}

    async def serve(key: tuple[str, str | None]) -> None:
        server, queue = servers[key], iter(shared_prefix_order(pending[key]))

        async def worker() -> None:
            for index, request in queue:  # workers share one iterator: each job is taken once, in order
                if budget is not None and budget.exhausted:
                    results[index] = ChatResult(key=request.key, latency_s=0.0, unsent=True, error_kind="other",
                                                error=budget.message("this request"))
                    continue
                endpoint = jobs[index][0]
                if slot is None:
                    result = await server.answer(endpoint, request)
                else:
                    async with slot(endpoint):
                        result = await server.answer(endpoint, request)
                if on_result is not None:
                    on_result(index, result)
                if budget is not None:
                    budget.charge(result.cost_usd)
                results[index] = result
                if result.error is None and keys[index] is not None and cache is not None:
                    cache.put(keys[index], CachedAnswer(  # type: ignore[arg-type]
                        text=result.text, finish_reason=result.finish_reason,
                        input_tokens=result.input_tokens, output_tokens=result.output_tokens,
                    ))

        async with server.client:
            await asyncio.gather(*(worker() for _ in range(min(server.slots, len(pending[key])))))

    await asyncio.gather(*(serve(key) for key in servers))
    done = [r for r in results if r is not None]
    assert len(done) == len(jobs), "every job gets exactly one result"
    return BatchResult(results=done, down=[s.down for s in servers.values() if s.down is not None])


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code, also from inside a running event loop (via a helper thread)."""
    run = lambda: asyncio.run(make())  # type: ignore[arg-type]  # noqa: E731
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def complete_sync(
    jobs: Sequence[tuple[Endpoint, ChatRequest]],
    *,
    concurrency: int,
    policy: RetryPolicy,
    cache: ResponseCache | None = None,
    budget: Budget | None = None,
    slot: Slot | None = None,
    on_result: OnResult | None = None,
) -> BatchResult:
    """``complete`` for sync callers."""
    return run_sync(lambda: complete(jobs, concurrency=concurrency, policy=policy, cache=cache, budget=budget,
                                     slot=slot, on_result=on_result))


def complete_batch_sync(
    endpoint: Endpoint,
    requests: Sequence[ChatRequest],
    *,
    concurrency: int,
    policy: RetryPolicy,
    cache: ResponseCache | None = None,
) -> list[ChatResult]:
    """Every request to one endpoint; results in request order."""
    jobs = [(endpoint, request) for request in requests]
    return complete_sync(jobs, concurrency=concurrency, policy=policy, cache=cache).results
