"""Student batches: error classification and retries against real loopback servers."""

from __future__ import annotations

import pytest
from scripted_api import Reply, ScriptedServer, chat_completion, message

from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.servers import free_port
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import ChatRequest, complete_batch_sync

FAST_RETRY = {"retry-after-ms": "5"}


def policy(timeout_s: float = 10, max_retries: int = 3) -> RetryPolicy:
    return RetryPolicy(timeout_s=timeout_s, attempts=max_retries + 1, backoff_s=0.01)


def requests(n: int) -> list[ChatRequest]:
    return [ChatRequest(key=f"k{i}", system="Be brief.", prompt=f"Say {i}", max_tokens=16, seed=i) for i in range(n)]


def test_openai_results_keep_order_and_tokens(scripted: ScriptedServer) -> None:
    scripted.add(*(Reply(body=chat_completion(f"answer {i}", prompt_tokens=10 + i, completion_tokens=3))
                   for i in range(3)))
    results = complete_batch_sync(scripted.endpoint("vllm:m", "openai"), requests(3), concurrency=1, policy=policy(10))
    assert [r.key for r in results] == ["k0", "k1", "k2"]
    assert [r.text for r in results] == ["answer 0", "answer 1", "answer 2"]
    assert [r.input_tokens for r in results] == [10, 11, 12] and all(r.error is None for r in results)
    body = scripted.requests[0].body
    assert scripted.requests[0].path == "/v1/chat/completions"
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say 0"}]
    assert (body["seed"], body["max_tokens"], body["model"]) == (0, 16, "m")


def test_retries_then_success_and_persistent_500(scripted: ScriptedServer) -> None:
    scripted.add(
        Reply(429, {"error": "slow down"}, FAST_RETRY),
        Reply(503, {"error": "busy"}, FAST_RETRY),
        Reply(body=chat_completion("finally", prompt_tokens=4, completion_tokens=1)),
    )
    [ok] = complete_batch_sync(scripted.endpoint("vllm:m", "openai"), requests(1), concurrency=1, policy=policy(10, 2))
    assert (ok.text, ok.error_kind, len(scripted.requests)) == ("finally", None, 3)

    scripted.add(*(Reply(500, {"error": "boom"}, FAST_RETRY) for _ in range(3)))
    [failed] = complete_batch_sync(scripted.endpoint("vllm:m", "openai"), requests(1), concurrency=1,
                                   policy=policy(10, 2))
    assert failed.error_kind == "server_error" and "500" in (failed.error or "")
    assert len(scripted.requests) == 6 and "\n" not in (failed.error or "")


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit"), (400, "bad_request"), (408, "timeout")])
def test_status_classification(scripted: ScriptedServer, status: int, kind: str) -> None:
    scripted.add(Reply(status, {"error": "no"}, FAST_RETRY))
    [result] = complete_batch_sync(scripted.endpoint("vllm:m", "openai"), requests(1), concurrency=1,
                                   policy=policy(10, 0))
    assert result.error_kind == kind and result.text == ""


def test_timeout_is_per_request_and_batch_survives(scripted: ScriptedServer) -> None:
    scripted.add(
        Reply(body=chat_completion("slow", prompt_tokens=1, completion_tokens=1), delay_s=3.0),
        Reply(body=chat_completion("fast", prompt_tokens=1, completion_tokens=1)),
    )
    slow, fast = complete_batch_sync(scripted.endpoint("vllm:m", "openai"), requests(2), concurrency=1,
                                     policy=policy(0.5, 0))
    assert slow.error_kind == "timeout" and "timeout" in (slow.error or "")
    assert fast.text == "fast" and fast.error is None


def test_connection_refused() -> None:
    endpoint = Endpoint(spec=ModelSpec.parse("vllm:m"), api="openai",
                        base_url=f"http://127.0.0.1:{free_port()}", model="m")
    [result] = complete_batch_sync(endpoint, requests(1), concurrency=1, policy=policy(5, 0))
    assert result.error_kind == "connection"


def test_anthropic_students_share_the_result_shape(scripted: ScriptedServer) -> None:
    scripted.add(
        Reply(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}, FAST_RETRY),
        Reply(body=message([{"type": "text", "text": "hello"}], "end_turn", input_tokens=7, output_tokens=2)),
    )
    [result] = complete_batch_sync(scripted.endpoint("anthropic:claude-haiku-4-5", "anthropic"), requests(1),
                                   concurrency=4, policy=policy(10, 2))
    assert (result.text, result.input_tokens, result.output_tokens, result.finish_reason) == ("hello", 7, 2, "end_turn")
    body = scripted.requests[-1].body
    assert body["system"] == "Be brief." and body["messages"] == [{"role": "user", "content": "Say 0"}]


def test_concurrency_must_be_positive(scripted: ScriptedServer) -> None:
    with pytest.raises(ValueError, match="concurrency=0"):
        complete_batch_sync(scripted.endpoint("vllm:m", "openai"), requests(1), concurrency=0, policy=policy(1))


def test_every_result_is_reported_as_it_arrives_and_each_send_holds_a_slot(scripted: ScriptedServer, tmp_path) -> None:
    from contextlib import asynccontextmanager

    from skillfoundry.llm.response_cache import ResponseCache
    from skillfoundry.llm.student import complete_sync

    endpoint = scripted.endpoint("vllm:m", "openai")
    cache = ResponseCache(tmp_path / "cache")
    scripted.add(Reply(body=chat_completion("first", prompt_tokens=2, completion_tokens=5)))
    complete_sync([(endpoint, requests(1)[0])], concurrency=1, policy=policy(10), cache=cache)
    scripted.add(*(Reply(body=chat_completion(f"a{i}", prompt_tokens=2, completion_tokens=3)) for i in range(2)))
    seen: list[tuple[int, str, int, bool]] = []
    held: list[str] = []

    @asynccontextmanager
    async def slot(ep: Endpoint):
        held.append(ep.model)
        yield

    batch = complete_sync([(endpoint, r) for r in requests(3)], concurrency=2, policy=policy(10), cache=cache,
                          slot=slot, on_result=lambda i, r: seen.append((i, r.key, r.output_tokens, r.from_cache)))
    assert sorted(seen) == [(0, "k0", 5, True), (1, "k1", 3, False), (2, "k2", 3, False)]
    assert held == ["m", "m"]  # the cache hit was never sent, so it held no slot
    assert [r.key for r in batch.results] == ["k0", "k1", "k2"]
