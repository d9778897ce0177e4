"""Which task failures are worth a retry: transient infrastructure errors only, never a bug or bad input."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai

# A connection refused, a dropped connection, a timeout, a rate limit or a 5xx can succeed on a second try;
# a ValueError, a bad request or a failed check will fail the same way again.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    httpx.TransportError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
    anthropic.APIConnectionError,
    anthropic.RateLimitError,
    anthropic.InternalServerError,
)


def is_transient(error: BaseException) -> bool:
    """True for errors a retry may clear (network, timeouts, rate limits, server errors)."""
    return isinstance(error, TRANSIENT_ERRORS)


def retry_if_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` for Prefect tasks: retry only when the failure was transient."""
    try:
        state.result(raise_on_failure=True)
    except BaseException as error:  # noqa: BLE001 - the state carries whatever the task raised
        return is_transient(error)
    return False
