"""Model prices in USD per million tokens (input, output), used by the catalog's ``cost`` view.

Keys are bare model names (``anthropic:claude-opus-4-5`` and ``claude-opus-4-5`` both match
``claude-opus-4-5``) or full model specs (an exact match wins). List prices come from
``skillfoundry.llm.pricing``; pass ``prices=`` to ``catalog`` to add or override any of them. Models
that run on your own hardware (local, vllm, openai-compatible servers) cost 0 unless priced.
"""

from __future__ import annotations

from collections.abc import Mapping

from skillfoundry.llm.pricing import CLAUDE_PRICES

Price = tuple[float, float]

#: One price list for the whole product: the one the teacher's trace costs are computed with.
DEFAULT_PRICES: dict[str, Price] = {
    name: (price.input_per_mtok, price.output_per_mtok) for name, price in CLAUDE_PRICES.items()
}


def price_table(overrides: Mapping[str, Price] | None) -> dict[str, Price]:
    """The default prices with the user's entries added or replacing them."""
    table = dict(DEFAULT_PRICES)
    for model, price in (overrides or {}).items():
        usd_in, usd_out = price
        table[model] = (float(usd_in), float(usd_out))
    return table
