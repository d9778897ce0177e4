"""Model prices (USD per million tokens) and the dollar cost of a call.

Local, openai-compatible and vLLM models cost 0 here; Claude models are priced from ``CLAUDE_PRICES``
(list prices; pass your own mapping to override or extend it). Cache writes cost 1.25x and cache
reads 0.1x the input price, as Anthropic bills them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from skillfoundry.llm.spec import ModelSpec

log = logging.getLogger(__name__)


class Price(BaseModel):
    """USD per million input and output tokens."""

    model_config = ConfigDict(frozen=True)

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


_P = Price
# List prices per MTok from the platform.claude.com model pages (checked 2026-11); extend with ``prices=``.
CLAUDE_PRICES: dict[str, Price] = {
    "claude-fable-5-1": _P(input_per_mtok=10.0, output_per_mtok=50.0),
    "claude-opus-5-5": _P(input_per_mtok=4.0, output_per_mtok=20.0),
    "claude-sonnet-5-5": _P(input_per_mtok=2.0, output_per_mtok=10.0),
    "claude-opus-5": _P(input_per_mtok=5.0, output_per_mtok=25.0),
    "claude-opus-4-8": _P(input_per_mtok=5.0, output_per_mtok=25.0),
    "claude-opus-4-7": _P(input_per_mtok=5.0, output_per_mtok=25.0),
    "claude-opus-4-6": _P(input_per_mtok=5.0, output_per_mtok=25.0),
    "claude-opus-4-5": _P(input_per_mtok=5.0, output_per_mtok=25.0),
    "claude-opus-4-1": _P(input_per_mtok=15.0, output_per_mtok=75.0),
    "claude-opus-4": _P(input_per_mtok=15.0, output_per_mtok=75.0),
    "claude-sonnet-4-6": _P(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-sonnet-4-5": _P(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-sonnet-4": _P(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-3-7-sonnet": _P(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-haiku-4-5": _P(input_per_mtok=1.0, output_per_mtok=5.0),
    "claude-3-5-haiku": _P(input_per_mtok=0.8, output_per_mtok=4.0),
    "claude-3-haiku": _P(input_per_mtok=0.25, output_per_mtok=1.25),
}
_VERSION_SUFFIX = re.compile(r"-(\d{8}|latest)$")
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1


def price_for(spec: ModelSpec, prices: Mapping[str, Price] | None = None) -> Price | None:
    """The price of ``spec``: 0 for non-Anthropic models; for Claude the table entry of the model
    name without a ``-YYYYMMDD`` or ``-latest`` suffix; None when the table has none."""
    if spec.provider != "anthropic":
        return Price(input_per_mtok=0.0, output_per_mtok=0.0)
    table = CLAUDE_PRICES if prices is None else prices
    return table.get(spec.model) or table.get(_VERSION_SUFFIX.sub("", spec.model))


def cost_usd(
    spec: ModelSpec,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    prices: Mapping[str, Price] | None = None,
) -> float:
    """Dollar cost of one call; an unpriced Claude model costs 0 and logs a warning."""
    price = price_for(spec, prices)
    if price is None:
        log.warning("no price for %s: cost counted as 0 (pass prices={...} to set one)", spec)
        return 0.0
    billed_input = input_tokens + CACHE_WRITE_FACTOR * cache_write_tokens + CACHE_READ_FACTOR * cache_read_tokens
    return (billed_input * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1_000_000
