"""Reading a flow run back from the test session's Prefect server."""

from __future__ import annotations

import asyncio
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType


async def read(flow_run_id: UUID) -> FlowRun:
    async with get_client() as client:
        return await client.read_flow_run(flow_run_id)


def state_of(flow_run_id: UUID) -> StateType:
    return asyncio.run(read(flow_run_id)).state.type


def state_history(flow_run_id: UUID) -> list[str]:
    async def states() -> list[str]:
        async with get_client() as client:
            return [s.type.value for s in await client.read_flow_run_states(flow_run_id)]

    return asyncio.run(states())
