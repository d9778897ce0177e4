"""The response cache: seeded requests answered once and served from disk after, shared by runs."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from scripted_api import Reply, ScriptedServer, chat_completion

from skillfoundry.config import Settings
from skillfoundry.llm.response_cache import CachedAnswer, ResponseCache, request_key
from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import ChatRequest, complete_sync

POLICY = RetryPolicy(attempts=1, timeout_s=10)


def ask(endpoint: Endpoint, seeds: list[int | None], cache: ResponseCache | None) -> list:
    jobs = [(endpoint, ChatRequest(key=f"k{i}", system="S", prompt="P", seed=seed)) for i, seed in enumerate(seeds)]
    return complete_sync(jobs, concurrency=1, policy=POLICY, cache=cache).results


def test_seeded_answers_come_from_the_cache_the_second_time(scripted: ScriptedServer, tmp_path: Path) -> None:
    endpoint = scripted.endpoint("vllm:m", "openai")
    scripted.add(*(Reply(body=chat_completion(f"a{i}", prompt_tokens=5, completion_tokens=2)) for i in range(3)))
    first = ask(endpoint, [1, None], ResponseCache(tmp_path))
    assert [r.text for r in first] == ["a0", "a1"] and not any(r.from_cache for r in first)
    second = ask(endpoint, [1, None], ResponseCache(tmp_path))  # a new cache object: only the disk is shared
    assert [r.from_cache for r in second] == [True, False]  # the unseeded one is a fresh sample
    assert (second[0].text, second[0].input_tokens, second[0].output_tokens) == ("a0", 5, 2)
    assert second[1].text == "a2" and len(scripted.requests) == 3


def test_a_different_model_seed_or_prompt_misses(scripted: ScriptedServer, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    endpoint = scripted.endpoint("vllm:m", "openai")
    scripted.add(*(Reply(body=chat_completion(f"a{i}", prompt_tokens=1, completion_tokens=1)) for i in range(3)))
    ask(endpoint, [1], cache)
    other = scripted.endpoint("vllm:m2", "openai")
    assert [r.text for r in ask(other, [1], cache)] == ["a1"]
    assert [r.text for r in ask(endpoint, [2], cache)] == ["a2"] and len(scripted.requests) == 3


def test_failures_are_not_cached(scripted: ScriptedServer, tmp_path: Path) -> None:
    endpoint = scripted.endpoint("vllm:m", "openai")
    scripted.add(Reply(400, {"error": "no"}), Reply(body=chat_completion("ok", prompt_tokens=1, completion_tokens=1)))
    assert ask(endpoint, [1], ResponseCache(tmp_path))[0].error_kind == "bad_request"
    assert ask(endpoint, [1], ResponseCache(tmp_path))[0].text == "ok"


def test_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    cache.put("ab" * 20, CachedAnswer(text="x"))
    (tmp_path / "ab" / f"{'ab' * 20}.json").write_text("{not json")
    assert cache.get("ab" * 20) is None and cache.get("cd" * 20) is None


def test_no_cache_setting_turns_it_off(tmp_path: Path) -> None:
    assert Settings(cache_dir=tmp_path).response_cache_dir == tmp_path / "responses"
    assert Settings(cache_dir=tmp_path, response_cache=False).response_cache_dir is None


def test_managed_server_identity_ignores_its_port() -> None:
    a = Endpoint(spec=ModelSpec.parse("local"), api="openai", base_url="http://127.0.0.1:1", model="m", server="llama-server b1")
    b = a.model_copy(update={"base_url": "http://127.0.0.1:2"})
    c = a.model_copy(update={"server": "llama-server b2"})
    msgs, sampling = [{"role": "user", "content": "hi"}], {"seed": 1}
    assert request_key(a, msgs, sampling) == request_key(b, msgs, sampling) != request_key(c, msgs, sampling)


@given(text=st.text(), tokens=st.integers(0, 10**6))
def test_entries_round_trip(tmp_path_factory, text: str, tokens: int) -> None:  # type: ignore[no-untyped-def]
    cache = ResponseCache(tmp_path_factory.mktemp("c"))
    answer = CachedAnswer(text=text, finish_reason="stop", input_tokens=tokens, output_tokens=tokens)
    cache.put("ef" * 20, answer)
    assert cache.get("ef" * 20) == answer
