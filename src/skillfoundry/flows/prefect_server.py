"""The project's own Prefect server and worker, started under the leash so they die with whoever started them.

Without a configured ``PREFECT_API_URL`` Prefect starts an ephemeral server (a uvicorn subprocess) that
outlives a run killed with SIGKILL. ``prefect_api()`` starts a local server instead, as a leashed
``ManagedServer`` on a loopback port, and points this process (and its children) at it; the runs it
records land in the same database (``PREFECT_HOME``) that ``skillfoundry ui`` later shows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from skillfoundry.flows.prefect_env import prefect_defaults
from skillfoundry.flows.zombies import heartbeat_env
from skillfoundry.llm.servers import HOST, ManagedServer, free_port

PRIVATE_API_ENV = "SKILLFOUNDRY_PRIVATE_PREFECT_API"
"""Names the local server ``prefect_api`` started for this run alone (no other run reports to it)."""


def with_env(env: dict[str, str], cmd: list[str]) -> list[str]:
    """``cmd`` run with extra environment variables (``env`` execs it: the leash still watches one process)."""
    return ["env", *(f"{k}={v}" for k, v in env.items()), *cmd]


class PrefectServer(ManagedServer):
    """``prefect server start`` on 127.0.0.1; ready once ``/api/health`` answers."""

    name = "prefect-server"
    health_path = "/api/health"

    def __init__(
        self, *, port: int | None = None, ui: bool = False, startup_timeout_s: float = 300.0, log_path: Path | None = None
    ) -> None:
        super().__init__(port=port, startup_timeout_s=startup_timeout_s, log_path=log_path)
        self.ui = ui

    @property
    def api_url(self) -> str:
        """The value for ``PREFECT_API_URL``."""
        return f"{self.base_url}/api"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(self.port)]
        cmd.append("--ui" if self.ui else "--no-ui")
        return with_env(prefect_defaults(os.environ), cmd)  # analytics off unless the user opted in


class PrefectWorker(ManagedServer):
    """``prefect worker start --pool POOL`` against ``api_url``; ready once its health check answers."""

    name = "prefect-worker"
    health_path = "/health"

    def __init__(
        self,
        pool: str,
        api_url: str,
        *,
        workdir: Path,
        startup_timeout_s: float = 300.0,
        log_path: Path | None = None,
    ) -> None:
        super().__init__(port=None, startup_timeout_s=startup_timeout_s, log_path=log_path)
        self.pool, self.api_url, self.workdir = pool, api_url, workdir

    def command(self) -> list[str]:
        env = {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_WORKER_WEBSERVER_HOST": HOST,
            "PREFECT_WORKER_WEBSERVER_PORT": str(self.port),
            "SKILLFOUNDRY_HOME": str(self.workdir),  # prefect.yaml's pull step changes into it
            **heartbeat_env(),  # flow runs inherit it: a killed one is marked Crashed
            **prefect_defaults(os.environ),
        }
        cmd = [sys.executable, "-m", "prefect", "worker", "start", "--pool", self.pool, "--with-healthcheck"]
        return with_env(env, cmd)


def configured_api_url() -> str | None:
    """The Prefect API this process is pointed at (``PREFECT_API_URL``, a profile, Prefect Cloud), if any."""
    return get_current_settings().api.url or None


def drain_to_server(timeout_s: float = 10.0) -> None:
    """Send the logs and events Prefect still queues in this process, before the server they go to stops
    (else each is retried against a closed port at exit, and the process lingers)."""
    APILogWorker.drain_all(timeout=timeout_s)
    EventsWorker.drain_all(timeout=timeout_s)


@contextmanager
def prefect_api() -> Iterator[str]:
    """The Prefect API that flows in this block report to: the configured one, else a local server started
    for the block and stopped with it (also when this process is killed: the leash stops it), without
    flow-run heartbeats."""
    configured = configured_api_url()
    if configured:
        yield configured
        return
    with PrefectServer(port=free_port()) as server:
        before = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = server.api_url  # for subprocesses (workers, Dask) too
        os.environ[PRIVATE_API_ENV] = server.api_url  # no other run shares it: limits need not apply
        try:
            # No flow-run heartbeats: they let a shared server mark a killed run Crashed, but this server dies
            # with the run, and stopping the heartbeat thread costs each flow run up to 1 s at its end.
            with temporary_settings({PREFECT_API_URL: server.api_url, "flows.heartbeat_frequency": None}):
                try:
                    yield server.api_url
                finally:
                    drain_to_server()
        finally:
            os.environ.pop(PRIVATE_API_ENV, None)
            if before is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = before
