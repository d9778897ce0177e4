"""SDK clients for an Endpoint: one place that knows base URLs, keys, timeouts and retries.

The SDKs retry 408/409/429/5xx (Anthropic's 529 included) with exponential backoff and jitter and
honour ``retry-after``/``retry-after-ms``; ``max_retries`` sets how many times.
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai

from skillfoundry.llm.spec import Endpoint


def openai_base_url(endpoint: Endpoint) -> str:
    """The OpenAI API base (``<root>/v1``) of an endpoint."""
    if endpoint.base_url is None:
        raise ValueError(f"model {endpoint.spec}: an OpenAI-compatible endpoint needs a base_url")
    return endpoint.base_url + "/v1"


def anthropic_client(endpoint: Endpoint, *, timeout_s: float, max_retries: int) -> anthropic.Anthropic:
    """A sync Messages-API client (``base_url`` None means api.anthropic.com)."""
    return anthropic.Anthropic(
        base_url=endpoint.base_url, api_key=endpoint.api_key, timeout=timeout_s, max_retries=max_retries
    )


def async_anthropic_client(endpoint: Endpoint, *, timeout_s: float, max_retries: int) -> anthropic.AsyncAnthropic:
    """An asyncio Messages-API client."""
    return anthropic.AsyncAnthropic(
        base_url=endpoint.base_url, api_key=endpoint.api_key, timeout=timeout_s, max_retries=max_retries
    )


def openai_client(endpoint: Endpoint, *, timeout_s: float, max_retries: int) -> openai.OpenAI:
    """A sync OpenAI-compatible client."""
    return openai.OpenAI(
        base_url=openai_base_url(endpoint), api_key=endpoint.api_key, timeout=timeout_s, max_retries=max_retries
    )


def async_openai_client(endpoint: Endpoint, *, timeout_s: float, max_retries: int) -> openai.AsyncOpenAI:
    """An asyncio OpenAI-compatible client."""
    return openai.AsyncOpenAI(
        base_url=openai_base_url(endpoint), api_key=endpoint.api_key, timeout=timeout_s, max_retries=max_retries
    )


def anthropic_sampling(temperature: float | None) -> dict[str, Any]:
    """Messages-API sampling options this SDK version has no parameter for, sent in the request body."""
    return {} if temperature is None else {"extra_body": {"temperature": temperature}}


def anthropic_usage(usage: Any) -> tuple[int, int, int, int]:
    """(input, output, cache write, cache read) tokens of a Messages-API usage object."""
    return (
        usage.input_tokens or 0,
        usage.output_tokens or 0,
        getattr(usage, "cache_creation_input_tokens", None) or 0,
        getattr(usage, "cache_read_input_tokens", None) or 0,
    )
