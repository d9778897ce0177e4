"""Faults: retries through a fault-injecting proxy in front of the real embedded server, the circuit
breaker on a dead or dying server, retry-after and the total deadline, timeouts counted from the send."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest
from fault_proxy import FAULTS, FaultProxy
from hypothesis import given
from hypothesis import strategies as st
from scripted_api import Reply, ScriptedServer, chat_completion

from skillfoundry.evaluation import Planned, to_generations
from skillfoundry.llm.retry import RetryPolicy, backoff_s, retry_after_s
from skillfoundry.llm.servers import free_port
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import ChatRequest, complete_sync, shared_prefix_order
from skillfoundry.storage.writer import write_rows

FAST = RetryPolicy(attempts=8, timeout_s=60, deadline_s=300, backoff_s=0.05, max_backoff_s=0.5)
# Through the real server: generous limits, so a busy machine only makes the test slower, never wrong.
PATIENT = RetryPolicy(attempts=10, timeout_s=900, deadline_s=3600, backoff_s=0.05, max_backoff_s=0.5)


def requests(n: int, *, systems: int = 2, max_tokens: int = 12) -> list[ChatRequest]:
    return [
        ChatRequest(key=f"case{i // 2}:{i % 2}", system=f"Skill {i % systems}: answer in one short sentence.",
                    prompt=f"Name a fruit, number {i}.", temperature=0.7, max_tokens=max_tokens, seed=i)
        for i in range(n)
    ]


@pytest.mark.server
@pytest.mark.timeout(3600)
def test_every_case_answered_once_through_30_percent_faults(local_endpoint: Endpoint, tmp_path: Path) -> None:
    asked = requests(24)
    with FaultProxy(local_endpoint.base_url or "", rate=0.3, seed=7) as proxy:
        endpoint = local_endpoint.model_copy(update={"base_url": proxy.url, "slots": 8})
        outcome = complete_sync([(endpoint, r) for r in asked], concurrency=8, policy=PATIENT)
    assert set(proxy.faults) == set(FAULTS), proxy.faults  # every kind of fault happened
    assert sum(proxy.faults.values()) >= 0.2 * len(asked)
    results = outcome.results
    assert [r.key for r in results] == [r.key for r in asked] and outcome.down == []
    assert all(r.error is None and r.text and r.output_tokens > 0 for r in results), [r.error for r in results]
    assert sum(r.attempts for r in results) == len(asked) + sum(proxy.faults.values())

    planned = [Planned(request=r, case_id=r.key.split(":")[0], epoch=int(r.key.split(":")[1]) + 2 * (i % 2),
                       seed=r.seed or 0) for i, r in enumerate(asked)]
    rows = to_generations("run1", "local", "baseline", None, planned, results, "key", server=endpoint.server)
    write_rows(tmp_path, "generations", rows)
    stored = duckdb.sql(
        f"select count(*), count(distinct gen_id) from read_parquet('{tmp_path}/generations/**/*.parquet')"
    ).fetchall()
    assert stored == [(len(asked), len(asked))]  # none lost, none duplicated


def test_dead_server_ends_the_batch_fast_with_one_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    endpoint = Endpoint(spec=ModelSpec.parse(f"openai:m@{url}/v1"), api="openai", base_url=url, model="m")
    started = time.monotonic()
    outcome = complete_sync([(endpoint, r) for r in requests(40)], concurrency=8, policy=RetryPolicy())
    elapsed = time.monotonic() - started
    assert elapsed < 10
    assert len(outcome.down) == 1 and url in outcome.down[0] and "down" in outcome.down[0]
    assert all(r.error_kind == "connection" for r in outcome.results)
    assert sum(r.error == outcome.down[0] for r in outcome.results) >= 40 - 8  # queued ones carry the one message


def test_server_dying_mid_batch_fails_the_rest_at_once(scripted: ScriptedServer) -> None:
    scripted.add(*(Reply(body=chat_completion(f"a{i}", prompt_tokens=3, completion_tokens=1), delay_s=0.2)
                   for i in range(4)))
    endpoint = scripted.endpoint("vllm:m", "openai").model_copy(update={"slots": 1})

    def die_at_the_fourth() -> None:  # stop listening: from now on every connection is refused
        while len(scripted.requests) < 4:
            time.sleep(0.005)
        scripted.httpd.socket.close()

    killer = threading.Thread(target=die_at_the_fourth)
    killer.start()
    started = time.monotonic()
    outcome = complete_sync([(endpoint, r) for r in requests(20, systems=1)], concurrency=1,
                            policy=RetryPolicy(backoff_s=0.05))
    killer.join()
    assert time.monotonic() - started < 10 and len(scripted.requests) == 4
    assert [r.text for r in outcome.results[:4]] == ["a0", "a1", "a2", "a3"]
    assert all(r.error_kind == "connection" for r in outcome.results[4:]) and len(outcome.down) == 1


def test_retry_after_is_honoured_and_the_deadline_caps_it(scripted: ScriptedServer) -> None:
    endpoint = scripted.endpoint("vllm:m", "openai")
    scripted.add(Reply(429, {"error": "slow"}, {"retry-after": "1"}), Reply(body=chat_completion("ok", prompt_tokens=1, completion_tokens=1)))
    started = time.monotonic()
    [ok] = complete_sync([(endpoint, requests(1)[0])], concurrency=1, policy=FAST).results
    assert ok.text == "ok" and ok.attempts == 2 and time.monotonic() - started >= 1.0

    scripted.add(Reply(529, {"error": "overloaded"}, {"retry-after": "30"}))
    started = time.monotonic()
    [late] = complete_sync([(endpoint, requests(1)[0])], concurrency=1,
                           policy=RetryPolicy(deadline_s=2, backoff_s=0.05)).results
    assert late.error_kind == "server_error" and late.attempts == 1 and time.monotonic() - started < 1.5


def test_timeout_counts_from_the_send_not_the_queue(scripted: ScriptedServer) -> None:
    """Three 0.5 s answers through one slot take 1.5 s in all, yet none times out at 0.9 s each."""
    scripted.add(*(Reply(body=chat_completion(f"a{i}", prompt_tokens=1, completion_tokens=1), delay_s=0.5) for i in range(3)))
    endpoint = scripted.endpoint("vllm:m", "openai").model_copy(update={"slots": 1})
    started = time.monotonic()
    outcome = complete_sync([(endpoint, r) for r in requests(3, systems=1)], concurrency=8,
                            policy=RetryPolicy(attempts=1, timeout_s=0.9))
    assert [r.text for r in outcome.results] == ["a0", "a1", "a2"]
    assert time.monotonic() - started >= 1.5  # one in flight at a time: the server's slot count, not 8


def test_non_retryable_status_is_not_retried(scripted: ScriptedServer) -> None:
    scripted.add(Reply(400, {"error": "bad"}), Reply(body=chat_completion("never", prompt_tokens=1, completion_tokens=1)))
    [bad] = complete_sync([(scripted.endpoint("vllm:m", "openai"), requests(1)[0])], concurrency=1,
                          policy=FAST).results
    assert bad.error_kind == "bad_request" and bad.attempts == 1 and len(scripted.requests) == 1


def test_shared_prefix_order_groups_systems_stably() -> None:
    asked = requests(6, systems=3)
    ordered = shared_prefix_order(list(enumerate(asked)))
    assert [i for i, _ in ordered] == [0, 3, 1, 4, 2, 5]


@given(retry=st.integers(1, 30), after=st.none() | st.floats(0, 100), seed=st.integers(0, 2**32))
def test_backoff_is_jittered_exponential_and_never_below_retry_after(retry: int, after: float | None, seed: int) -> None:
    import random

    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=20)
    wait = backoff_s(policy, retry, after, random.Random(seed))
    step = min(20.0, 0.5 * 2 ** (retry - 1))
    assert wait >= (after or 0.0) and wait >= step / 2
    assert wait <= max(step, after or 0.0)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after-ms": "250"}, 0.25), ({"retry-after": "3"}, 3.0), ({"retry-after": "soon"}, None), ({}, None),
     ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0), ({"retry-after": "99999"}, 120.0)],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    class Response:
        def __init__(self) -> None:
            self.headers = headers

    class Err(Exception):
        response = Response()

    assert retry_after_s(Err()) == expected
