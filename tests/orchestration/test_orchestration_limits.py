"""Global concurrency limits on a real Prefect server: two runs started together never have more than
the limit's requests in flight at one server (counted by the server itself), nor two GPU jobs at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from skillfoundry.flows.limits import (
    Limit,
    endpoint_limit,
    enforced,
    ensure_limit,
    gpu_limit,
    gpu_slot,
    request_slots,
    server_limit_name,
)
from skillfoundry.flows.prefect_server import PRIVATE_API_ENV
from skillfoundry.llm.spec import Endpoint, ModelSpec


class CountingServer(ThreadingHTTPServer):
    """An OpenAI-compatible chat server that answers after a pause and records the most requests it ever
    had in flight."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), CountingHandler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.served = 0


class CountingHandler(BaseHTTPRequestHandler):
    server: CountingServer

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most = max(self.server.most, self.server.in_flight)
        time.sleep(0.3)
        with self.server.lock:
            self.server.in_flight -= 1
            self.server.served += 1
        body = json.dumps({
            "id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


# One run's student stage: the scheduler with the slot hook the pipeline passes, 4 requests in flight
# of its own; the server's limit (created by the test with 2 slots) must hold both runs to 2 together.
RUN = """
import sys
from skillfoundry.flows.limits import enforced, request_slots
from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import ChatRequest, complete_sync

assert enforced(), "a shared Prefect server: limits apply"
endpoint = Endpoint(spec=ModelSpec.parse("vllm:m"), api="openai", base_url=sys.argv[1], model="m")
jobs = [(endpoint, ChatRequest(key=str(i), prompt="hi")) for i in range(int(sys.argv[2]))]
batch = complete_sync(jobs, concurrency=4, policy=RetryPolicy(), slot=request_slots(4))
assert [r.text for r in batch.results] == ["ok"] * len(jobs), batch.results
"""


@pytest.fixture
def counting() -> CountingServer:
    server = CountingServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_two_runs_together_never_exceed_the_limit_at_the_server(prefect_server, counting: CountingServer) -> None:
    url = f"http://127.0.0.1:{counting.server_address[1]}/v1"
    assert asyncio.run(ensure_limit(Limit(name=server_limit_name(url), slots=2)))
    runs = [subprocess.Popen([sys.executable, "-c", RUN, url, "6"]) for _ in range(2)]
    assert [r.wait(timeout=300) for r in runs] == [0, 0]
    assert counting.served == 12
    assert counting.most == 2  # the limit held across both runs, and both slots were used


def test_limits_are_not_enforced_on_a_runs_private_server(monkeypatch: pytest.MonkeyPatch) -> None:
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        monkeypatch.setenv(PRIVATE_API_ENV, "http://127.0.0.1:4200/api")
        assert not enforced() and request_slots(4) is None and gpu_slot() is None
        monkeypatch.setenv(PRIVATE_API_ENV, "http://127.0.0.1:4999/api")
        assert enforced() and request_slots(4) is not None and gpu_slot() is not None


def test_gpu_jobs_of_two_processes_hold_the_gpu_one_at_a_time(prefect_server, tmp_path) -> None:
    log = tmp_path / "gpu.log"
    job = (
        "import os, sys, time\n"
        "from skillfoundry.flows.limits import gpu_slot\n"
        "for _ in range(2):\n"
        "    with gpu_slot()():\n"
        "        fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
        "        os.write(fd, b'start\\n'); time.sleep(0.3); os.write(fd, b'end\\n'); os.close(fd)\n"
    )
    runs = [subprocess.Popen([sys.executable, "-c", job, str(log)]) for _ in range(2)]
    assert [r.wait(timeout=300) for r in runs] == [0, 0]
    assert log.read_text().split() == ["start", "end"] * 4  # never two jobs on the GPU at once


def test_missing_limits_are_created_once_and_existing_ones_left_alone(prefect_server) -> None:
    async def scenario() -> tuple[bool, bool, int]:
        first = await ensure_limit(Limit(name="server-10.0.0.9-8000", slots=3))
        second = await ensure_limit(Limit(name="server-10.0.0.9-8000", slots=7))
        async with get_client() as client:
            stored = await client.read_global_concurrency_limit_by_name("server-10.0.0.9-8000")
        return first, second, stored.limit

    assert asyncio.run(scenario()) == (True, False, 3)


def test_limits_are_named_per_provider_and_per_server() -> None:
    anthropic = Endpoint(spec=ModelSpec.parse("anthropic:claude-haiku-4-5"), api="anthropic", base_url=None, model="m")
    vllm = Endpoint(spec=ModelSpec.parse("vllm:Qwen/Qwen3-0.6B"), api="openai", base_url="http://127.0.0.1:8123", model="m")
    assert endpoint_limit(anthropic, 4).name == "anthropic"
    assert endpoint_limit(vllm, 4).name == "server-127.0.0.1-8123"
    assert server_limit_name("http://127.0.0.1:8123/v1") == server_limit_name("http://127.0.0.1:8123")
    assert server_limit_name("https://api.example.com/v1") == "server-api.example.com-443"
    assert gpu_limit().name == "gpu" and gpu_limit().slots == 1


@given(st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True), st.integers(1, 65535))
def test_every_server_name_is_a_valid_prefect_limit_name(host: str, port: int) -> None:
    name = server_limit_name(f"http://{host}:{port}/v1")
    assert Limit(name=name, slots=1).name.endswith(f"-{port}")
