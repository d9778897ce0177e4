"""Fixtures: the real embedded llama-server (once per session) and a scripted HTTP model server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scripted_api import ScriptedServer

from skillfoundry.config import Settings
from skillfoundry.llm.llama_build import ensure_llama_server
from skillfoundry.llm.servers import LlamaServer
from skillfoundry.llm.spec import Endpoint, ModelSpec


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture(scope="session")
def llama_binary() -> Path:
    """The cached llama-server binary (built from source on the first run: several minutes)."""
    return ensure_llama_server(Settings().cache_dir, log=print)


@pytest.fixture(scope="session")
def llama_server(llama_binary: Path) -> Iterator[LlamaServer]:
    """One real embedded llama-server for the whole test session."""
    with LlamaServer(binary=llama_binary, threads=2, slots=8) as server:
        yield server


@pytest.fixture(scope="session")
def local_endpoint(llama_server: LlamaServer) -> Endpoint:
    spec = ModelSpec.parse("local")
    return Endpoint(spec=spec, api="openai", base_url=llama_server.base_url, model=llama_server.alias)
