"""Pure pieces of the pipeline: the train/test split, request planning, generation rows, extraction drafts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.domain import cuda
from skillfoundry.evaluation import (
    CaseRef,
    Sampling,
    generation_id,
    plan,
    student_prompt,
    system_prompt,
    to_generations,
)
from skillfoundry.kernels.problems import list_problems
from skillfoundry.llm.student import ChatResult
from skillfoundry.skills.extract import SkillDraft, condense_trace, draft_to_skill
from skillfoundry.skills.model import ContainsCheck, Skill, TestCase
from skillfoundry.skills.validate import validate_skill

SKILL = Skill(name="tile-it", description="Tile loops.", body="1. Tile.\n")
SAMPLING = Sampling(temperature=0.7, max_tokens=64, seed=10)


def case(i: int, **kw: object) -> CaseRef:
    c = TestCase(id=f"c{i}", prompt=f"task {i}", checks=[ContainsCheck(values=["x"])], **kw)
    return CaseRef(case_id=c.case_id(), case=c)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_train=st.integers(1, 4), n_test=st.integers(1, 10))
def test_split_is_deterministic_and_disjoint(seed: int, n_train: int, n_test: int) -> None:
    problems = list_problems()
    train, test = cuda.split_problems(problems, seed=seed, n_train=n_train, n_test=n_test)
    again = cuda.split_problems(problems, seed=seed, n_train=n_train, n_test=n_test)
    assert (train, test) == again
    assert len(train) == n_train and len(test) == n_test
    assert not {p.id for p in train} & {p.id for p in test}


def test_split_larger_than_the_suite_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match="cases: asked for 1 train \\+ 999 test problems"):
        cuda.split_problems(list_problems(), seed=0, n_train=1, n_test=999)


def test_plan_asks_each_case_once_per_epoch_with_its_own_seed() -> None:
    planned = plan([case(1), case(2)], skill=SKILL, epochs=[0, 1, 2], sampling=SAMPLING)
    assert [(p.case_id, p.epoch, p.seed) for p in planned] == [
        (c.case_id, e, 10 + e) for c in (case(1), case(2)) for e in (0, 1, 2)
    ]
    assert all("tile-it" in p.request.system for p in planned)


def test_only_the_skill_differs_between_conditions() -> None:
    base, with_skill = system_prompt(None), system_prompt(SKILL)
    assert with_skill.startswith(base) and "name: tile-it" in with_skill and "tile-it" not in base


def test_case_files_are_shown_to_the_student() -> None:
    c = TestCase(id="f", prompt="Fix it.", files={"a.py": "print(1)"}, checks=[ContainsCheck(values=["x"])])
    assert student_prompt(c) == 'Fix it.\n\n<file path="a.py">\nprint(1)\n</file>'


def test_case_ids_do_not_depend_on_the_skill_so_baselines_are_shared() -> None:
    assert case(1).case_id == case(1).case_id != case(2).case_id


def test_generation_rows_pair_requests_with_results_in_order() -> None:
    planned = plan([case(1)], skill=None, epochs=[0, 1], sampling=SAMPLING)
    results = [
        ChatResult(key="a", text="ok", input_tokens=3, output_tokens=2, latency_s=0.1),
        ChatResult(key="b", text="", input_tokens=0, output_tokens=0, latency_s=5.0, error="boom", error_kind="timeout"),
    ]
    rows = to_generations("r", "local", "baseline", None, planned, results, SAMPLING.key())
    assert [(r.epoch, r.text, r.error_kind) for r in rows] == [(0, "ok", None), (1, "", "timeout")]
    assert rows[0].gen_id == generation_id("r", "local", planned[0].case_id, None, 0, SAMPLING.key())
    assert len({r.gen_id for r in rows}) == 2


def test_sampling_key_changes_with_any_setting() -> None:
    keys = {Sampling(temperature=t, max_tokens=m, seed=s).key() for t in (0.0, 0.7) for m in (64, 128) for s in (0, 1)}
    assert len(keys) == 8


@settings(max_examples=50, deadline=None)
@given(
    name=st.from_regex(r"^[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}$", fullmatch=True),
    description=st.text(min_size=1, max_size=200).filter(str.strip),
    body=st.text(min_size=1, max_size=300).filter(str.strip),
)
def test_any_schema_valid_draft_becomes_a_spec_valid_skill(name: str, description: str, body: str) -> None:
    draft = SkillDraft(name=name, description=description, body=body, cases=[])
    skill, cases = draft_to_skill(draft, source="local")
    errors = [f for f in validate_skill(skill, folder_name=skill.name) if f.severity == "error"]
    assert errors == [] and cases == []


def test_condensed_trace_keeps_tool_calls_and_clips() -> None:
    messages = [
        {"role": "user", "content": "write a kernel"},
        {"role": "assistant", "content": [{"type": "tool_use", "name": "compile_kernel", "input": {"source": "x"}}]},
        {"role": "user", "content": [{"type": "tool_result", "content": "ok" * 10_000}]},
    ]
    text = condense_trace(messages, limit=1_000)
    assert "[tool call compile_kernel]" in condense_trace(messages) and json.dumps({"source": "x"}) in text
    assert len(text) <= 1_000 + len("\n[...]\n")


def test_teacher_tools_compile_for_real_and_hide_the_test_problems(tmp_path) -> None:
    train, test = cuda.split_problems(list_problems(), seed=0, n_train=1, n_test=3)
    tools = {t.name: t for t in cuda.teacher_tools(train[0], tmp_path)}
    assert set(tools) == {"compile_kernel", "run_tests", "read_file"}
    report = json.loads(tools["compile_kernel"].fn({"source": train[0].solution_source}))
    assert report["ok"] is True and report["static_findings"] == []
    broken = json.loads(tools["compile_kernel"].fn({"source": "__global__ void k( {"}))
    assert broken["ok"] is False and broken["log"]
    assert tools["read_file"].fn({"path": f"problems/{train[0].id}.md"}) == train[0].prompt
    for held_out in test:
        answer = tools["read_file"].fn({"path": f"problems/{held_out.id}.md"})
        assert answer.startswith("no such file") and held_out.prompt not in answer
        assert held_out.id not in answer.split("available:")[1]
