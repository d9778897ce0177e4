"""Retries that resume: the nightly run id is the flow run's (the same on a retry); tasks retry transient
errors only; flow runs are named for what they do. Against a real Prefect server."""

from __future__ import annotations

import httpx
import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from skillfoundry.flows.naming import nightly_run_id, nightly_run_name
from skillfoundry.flows.nightly import FLOW_RETRIES, nightly_distill
from skillfoundry.flows.retry import is_transient, retry_if_transient


@pytest.fixture(autouse=True)
def _server(prefect_server) -> None:
    """Every test here talks to the session's Prefect server."""


def test_a_retried_flow_run_keeps_its_run_id() -> None:
    seen: list[tuple[str, str]] = []

    @flow(retries=1, retry_delay_seconds=0, flow_run_name=nightly_run_name)
    def flaky() -> str:
        seen.append((nightly_run_id(), str(flow_run.id)))
        if len(seen) == 1:
            raise ConnectionError("the night's first attempt died")
        return nightly_run_id()

    final = flaky()
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert final == f"nightly-{seen[0][1]}"


def test_flow_runs_are_named_for_what_they_do() -> None:
    @flow(flow_run_name=nightly_run_name)
    def named(students: list[str] | None = None) -> str:
        return str(flow_run.id)

    run_id = named(students=["local", "anthropic:claude-haiku-4-5"])

    async def read_name() -> str:
        async with get_client() as client:
            return (await client.read_flow_run(run_id)).name

    import asyncio

    name = asyncio.run(read_name())
    assert name.startswith("nightly cuda: local, anthropic:claude-haiku-4-5 on 20")


def test_the_nightly_flow_retries_and_names_its_runs() -> None:
    assert nightly_distill.retries == FLOW_RETRIES >= 1
    assert nightly_distill.flow_run_name is nightly_run_name


def test_tasks_retry_transient_errors_only() -> None:
    calls = {"transient": 0, "bug": 0}

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=retry_if_transient)
    def dropped_once() -> str:
        calls["transient"] += 1
        if calls["transient"] == 1:
            raise httpx.ConnectError("connection refused")
        return "ok"

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=retry_if_transient)
    def buggy() -> None:
        calls["bug"] += 1
        raise ValueError("bad case file")

    @flow
    def both() -> str:
        out = dropped_once()
        try:
            buggy()
        except ValueError:
            pass
        return out

    assert both() == "ok"
    assert calls == {"transient": 2, "bug": 1}


def test_transient_means_network_timeout_rate_limit_or_server_error() -> None:
    assert is_transient(TimeoutError()) and is_transient(ConnectionResetError()) and is_transient(httpx.ReadTimeout("t"))
    assert not is_transient(ValueError()) and not is_transient(KeyError("x")) and not is_transient(RuntimeError())
