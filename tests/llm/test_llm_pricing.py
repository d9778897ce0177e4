"""Dollar costs from the price table."""

from __future__ import annotations

import logging

import pytest

from skillfoundry.llm.pricing import CLAUDE_PRICES, Price, cost_usd, price_for
from skillfoundry.llm.spec import ModelSpec


def test_claude_cost_uses_table_and_cache_factors() -> None:
    spec = ModelSpec.parse("anthropic:claude-sonnet-4-5")
    price = CLAUDE_PRICES["claude-sonnet-4-5"]
    got = cost_usd(spec, input_tokens=2_000_000, output_tokens=1_000_000,
                   cache_write_tokens=1_000_000, cache_read_tokens=1_000_000)
    assert got == pytest.approx(2 * price.input_per_mtok + price.output_per_mtok
                                + 1.25 * price.input_per_mtok + 0.1 * price.input_per_mtok)


@pytest.mark.parametrize("model", ["claude-haiku-4-5-20251001", "claude-haiku-4-5-latest"])
def test_dated_ids_match_their_family(model: str) -> None:
    assert price_for(ModelSpec.parse(f"anthropic:{model}")) == CLAUDE_PRICES["claude-haiku-4-5"]


@pytest.mark.parametrize("spec", ["local", "vllm:x", "openai:m@http://127.0.0.1:1/v1"])
def test_non_anthropic_models_are_free(spec: str) -> None:
    assert cost_usd(ModelSpec.parse(spec), input_tokens=10**6, output_tokens=10**6) == 0.0


def test_user_prices_override_and_unknown_model_warns(caplog: pytest.LogCaptureFixture) -> None:
    spec = ModelSpec.parse("anthropic:claude-future-9")
    mine = {"claude-future-9": Price(input_per_mtok=2.0, output_per_mtok=4.0)}
    assert cost_usd(spec, input_tokens=500_000, output_tokens=250_000, prices=mine) == pytest.approx(2.0)
    with caplog.at_level(logging.WARNING):
        assert cost_usd(spec, input_tokens=10, output_tokens=10) == 0.0
    assert "no price for anthropic:claude-future-9" in caplog.text
