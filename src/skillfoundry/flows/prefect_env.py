"""Prefect settings for the Prefect that skillfoundry starts itself (its ephemeral server, `skillfoundry ui`).

Applied to the environment before Prefect is imported, so they reach Prefect's client and the server
subprocess it spawns. Analytics stay off unless the user opted in by setting
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
# Prefect counts only its own 0.1 s sleeps against this (default 20); a loaded machine needs longer.
STARTUP_TIMEOUT = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}


def prefect_defaults(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings to add to ``environ``: never one the user set, no analytics ones if they set the switch."""
    wanted = {**({} if ANALYTICS_SETTING in environ else ANALYTICS_OFF), **STARTUP_TIMEOUT}
    return {key: value for key, value in wanted.items() if key not in environ}


def apply_prefect_defaults(environ: MutableMapping[str, str] = os.environ) -> None:
    """Add ``prefect_defaults`` to ``environ`` (the process environment by default)."""
    environ.update(prefect_defaults(environ))
