"""--budget-usd: answers are charged, nothing is sent once the budget is spent, the error is one line."""

from __future__ import annotations

import pytest
from scripted_api import Reply, ScriptedServer, message

from skillfoundry.config import Settings
from skillfoundry.llm.budget import Budget, BudgetExceededError
from skillfoundry.llm.pricing import CLAUDE_PRICES
from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.student import ChatRequest, complete_sync


def test_no_request_is_sent_once_the_budget_is_spent(scripted: ScriptedServer) -> None:
    scripted.add(*(Reply(body=message([{"type": "text", "text": f"a{i}"}], "end_turn", input_tokens=100_000,
                                      output_tokens=1000)) for i in range(5)))
    price = CLAUDE_PRICES["claude-haiku-4-5"]
    one = (100_000 * price.input_per_mtok + 1000 * price.output_per_mtok) / 1e6
    budget = Budget(limit_usd=1.5 * one)  # room for two answers: the second crosses the limit
    endpoint = scripted.endpoint("anthropic:claude-haiku-4-5", "anthropic")
    jobs = [(endpoint, ChatRequest(key=f"k{i}", prompt="hi", seed=i)) for i in range(5)]
    results = complete_sync(jobs, concurrency=1, policy=RetryPolicy(), budget=budget).results
    assert [r.text for r in results[:2]] == ["a0", "a1"] and all(r.cost_usd == pytest.approx(one) for r in results[:2])
    assert [r.unsent for r in results] == [False, False, True, True, True] and len(scripted.requests) == 2
    assert budget.spent_usd == pytest.approx(2 * one) and budget.exhausted
    with pytest.raises(BudgetExceededError, match=r"budget reached: \$.* spent of --budget-usd .* before extraction") as err:
        budget.check("extraction")
    assert "\n" not in str(err.value) and "resume" in str(err.value)


def test_no_budget_never_stops_and_free_models_cost_nothing() -> None:
    budget = Budget(limit_usd=None)
    budget.charge(10**6)
    budget.check("anything")
    assert Settings().budget_usd is None
    with pytest.raises(ValueError):
        Settings(budget_usd=-1)


def test_a_budget_travels_to_another_process() -> None:
    import pickle

    budget = Budget(limit_usd=2.0)
    budget.charge(1.5)
    copy = pickle.loads(pickle.dumps(budget))
    copy.charge(0.5)
    assert (copy.limit_usd, copy.spent_usd, copy.exhausted) == (2.0, 2.0, True)
