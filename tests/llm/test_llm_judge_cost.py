"""The judge's calls are recorded per call (tokens, USD, model), counted in the run's cost and charged
to --budget-usd: past the budget no judge call is sent, what was graded is stored, the run stops."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripted_api import Reply, ScriptedServer, message

from skillfoundry.evaluation import CaseRef
from skillfoundry.llm.budget import Budget, BudgetExceededError
from skillfoundry.llm.pricing import CLAUDE_PRICES
from skillfoundry.skills.model import JudgeCheck, TestCase
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.records import GenerationRecord
from skillfoundry.storage.resume import spent_usd
from skillfoundry.tasks import steps

JUDGE = "anthropic:claude-haiku-4-5"
TOKENS_IN, TOKENS_OUT = 100_000, 1000
PRICE = CLAUDE_PRICES["claude-haiku-4-5"]
ONE_CALL = (TOKENS_IN * PRICE.input_per_mtok + TOKENS_OUT * PRICE.output_per_mtok) / 1e6


def verdict_reply(verdict: str) -> Reply:
    use = {"type": "tool_use", "id": "toolu_1", "name": "Verdict", "input": {"reason": "checked", "verdict": verdict}}
    return Reply(body=message([use], "tool_use", input_tokens=TOKENS_IN, output_tokens=TOKENS_OUT))


def generation(i: int) -> GenerationRecord:
    return GenerationRecord(
        run_id="r", gen_id=f"g{i}", case_id="c", skill_id=None, condition="baseline", model="local", epoch=i,
        seed=i, sampling_key="k", text=f"answer {i}", input_tokens=10, output_tokens=5, latency_s=0.1,
    )


def test_judge_calls_are_stored_costed_and_stop_at_the_budget(scripted: ScriptedServer, tmp_path: Path) -> None:
    scripted.add(verdict_reply("meets"), verdict_reply("fails"), verdict_reply("meets"))
    case = CaseRef(case_id="c", case=TestCase(id="c", prompt="Explain tiling.", checks=[JudgeCheck(rubric="tiling")]))
    budget = Budget(limit_usd=1.5 * ONE_CALL)  # the second call crosses the limit; the third is not sent
    with pytest.raises(BudgetExceededError, match=r"budget reached: .* before 1 judge calls; resume") as err:
        steps.grade.fn([generation(i) for i in range(3)], [case], data_dir=tmp_path, cache_dir=tmp_path / "cache",
                       judge=scripted.endpoint(JUDGE, "anthropic"), budget=budget)
    assert "\n" not in str(err.value) and len(scripted.requests) == 2
    assert budget.spent_usd == pytest.approx(2 * ONE_CALL)

    con = catalog(tmp_path)
    rows = con.execute(
        "SELECT gen_id, passed, infra_error, model, input_tokens, output_tokens, cost_usd FROM grades ORDER BY gen_id"
    ).fetchall()
    assert [r[:3] for r in rows] == [("g0", True, False), ("g1", False, False), ("g2", False, True)]
    assert [r[3:6] for r in rows] == [(JUDGE, TOKENS_IN, TOKENS_OUT)] * 2 + [(None, None, None)]
    assert rows[0][6] == pytest.approx(ONE_CALL) and rows[2][6] is None
    cost = con.execute("SELECT model, input_tokens, output_tokens, usd FROM cost WHERE role = 'judge'").fetchall()
    assert cost == [(JUDGE, 2 * TOKENS_IN, 2 * TOKENS_OUT, pytest.approx(2 * ONE_CALL))]
    assert spent_usd(tmp_path, "r") == pytest.approx(2 * ONE_CALL)  # what a resume starts its budget from


def test_a_judge_reply_that_never_validates_is_still_paid_for(scripted: ScriptedServer, tmp_path: Path) -> None:
    bad = Reply(body=message([{"type": "text", "text": "no tool call"}], "end_turn", input_tokens=TOKENS_IN,
                             output_tokens=TOKENS_OUT))
    scripted.add(bad, bad)
    case = CaseRef(case_id="c", case=TestCase(id="c", prompt="p", checks=[JudgeCheck(rubric="tiling")]))
    budget = Budget(limit_usd=None)
    steps.grade.fn([generation(0)], [case], data_dir=tmp_path, cache_dir=tmp_path / "cache",
                   judge=scripted.endpoint(JUDGE, "anthropic"), budget=budget)
    (row,) = catalog(tmp_path).execute("SELECT infra_error, input_tokens, cost_usd FROM grades").fetchall()
    assert row[:2] == (True, 2 * TOKENS_IN) and row[2] == pytest.approx(2 * ONE_CALL)
    assert budget.spent_usd == pytest.approx(2 * ONE_CALL)
