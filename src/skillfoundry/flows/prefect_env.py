"""Prefect settings for the Prefect that skillfoundry starts itself (a run's local server, `skillfoundry ui`,
its worker).

Applied to the CLI's environment before Prefect is imported, so they reach Prefect's client, and passed
to the server and worker processes it starts. Analytics stay off unless the user opted in by setting
``PREFECT_SERVER_ANALYTICS_ENABLED`` themselves: the project's local server has no business phoning home,
and on a fresh database Prefect's telemetry service reads then writes its session row in one deferred
SQLite transaction, which fails with "database is locked" when the flow's first writes land in between.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

ANALYTICS_SETTING = "PREFECT_SERVER_ANALYTICS_ENABLED"
ANALYTICS_OFF = {
    ANALYTICS_SETTING: "false",  # the server's telemetry heartbeat and its SQLite session row
    "DO_NOT_TRACK": "1",  # Prefect's client-side (SDK) analytics
}


def prefect_defaults(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings to add to ``environ``: never one the user set, no analytics ones if they set the switch."""
    if ANALYTICS_SETTING in environ:
        return {}
    return {key: value for key, value in ANALYTICS_OFF.items() if key not in environ}


def apply_prefect_defaults(environ: MutableMapping[str, str] = os.environ) -> None:
    """Add ``prefect_defaults`` to ``environ`` (the process environment by default)."""
    environ.update(prefect_defaults(environ))
