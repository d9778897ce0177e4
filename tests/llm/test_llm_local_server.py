"""Against the real embedded llama-server with SmolLM2-135M (started once per session)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

import skillfoundry
from skillfoundry.config import Settings
from skillfoundry.llm import servers
from skillfoundry.llm.llama_build import ENV_OVERRIDE
from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.servers import LlamaServer, serving
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.structured import generate_structured
from skillfoundry.llm.student import ChatRequest, complete_batch_sync
from skillfoundry.llm.teacher import Tool, run_agent

pytestmark = [pytest.mark.server, pytest.mark.timeout(1800)]  # the first run builds llama-server


class CityFact(BaseModel):
    city: str = Field(max_length=30)
    country: str = Field(max_length=30)
    size: Literal["small", "medium", "large"]
    landmarks: list[Annotated[str, Field(max_length=30)]] = Field(max_length=2)


def test_student_batch_returns_texts_and_tokens(local_endpoint: Endpoint) -> None:
    requests = [ChatRequest(key=f"q{i}", system="Answer in one sentence.", prompt=f"Name a color number {i}.",
                            temperature=0.7, max_tokens=24, seed=i) for i in range(6)]
    results = complete_batch_sync(local_endpoint, requests, concurrency=4, policy=RetryPolicy(timeout_s=120))
    assert [r.key for r in results] == [r.key for r in requests]
    for result in results:
        assert result.error is None and result.text.strip()
        assert result.input_tokens > 0 and 0 < result.output_tokens <= 24
        assert result.finish_reason in ("stop", "length")


def test_structured_output_from_smollm2_validates(local_endpoint: Endpoint) -> None:
    result = generate_structured(local_endpoint, system="You answer with facts as JSON.",
                                 prompt="Describe Paris.", schema=CityFact, max_tokens=200)
    assert isinstance(result.obj, CityFact)
    assert CityFact.model_validate_json(result.raw) == result.obj
    assert result.output_tokens > 0 and result.cost_usd == 0.0


def test_agent_loop_ends_cleanly_on_a_plain_answer(local_endpoint: Endpoint) -> None:
    called: list[dict] = []
    tool = Tool(name="lookup", description="Look a word up.",
                input_schema={"type": "object", "properties": {"word": {"type": "string"}}},
                fn=lambda args: called.append(args) or "a fruit")
    trace = run_agent(local_endpoint, system="You are helpful.", prompt="What is an apple?", tools=[tool],
                      max_turns=3, max_tokens=48, temperature=0.0)
    assert trace.turns == 1 and trace.tool_calls == 0 and called == []
    assert trace.stop_reason in ("end_turn", "max_tokens") and trace.final_text.strip()
    assert [m["role"] for m in trace.messages] == ["user", "assistant"]
    assert trace.input_tokens > 0 and trace.output_tokens > 0 and trace.cost_usd == 0.0


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


def test_serving_starts_one_llama_server_for_all_local_specs(llama_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_OVERRIDE, str(llama_binary))
    local, remote = ModelSpec.parse("local"), ModelSpec.parse("openai:m@http://127.0.0.1:9/v1")
    before = set(servers._LIVE)
    with serving([local, remote, local], Settings(llama_threads=1, llama_slots=2)) as endpoints:
        started = set(servers._LIVE) - before
        assert len(started) == 1 and isinstance(next(iter(started)), LlamaServer)
        assert list(endpoints) == [local, remote]
        assert endpoints[remote].base_url == "http://127.0.0.1:9"
        assert endpoints[remote].server == "openai-compatible"  # nothing answers there to name itself
        assert endpoints[local].slots == 2
        assert (endpoints[local].server or "").startswith("llama-server b") and "llama-cpp-python 0." in endpoints[local].server
        url = endpoints[local].base_url
        assert url and urllib.request.urlopen(url + "/health").status == 200
    assert set(servers._LIVE) == before and not _port_open(url)


def _child_env(llama_binary: Path) -> dict[str, str]:
    src = str(Path(skillfoundry.__file__).resolve().parents[1])
    return {**os.environ, ENV_OVERRIDE: str(llama_binary),
            "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z"


CHILD = """
import sys, time
from skillfoundry.llm.servers import LlamaServer
how = sys.argv[1]
server = LlamaServer(threads=1, slots=1).start()
print(server.process.pid, flush=True)
if how == "exit":
    sys.exit(0)  # no stop(): the atexit hook must do it
if how == "error":
    raise RuntimeError("boom")
time.sleep(600)
"""


@pytest.mark.parametrize("how", ["exit", "error", "sigterm", "sigint"])
def test_server_is_stopped_when_the_parent_ends(llama_binary: Path, how: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, how], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=_child_env(llama_binary))
    assert child.stdout is not None
    pid = int(child.stdout.readline())
    if how in ("sigterm", "sigint"):
        assert not _gone(pid)
        child.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    child.wait(timeout=60)
    assert _gone(pid), f"llama-server {pid} survived its parent ({how})"


def test_serve_foreground_prints_both_apis_and_stops_on_ctrl_c(llama_binary: Path) -> None:
    code = ("from skillfoundry.config import Settings\nfrom skillfoundry.llm.servers import serve_foreground\n"
            "serve_foreground(Settings(llama_threads=1, llama_slots=1))\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=_child_env(llama_binary))
    assert child.stdout is not None
    lines = []
    while not lines or not lines[-1].startswith("Press Ctrl-C"):
        line = child.stdout.readline()
        assert line, f"serve exited early: {child.stderr.read() if child.stderr else ''}"
        lines.append(line.strip())
    url = lines[0].split(" at ")[-1]
    assert any(line.endswith(f"{url}/v1/chat/completions") for line in lines)
    assert any(line.endswith(f"{url}/v1/messages") for line in lines)
    assert urllib.request.urlopen(url + "/health").status == 200
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=60) == 0
    assert not _port_open(url)


def test_setup_prints_whole_paths_on_a_narrow_terminal(llama_binary: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "skillfoundry", "setup"], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "40"}, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-2] == f"llama-server: {llama_binary}"  # one line, however narrow the terminal
    assert lines[-1].startswith("model: /") and lines[-1].endswith(".gguf") and "\x1b" not in done.stdout
