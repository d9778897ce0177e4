"""Per-endpoint retry policy: which failures are worth another try, and how long to wait before it.

Retried: HTTP 408, 409, 429, 5xx (Anthropic's 529 included), dropped or refused connections and
attempts that ran past their timeout. The wait is exponential backoff with full jitter, never shorter
than the server's ``retry-after-ms``/``retry-after``; no attempt starts or runs past the policy's
total deadline, counted from the request's first send (never from when it was queued).
"""

from __future__ import annotations

import email.utils
import random
import sys
import time

import httpx
from pydantic import BaseModel, ConfigDict, Field

RETRY_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER_S = 120.0


class RetryPolicy(BaseModel):
    """How hard to try one request on one endpoint."""

    model_config = ConfigDict(frozen=True)

    attempts: int = Field(default=6, ge=1, description="tries per request, the first included")
    timeout_s: float = Field(default=300.0, gt=0, description="one attempt, from when it is sent")
    deadline_s: float = Field(default=900.0, gt=0, description="all attempts of a request, from its first send")
    backoff_s: float = Field(default=0.5, gt=0, description="first backoff; doubles per retry")
    max_backoff_s: float = Field(default=20.0, gt=0)
    breaker_refusals: int = Field(default=3, ge=1, description="refused connections in a row that declare a server down")


def _sdk_errors(name: str) -> tuple[type[BaseException], ...]:
    """The SDKs' error classes called ``name``, from the SDKs already imported (an error can only come
    from one that is; importing them here would cost every command a second)."""
    return tuple(getattr(sdk, name) for sdk in (sys.modules.get("openai"), sys.modules.get("anthropic")) if sdk)


def status_of(err: BaseException) -> int | None:
    """The HTTP status of an SDK status error, else None."""
    if isinstance(err, _sdk_errors("APIStatusError")):
        return int(err.status_code)  # type: ignore[attr-defined]
    return None


def is_retryable(err: BaseException) -> bool:
    """Whether another attempt may succeed: rate limits, overload, server errors, lost connections, timeouts."""
    status = status_of(err)
    if status is not None:
        return status in RETRY_STATUSES or status >= 500
    return isinstance(err, (TimeoutError, *_sdk_errors("APIConnectionError")))


def is_refused(err: BaseException) -> bool:
    """Whether the connection could not even be opened (nothing listens there): a sign the server is down."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionRefusedError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after_s(err: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``: seconds or an HTTP date)."""
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return min(max(float(ms) / 1000, 0.0), MAX_RETRY_AFTER_S)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER_S)


def backoff_s(policy: RetryPolicy, retry: int, retry_after: float | None, rng: random.Random) -> float:
    """Wait before retry number ``retry`` (1 = the first retry): full jitter over the exponential step,
    at least what the server asked for."""
    step = min(policy.max_backoff_s, policy.backoff_s * 2 ** (retry - 1))
    jittered = rng.uniform(step / 2, step)
    return max(jittered, retry_after or 0.0)
