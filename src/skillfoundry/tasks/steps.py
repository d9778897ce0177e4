"""Prefect tasks: thin wrappers that call the pipeline modules and store what they return."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run
from pydantic import BaseModel

from skillfoundry import capture, evaluation
from skillfoundry.domain import cuda
from skillfoundry.evaluation import CaseRef, Sampling
from skillfoundry.flows import limits
from skillfoundry.flows.retry import retry_if_transient
from skillfoundry.grading.grade import GradingContext
from skillfoundry.grading.llm_judge import LLMJudge
from skillfoundry.ids import canonical_json, content_id
from skillfoundry.llm.budget import Budget, BudgetExceededError
from skillfoundry.llm.response_cache import ResponseCache
from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.spec import Endpoint
from skillfoundry.llm.structured import StructuredResult
from skillfoundry.llm.student import ChatResult, ServerDownError, complete_sync
from skillfoundry.progress import stage, stages
from skillfoundry.skills import extract, refine
from skillfoundry.skills.folder import skill_id as compute_skill_id
from skillfoundry.skills.folder import write_skill
from skillfoundry.skills.leaks import find_leaks
from skillfoundry.skills.model import CaseFinding, Skill, TestCase
from skillfoundry.skills.quality import duplicate_cases, non_discriminating
from skillfoundry.skills.render import render_skill_md
from skillfoundry.skills.tokens import skill_tokens
from skillfoundry.storage.answers import case_lifts
from skillfoundry.storage.compact import compact as compact_store
from skillfoundry.storage.records import (
    Condition,
    GenerationRecord,
    LineageRecord,
    SkillFindingRecord,
    SkillRecord,
    TestCaseRecord,
    TraceRecord,
)
from skillfoundry.storage.writer import write_rows


def lineage(run_id: str, src_kind: str, src_id: str, dst_kind: str, dst_id: str) -> LineageRecord:
    """An edge src -> dst, tagged with the Prefect task run that made it."""
    task_run_id = task_run.id
    return LineageRecord(
        run_id=run_id,
        edge_id=content_id(run_id, src_kind, src_id, dst_kind, dst_id),
        src_kind=src_kind,
        src_id=src_id,
        dst_kind=dst_kind,
        dst_id=dst_id,
        prefect_task_run_id=str(task_run_id) if task_run_id else None,
    )


def teacher_call_trace(
    run_id: str, task_id: str, endpoint: Endpoint, calls: list[StructuredResult], latency_s: float
) -> TraceRecord:
    """A trace row for the teacher's structured calls (extraction, refinement), so every teacher token
    and dollar is on record next to the agent-loop traces."""
    messages_json = canonical_json([{"role": "assistant", "content": c.raw} for c in calls])
    return TraceRecord(
        run_id=run_id,
        trace_id=content_id(run_id, task_id, str(endpoint.spec), messages_json),
        task_id=task_id,
        model=str(endpoint.spec),
        messages_json=messages_json,
        tool_calls=0,
        turns=sum(c.attempts for c in calls),
        input_tokens=sum(c.input_tokens for c in calls),
        output_tokens=sum(c.output_tokens for c in calls),
        cost_usd=sum(c.cost_usd for c in calls),
        latency_s=latency_s,
        stop_reason="structured",
        final_text=calls[-1].raw if calls else "",
    )


@task(name="capture-trace", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=retry_if_transient)
def capture_trace(
    endpoint: Endpoint,
    problem_id: str,
    *,
    run_id: str,
    data_dir: Path,
    cache_dir: Path,
    max_turns: int,
    max_tokens: int,
    thinking_tokens: int = 0,
) -> TraceRecord:
    with stage(f"teacher turns {problem_id}", total=max_turns) as progress:
        record, _ = capture.capture_trace(
            endpoint,
            cuda.lookup_problem(problem_id, data_dir),
            run_id=run_id,
            max_turns=max_turns,
            max_tokens=max_tokens,
            cache_dir=cache_dir,
            thinking_tokens=thinking_tokens,
            on_turn=lambda tokens, usd: progress.advance(tokens=tokens, usd=usd),
        )
    write_rows(data_dir, "traces", [record])
    return record


def store_skill(
    skill: Skill,
    *,
    run_id: str,
    data_dir: Path,
    round_: int,
    parent_skill_id: str | None,
    trace_ids: list[str],
) -> SkillRecord:
    """Write the skill folder under the data dir and its row; return the row."""
    sid = compute_skill_id(skill)
    write_skill(skill, data_dir / "skill_folders" / sid, overwrite=True)
    record = SkillRecord(
        run_id=run_id,
        skill_id=sid,
        name=skill.name,
        description=skill.description,
        body=skill.body,
        skill_md=render_skill_md(skill),
        files_json=canonical_json(skill.files),
        parent_skill_id=parent_skill_id,
        trace_id=trace_ids[0] if trace_ids else None,
        round=round_,
        tokens=skill_tokens(skill),
    )
    write_rows(data_dir, "skills", [record])
    edges = [lineage(run_id, "trace", t, "skill", sid) for t in trace_ids]
    if parent_skill_id:
        edges.append(lineage(run_id, "skill", parent_skill_id, "skill", sid))
    write_rows(data_dir, "lineage", edges)
    return record


@task(name="extract-skill", cache_policy=NO_CACHE)
def extract_skill(
    endpoint: Endpoint,
    traces: list[TraceRecord],
    task_prompt: str,
    *,
    run_id: str,
    data_dir: Path,
    n_cases: int,
    max_tokens: int,
) -> tuple[Skill, SkillRecord, list[TestCase]]:
    messages = [m for t in traces for m in json.loads(t.messages_json)]
    started = time.perf_counter()
    with stage("skill extraction", total=1) as progress:
        skill, practice, calls = extract.extract_skill(
            endpoint, task_prompt=task_prompt, messages=messages, n_cases=n_cases, max_tokens=max_tokens
        )
        progress.advance(tokens=sum(c.output_tokens for c in calls), usd=sum(c.cost_usd for c in calls))
    call_trace = teacher_call_trace(run_id, "extract-skill", endpoint, calls, time.perf_counter() - started)
    write_rows(data_dir, "traces", [call_trace])
    trace_ids = [t.trace_id for t in traces] + [call_trace.trace_id]
    record = store_skill(skill, run_id=run_id, data_dir=data_dir, round_=0, parent_skill_id=None, trace_ids=trace_ids)
    return skill, record, practice


@task(name="refine-skill", cache_policy=NO_CACHE)
def refine_skill(
    endpoint: Endpoint,
    skill: Skill,
    parent: SkillRecord,
    failures: list[refine.Failure],
    *,
    run_id: str,
    data_dir: Path,
    round_: int,
    max_tokens: int,
) -> tuple[Skill, SkillRecord] | None:
    """A new skill version from the teacher's revision; None when the revision changed nothing (the same
    content is the same skill id, so storing it would only relabel the parent)."""
    started = time.perf_counter()
    revised, call = refine.refine_skill(endpoint, skill, failures, max_tokens=max_tokens)
    call_trace = teacher_call_trace(run_id, f"refine-skill-{round_}", endpoint, [call], time.perf_counter() - started)
    write_rows(data_dir, "traces", [call_trace])
    if compute_skill_id(revised) == parent.skill_id:
        return None
    trace_ids = ([parent.trace_id] if parent.trace_id else []) + [call_trace.trace_id]
    record = store_skill(
        revised, run_id=run_id, data_dir=data_dir, round_=round_, parent_skill_id=parent.skill_id, trace_ids=trace_ids
    )
    return revised, record


def store_cases(cases: list[TestCase], *, skill_name: str, run_id: str, data_dir: Path) -> list[CaseRef]:
    """Write test-case rows; return the cases with their content ids."""
    refs = [CaseRef(case_id=c.case_id(), case=c) for c in cases]
    write_rows(
        data_dir,
        "test_cases",
        [
            TestCaseRecord(
                run_id=run_id,
                case_id=r.case_id,
                skill_name=skill_name,
                split=r.case.split,
                prompt=r.case.prompt,
                checks_json=canonical_json([c.model_dump(mode="json", by_alias=True) for c in r.case.checks]),
                kind=r.case.kind,
                problem_id=r.case.problem_id,
                files_json=canonical_json(r.case.files),
                expected_output=r.case.expected_output,
            )
            for r in refs
        ],
    )
    return refs


class StudentBatch(BaseModel):
    """One student and condition of the student stage: whom to ask, with which skill, and which
    (case_id, epoch) answers are already stored (not asked again)."""

    endpoint: Endpoint
    condition: Condition
    skill: Skill | None = None
    skill_id: str | None = None
    skip: frozenset[tuple[str, int]] = frozenset()


@task(name="generate", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=retry_if_transient)
def generate(
    batches: list[StudentBatch],
    cases: list[CaseRef],
    *,
    epochs: list[int],
    sampling: Sampling,
    run_id: str,
    data_dir: Path,
    concurrency: int,
    policy: RetryPolicy,
    response_cache_dir: Path | None,
    budget: Budget | None = None,
) -> list[list[GenerationRecord]]:
    """The student stage: every batch's (case, epoch) not in its skip set, all through one scheduler per
    server (see llm.student); the stored rows per batch. Failed requests are stored with their error_kind
    (a resume asks them again); a server that went down, or the run's budget running out (requests not
    sent are not stored), ends the stage with one error after storing what was answered."""
    logger = get_run_logger()
    plans = [
        [p for p in evaluation.plan(cases, skill=b.skill, epochs=epochs, sampling=sampling) if (p.case_id, p.epoch) not in b.skip]
        for b in batches
    ]
    jobs = [(b.endpoint, p.request) for b, planned in zip(batches, plans, strict=True) for p in planned]
    if not jobs:
        return [[] for _ in batches]
    cache = ResponseCache(response_cache_dir) if response_cache_dir is not None else None
    started = time.perf_counter()
    owner = [i for i, planned in enumerate(plans) for _ in planned]  # job index -> its batch
    parts = [(f"{b.endpoint.spec} {b.condition}", len(planned)) for b, planned in zip(batches, plans, strict=True)]
    with stages(parts) as bars:
        outcome = complete_sync(
            jobs, concurrency=concurrency, policy=policy, cache=cache, budget=budget,
            slot=limits.request_slots(concurrency),
            on_result=lambda i, r: bars[owner[i]].advance(  # tok/s counts what the server generated now
                tokens=0 if r.from_cache else r.output_tokens, error=r.error is not None, usd=r.cost_usd
            ),
        )
    elapsed = time.perf_counter() - started
    out, offset = [], 0
    for batch, planned in zip(batches, plans, strict=True):
        answered = [(p, r) for p, r in zip(planned, outcome.results[offset : offset + len(planned)], strict=True)
                    if not r.unsent]
        offset += len(planned)
        planned, results = [p for p, _ in answered], [r for _, r in answered]
        model = str(batch.endpoint.spec)
        rows = evaluation.to_generations(
            run_id, model, batch.condition, batch.skill_id, planned, results, sampling.key(), server=batch.endpoint.server
        )
        write_rows(data_dir, "generations", rows)
        if batch.skill_id and rows:
            write_rows(data_dir, "lineage", [lineage(run_id, "skill", batch.skill_id, "evaluation", f"{run_id}:{model}")])
        logger.info("%s %s: %s", model, batch.condition, stage_line(results))
        out.append(rows)
    logger.info("student stage: %s in %.1f s (%.0f tok/s)", stage_line(outcome.results), elapsed,
                sum(r.output_tokens for r in outcome.results if not r.from_cache) / elapsed if elapsed > 0 else 0.0)
    if outcome.down:
        raise ServerDownError("; ".join(outcome.down) + f" (run {run_id}: resume it to ask the unanswered again)")
    if budget is not None and any(r.unsent for r in outcome.results):
        raise BudgetExceededError(budget.message(f"{sum(r.unsent for r in outcome.results)} student requests"))
    return out


def stage_line(results: Sequence[ChatResult]) -> str:
    """Answers, errors by kind, cache hits and tokens of some results, on one line."""
    kinds = Counter(r.error_kind for r in results if r.error_kind is not None)
    errors = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "no"
    return (
        f"{len(results)} answers ({sum(r.from_cache for r in results)} from the response cache), {errors} errors, "
        f"{sum(r.output_tokens for r in results)} completion tokens, "
        f"{sum(r.cached_tokens for r in results)} of {sum(r.input_tokens for r in results)} prompt tokens from the "
        f"server's prompt cache, ${sum(r.cost_usd for r in results):.4f}"
    )


@task(name="grade", cache_policy=NO_CACHE)
def grade(
    generations: list[GenerationRecord],
    cases: list[CaseRef],
    *,
    data_dir: Path,
    cache_dir: Path,
    judge: Endpoint | None = None,
    budget: Budget | None = None,
) -> int:
    """Grade a batch and store grades, kernel builds and benchmarks; returns the number of grade rows.
    Judge calls are charged to ``budget``; once it is spent the rest are not sent (their answers stay
    ungraded, for a resume) and, after storing what was graded, BudgetExceededError stops the run."""
    by_id = {r.case_id: r.case for r in cases}
    llm_judge = LLMJudge(judge, budget=budget) if judge else None
    ctx = GradingContext(
        cache_dir=cache_dir, data_dir=data_dir, judge=llm_judge, gpu_slot=limits.gpu_slot()
    )
    with stage("grading", total=len(generations)) as progress:
        graded = evaluation.grade_generations(generations, by_id, ctx, on_graded=lambda _: progress.advance())
    write_rows(data_dir, "grades", graded.grades)
    write_rows(data_dir, "kernel_builds", graded.kernel_builds)
    write_rows(data_dir, "kernel_benchmarks", graded.kernel_benchmarks)
    if budget is not None and llm_judge is not None and llm_judge.refused:
        raise BudgetExceededError(budget.message(f"{llm_judge.refused} judge calls"))
    return len(graded.grades)


def finding_rows(findings: list[CaseFinding], *, run_id: str, skill_id: str) -> list[SkillFindingRecord]:
    return [
        SkillFindingRecord(
            run_id=run_id,
            finding_id=content_id(run_id, skill_id, f.kind, f.case_id),
            skill_id=skill_id,
            kind=f.kind,
            case_id=f.case_id,
            detail=f.detail,
        )
        for f in findings
    ]


@task(name="check-skill", cache_policy=NO_CACHE)
def check_skill(skill: Skill, skill_id: str, cases: list[CaseRef], *, run_id: str, data_dir: Path) -> int:
    """Leaks (the skill carries a case's answer) and duplicate cases, stored in skill_findings."""
    by_id = {r.case_id: r.case for r in cases}
    rows = finding_rows(find_leaks(skill, by_id) + duplicate_cases(by_id), run_id=run_id, skill_id=skill_id)
    write_rows(data_dir, "skill_findings", rows)
    return len(rows)


@task(name="check-discrimination", cache_policy=NO_CACHE)
def check_discrimination(skill_id: str, cases: list[CaseRef], *, run_id: str, data_dir: Path) -> int:
    """Cases that every condition passes or fails (they cannot show a lift): this run's answers with the
    skill and the baselines they pair with, reused ones included."""
    lifts = case_lifts(data_dir, run_id, skill_id=skill_id, case_ids=[c.case_id for c in cases])
    results = [outcome for lift in lifts for outcome in lift.outcomes()]
    rows = finding_rows(non_discriminating(results), run_id=run_id, skill_id=skill_id)
    write_rows(data_dir, "skill_findings", rows)
    return len(rows)


@task(name="compact", cache_policy=NO_CACHE)
def compact(data_dir: Path) -> None:
    """Merge this run's small files and refresh its rollups (query results do not change)."""
    compact_store(data_dir)
