"""Global concurrency limits on a real Prefect server: two processes started together never have more than
the limit's requests in flight at one server (counted by the server itself)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prefect.client.orchestration import get_client

from skillfoundry.flows.limits import Limit, endpoint_limit, ensure_limit, gpu_limit, server_limit_name
from skillfoundry.llm.spec import Endpoint, ModelSpec


class CountingServer(ThreadingHTTPServer):
    """Answers every GET after a pause and records the most requests it ever had in flight."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), CountingHandler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.served = 0


class CountingHandler(BaseHTTPRequestHandler):
    server: CountingServer

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most = max(self.server.most, self.server.in_flight)
        time.sleep(0.3)
        with self.server.lock:
            self.server.in_flight -= 1
            self.server.served += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


CLIENT = """
import asyncio, sys, httpx
from skillfoundry.flows.limits import Limit, holding, server_limit_name

async def main(url: str, n: int) -> None:
    limit = Limit(name=server_limit_name(url), slots=2)
    async with httpx.AsyncClient(trust_env=False) as http:
        async def one() -> None:
            async with holding(limit):
                (await http.get(url)).raise_for_status()
        await asyncio.gather(*(one() for _ in range(n)))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
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
    runs = [subprocess.Popen([sys.executable, "-c", CLIENT, url, "5"]) for _ in range(2)]
    assert [r.wait(timeout=300) for r in runs] == [0, 0]
    assert counting.served == 10
    assert counting.most == 2  # the limit held, and both slots were used


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
