"""Where a flow's fan-out runs: threads in this process (the default) or a Dask cluster via prefect-dask.

``--task-runner dask`` starts a local cluster of two worker processes; ``--task-runner dask=tcp://HOST:8786``
uses an existing scheduler. Workers write to the same data dir, so it must be a path (or URL) every worker
sees, and the model servers must be reachable from the workers (a loopback server is, on one machine only).
"""

from __future__ import annotations

from typing import Any

from prefect import Flow
from prefect.task_runners import TaskRunner

LOCAL_WORKERS = 2


class TaskRunnerError(ValueError):
    """A --task-runner value that is not ``threads``, ``dask`` or ``dask=ADDRESS``."""


def task_runner_from(spec: str | None) -> TaskRunner[Any] | None:
    """The task runner a ``--task-runner`` value names; None for the flow's own (threads)."""
    if spec is None or spec == "threads":
        return None
    kind, sep, address = spec.partition("=")
    if kind != "dask" or (sep and not address):
        raise TaskRunnerError(f"--task-runner {spec!r}: expected 'threads', 'dask' or 'dask=tcp://HOST:PORT'")
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise TaskRunnerError("--task-runner dask needs prefect-dask: pip install 'skillfoundry[dask]'") from None
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": LOCAL_WORKERS, "threads_per_worker": 4, "processes": True, "dashboard_address": None}
    )


def on_runner(flow: Flow[Any, Any], spec: str | None) -> Flow[Any, Any]:
    """``flow`` with the task runner ``spec`` names (the flow itself for the default)."""
    runner = task_runner_from(spec)
    return flow if runner is None else flow.with_options(task_runner=runner)
