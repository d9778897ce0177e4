"""Model prices in USD per million tokens (input, output), used by the catalog's ``cost`` view.

Keys are bare model names (``anthropic:claude-opus-4-5`` and ``claude-opus-4-5`` both match
``claude-opus-4-5``) or full model specs (an exact match wins). List prices as published by
Anthropic in 2025-11; pass ``prices=`` to ``catalog`` to add or override any of them. Models that
run on your own hardware (local, vllm, openai-compatible servers) cost 0 unless priced.
"""

from __future__ import annotations

from collections.abc import Mapping

Price = tuple[float, float]

DEFAULT_PRICES: dict[str, Price] = {
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
}


def price_table(overrides: Mapping[str, Price] | None) -> dict[str, Price]:
    """The default prices with the user's entries added or replacing them."""
    table = dict(DEFAULT_PRICES)
    for model, price in (overrides or {}).items():
        usd_in, usd_out = price
        table[model] = (float(usd_in), float(usd_out))
    return table
