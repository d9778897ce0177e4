"""Prefect global concurrency limits per provider and server, shared by every run on one Prefect server.

Two overlapping runs that send requests to one model server, or jobs to one GPU, must never overload it:
each request holds a slot of the limit named for its server (``anthropic``, ``server-127.0.0.1-8000``, ...)
and each GPU job a slot of ``gpu``, for as long as it runs. Limits are created (active) when missing; a
limit that exists is left as the user set it (``prefect gcl update NAME --limit N``).

They are enforced when runs share a Prefect server (``PREFECT_API_URL``, a profile, Prefect Cloud, a
worker's deployment runs). A run without one gets a private local server that no other run can see, so
its limits would bound nothing and only cost two API calls a request: ``prefect_api`` names that server
in ``PRIVATE_API_ENV`` and ``enforced`` is then False.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from urllib.parse import urlsplit

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.asyncio import concurrency as async_concurrency
from prefect.concurrency.sync import concurrency as sync_concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from pydantic import BaseModel, Field

from skillfoundry.llm.spec import Endpoint

GPU_LIMIT = "gpu"
ANTHROPIC_LIMIT = "anthropic"
LEASE_S = 600.0  # a slot of a process that died is freed when its lease runs out


class Limit(BaseModel):
    """A named global concurrency limit and the slots it gets when the project creates it."""

    name: str = Field(pattern=r"^[A-Za-z0-9._:-]+$")
    slots: int = Field(ge=1)


def server_limit_name(base_url: str) -> str:
    """``http://127.0.0.1:8000/v1`` -> ``server-127.0.0.1-8000``: one limit per server, whatever its path."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise ValueError(f"base URL {base_url!r}: expected http(s)://HOST[:PORT]")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return "server-" + re.sub(r"[^A-Za-z0-9.-]", "-", parts.hostname) + f"-{port}"


def endpoint_limit(endpoint: Endpoint, slots: int) -> Limit:
    """The limit every request to ``endpoint`` holds a slot of: per provider for Anthropic, per server else."""
    if endpoint.api == "anthropic" and endpoint.spec.provider == "anthropic":
        return Limit(name=ANTHROPIC_LIMIT, slots=slots)
    if not endpoint.base_url:
        raise ValueError(f"model {endpoint.spec}: no base URL to name its server's limit after")
    return Limit(name=server_limit_name(endpoint.base_url), slots=slots)


def gpu_limit(slots: int = 1) -> Limit:
    """The limit GPU jobs hold (one job on the GPU at a time unless the user raises it)."""
    return Limit(name=GPU_LIMIT, slots=slots)


_ENSURED: set[tuple[str, str]] = set()


async def ensure_limit(limit: Limit) -> bool:
    """Create the limit (active) when the Prefect server lacks it; True when created."""
    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(limit.name)
            return False
        except ObjectNotFound:
            pass
        try:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=limit.name, limit=limit.slots, active=True)
            )
        except ObjectAlreadyExists:  # another run created it first
            return False
        return True


async def _ensure_once(limit: Limit) -> None:
    """``ensure_limit`` once per limit and Prefect API in this process."""
    from prefect.settings import get_current_settings

    key = (str(get_current_settings().api.url), limit.name)
    if key not in _ENSURED:
        await ensure_limit(limit)
        _ENSURED.add(key)


@asynccontextmanager
async def holding(limit: Limit, occupy: int = 1) -> AsyncIterator[None]:
    """Hold ``occupy`` slots of ``limit`` for the block, waiting for them; create the limit when missing."""
    await _ensure_once(limit)
    async with async_concurrency(limit.name, occupy=occupy, lease_duration=LEASE_S, strict=True):
        yield


@contextmanager
def holding_sync(limit: Limit, occupy: int = 1) -> Iterator[None]:
    """``holding`` for synchronous code (GPU jobs, batches run from a thread)."""
    from prefect.utilities.asyncutils import run_coro_as_sync

    run_coro_as_sync(_ensure_once(limit))
    with sync_concurrency(limit.name, occupy=occupy, lease_duration=LEASE_S, strict=True):
        yield


def enforced() -> bool:
    """True when this process reports to a Prefect server other runs can share (see the module doc)."""
    from skillfoundry.flows.prefect_server import PRIVATE_API_ENV, configured_api_url

    api = configured_api_url()
    return bool(api) and api != os.environ.get(PRIVATE_API_ENV)


def request_slots(concurrency: int) -> Callable[[Endpoint], AbstractAsyncContextManager[None]] | None:
    """The ``slot`` hook of the student scheduler: one slot of the endpoint's limit per request in flight,
    the limit created with the server's slots (else ``concurrency``); None when limits are not enforced."""
    if not enforced():
        return None
    return lambda endpoint: holding(endpoint_limit(endpoint, endpoint.slots or concurrency))


def gpu_slot() -> Callable[[], AbstractContextManager[None]] | None:
    """The hook GPU jobs are run under (one slot of ``gpu``); None when limits are not enforced."""
    if not enforced():
        return None
    return lambda: holding_sync(gpu_limit())
