"""The nightly flow: capture a teacher trace, extract and refine a skill, evaluate students, summarise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow
from pydantic import BaseModel

from skillfoundry.config import Settings
from skillfoundry.domain import cuda
from skillfoundry.evaluation import CaseRef, Sampling
from skillfoundry.flows.naming import distill_run_name
from skillfoundry.flows.publish import publish_run
from skillfoundry.flows.run_status import recorded_run
from skillfoundry.grading.grade import level_of
from skillfoundry.llm.budget import Budget
from skillfoundry.llm.servers import serving
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.skills import refine
from skillfoundry.skills.folder import load_skill
from skillfoundry.skills.folder import skill_id as compute_skill_id
from skillfoundry.skills.model import Skill
from skillfoundry.skills.stored import case_from_row
from skillfoundry.storage.answers import answered, combine_levels, existing_baselines, graded_answers
from skillfoundry.storage.query import LiftSummary
from skillfoundry.storage.records import SkillRecord, TestCaseRecord
from skillfoundry.storage.resume import StoredRun, load_run, spent_usd, stored_traces, teacher_usd
from skillfoundry.tasks import steps
from skillfoundry.tasks.summary import summarize


class DistillResult(BaseModel):
    """What a run returns to its caller: the run id, the chosen skill and the lift per student."""

    run_id: str
    skill_id: str
    skill_dir: str
    lift: list[LiftSummary]


#: Settings that say how to run, not what is measured: a resumed run may change them.
RUNTIME_SETTINGS = frozenset(
    {"data_dir", "cache_dir", "concurrency", "request_timeout_s", "llama_threads", "llama_slots", "llama_ctx_per_slot",
     "request_attempts", "request_deadline_s", "response_cache", "budget_usd", "vllm_args"}
)


class RunConfigError(ValueError):
    """A run id reused for a different experiment (another flow or configuration)."""


def experiment_config(config: dict[str, Any]) -> dict[str, Any]:
    """The settings (as stored JSON) that define what a run measures."""
    return {k: v for k, v in config.items() if k not in RUNTIME_SETTINGS}


def check_same_experiment(stored: StoredRun, settings: Settings, run_id: str, flow: str) -> None:
    """A run id names one experiment: resuming it with another flow or configuration raises RunConfigError
    naming what differs. A run id never stored before passes."""
    if stored.config is None:
        return
    if stored.flow != flow:
        raise RunConfigError(f"run {run_id} is a {stored.flow} run, not {flow}; use a new --run-id")
    old, new = experiment_config(stored.config), experiment_config(json.loads(settings.model_dump_json()))
    for key in new.keys() - old.keys():  # a setting added since the run was stored: it ran with the default
        field = Settings.model_fields.get(key)
        if field is not None:
            old[key] = field.get_default(call_default_factory=True)
    differ = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if differ:
        changes = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in differ)
        raise RunConfigError(
            f"run {run_id} was started with other settings ({changes}); resume it with the same ones or use a new --run-id"
        )


def resumable(settings: Settings, run_id: str, flow: str) -> StoredRun:
    """What ``run_id`` stored so far, after checking that it is the same experiment."""
    stored = load_run(settings.data_dir, run_id)
    check_same_experiment(stored, settings, run_id, flow)
    return stored


def evaluate(
    settings: Settings,
    students: list[Endpoint],
    cases: list[CaseRef],
    skill: Skill,
    skill_id: str,
    *,
    run_id: str,
    sampling: Sampling,
    judge: Endpoint | None = None,
    budget: Budget | None = None,
) -> None:
    """Every student x {baseline, with_skill} x epochs; shared baselines and answers already stored
    for this run (a resumed run) are reused, not re-run. Stops before sending more once ``budget`` is spent."""
    epochs = list(range(settings.epochs))
    ids = [c.case_id for c in cases]
    # answers graded at another level here (e.g. compiled only, now that a GPU checks them) are asked again
    levels = {c.case_id: combine_levels(level_of(check).value for check in c.case.checks) for c in cases}
    batches = []
    for endpoint in students:
        model = str(endpoint.spec)
        have = existing_baselines(
            settings.data_dir, run_id=run_id, model=model, sampling_key=sampling.key(),
            case_ids=ids, epochs=epochs, levels=levels,
        )
        done = answered(
            settings.data_dir, run_id=run_id, model=model, skill_id=skill_id, sampling_key=sampling.key(), levels=levels
        )
        batches += [
            steps.StudentBatch(endpoint=endpoint, condition="with_skill", skill=skill, skill_id=skill_id, skip=done),
            steps.StudentBatch(endpoint=endpoint, condition="baseline", skip=frozenset(have)),
        ]
    # One generation task for every student x condition x epoch: one scheduler per server, sized to its
    # slots, so the conditions never compete for slots and no request waits out its timeout in a queue.
    generated = steps.generate(
        batches, cases, epochs=epochs, sampling=sampling, run_id=run_id, data_dir=settings.data_dir,
        concurrency=settings.concurrency, policy=settings.retry_policy, response_cache_dir=settings.response_cache_dir,
        budget=budget,
    )
    futures = [
        steps.grade.submit(rows, cases, data_dir=settings.data_dir, cache_dir=settings.kernel_cache_dir, judge=judge,
                           budget=budget)
        for rows in generated
        if rows
    ]
    for future in futures:
        future.result()


def check_cases(skill: Skill, skill_id: str, cases: list[CaseRef], *, run_id: str, data_dir: Path) -> None:
    """Store the leak, duplicate and discrimination findings shown next to the lift."""
    steps.check_skill(skill, skill_id, cases, run_id=run_id, data_dir=data_dir)
    steps.check_discrimination(skill_id, cases, run_id=run_id, data_dir=data_dir)


def train_failures(settings: Settings, run_id: str, skill_id: str, cases: list[CaseRef]) -> tuple[float, list[refine.Failure]]:
    """Pass rate of a skill on the train split and the failed answers (for the teacher to learn from)."""
    rows = graded_answers(settings.data_dir, run_id=run_id, skill_id=skill_id, case_ids=[c.case_id for c in cases])
    prompts = {c.case_id: c.case.prompt for c in cases}
    rate = sum(r.passed for r in rows) / len(rows) if rows else 0.0
    failures = [refine.Failure(prompt=prompts[r.case_id], answer=r.text, reason=r.reasons or "") for r in rows if not r.passed]
    return rate, failures[:4]


@flow(name="distill", flow_run_name=distill_run_name)
def distill(settings: Settings, run_id: str) -> DistillResult:
    """Teacher trace -> skill -> (refinement on train) -> students with/without skill on test -> lift."""
    stored = resumable(settings, run_id, "distill")  # before the run row: a refused resume records nothing
    with recorded_run(settings, run_id, "distill"):
        result = _distill(settings, run_id, stored)
    publish_run(settings.data_dir, run_id, result.skill_id, Path(result.skill_dir), result.lift)
    return result


def stored_skill(data_dir: Path, record: SkillRecord) -> Skill:
    """A stored skill version, read back from its folder; its content must still hash to its id."""
    folder = data_dir / "skill_folders" / record.skill_id / record.name
    skill = load_skill(folder)
    if compute_skill_id(skill) != record.skill_id:
        raise ValueError(f"{folder}: its content no longer matches skill id {record.skill_id}")
    return skill


def stored_case(row: TestCaseRecord) -> CaseRef:
    """A stored test case under its stored id."""
    return CaseRef(case_id=row.case_id, case=case_from_row(row))


def first_version(
    settings: Settings, teacher: Endpoint, train: list[cuda.SuiteProblem], run_id: str, stored: StoredRun
) -> tuple[Skill, SkillRecord, list[CaseRef]]:
    """The run's round-0 skill and its train cases (train problems + the teacher's practice cases).

    A resumed run reuses the stored skill and practice cases; else the skill is extracted from the traces
    named by ``settings.trace_ids`` (imported work), or from the teacher solving each train problem
    (reusing traces stored for it)."""
    problem_cases = [cuda.problem_case(p, "train") for p in train]
    originals = [s for s in stored.skills if s.round == 0]
    if len(originals) > 1:
        raise ValueError(f"run {run_id} holds {len(originals)} first skill versions; evaluate it under a new --run-id")
    if originals:
        (record,) = originals
        practice = [stored_case(c) for c in stored.cases if c.split == "train" and c.kind == "text"]
        refs = steps.store_cases(problem_cases, skill_name=record.name, run_id=run_id, data_dir=settings.data_dir)
        return stored_skill(settings.data_dir, record), record, refs + practice
    captured = {t.task_id: t for t in stored.traces}
    traces = stored_traces(settings.data_dir, settings.trace_ids) if settings.trace_ids else [
        captured.get(p.id)
        or steps.capture_trace(
            teacher,
            p.id,
            run_id=run_id,
            data_dir=settings.data_dir,
            cache_dir=settings.kernel_cache_dir,
            max_turns=settings.teacher_max_turns,
            max_tokens=settings.teacher_max_tokens,
            thinking_tokens=settings.teacher_thinking_tokens,
        )
        for p in train
    ]
    skill, record, practice = steps.extract_skill(
        teacher,
        traces,
        cuda.teacher_prompt(train[0]),
        run_id=run_id,
        data_dir=settings.data_dir,
        n_cases=2,
        max_tokens=settings.skill_max_tokens,
    )
    refs = steps.store_cases(problem_cases + practice, skill_name=skill.name, run_id=run_id, data_dir=settings.data_dir)
    return skill, record, refs


def _distill(settings: Settings, run_id: str, stored: StoredRun) -> DistillResult:
    teacher_spec = ModelSpec.parse(settings.teacher)
    student_specs = [ModelSpec.parse(s) for s in settings.students]
    train, test = cuda.split_problems(
        cuda.suite_problems(settings.suite, settings.data_dir), seed=settings.seed, n_train=settings.train_cases, n_test=settings.cases
    )
    judge_spec = ModelSpec.parse(settings.judge) if settings.judge else None
    sampling = Sampling(temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed)
    budget = Budget(settings.budget_usd)
    budget.charge(spent_usd(settings.data_dir, run_id))  # by earlier attempts of this run: the budget is the run's
    teacher_before = teacher_usd(settings.data_dir, run_id)
    with serving([teacher_spec, *student_specs, *([judge_spec] if judge_spec else [])], settings) as endpoints:
        teacher = endpoints[teacher_spec]
        judge = endpoints[judge_spec] if judge_spec else None
        students = [endpoints[s] for s in student_specs]
        skill, record, train_cases = first_version(settings, teacher, train, run_id, stored)
        test_cases = steps.store_cases(
            [cuda.problem_case(p, "test") for p in test], skill_name=skill.name, run_id=run_id, data_dir=settings.data_dir
        )
        budget.charge(teacher_usd(settings.data_dir, run_id) - teacher_before)
        skill, record = refine_rounds(
            settings, teacher, students, skill, record, train_cases, run_id, sampling, judge, stored, budget
        )
        budget.check("the student stage")  # the teacher's calls count too
        evaluate(settings, students, test_cases, skill, record.skill_id, run_id=run_id, sampling=sampling, judge=judge,
                 budget=budget)
    check_cases(skill, record.skill_id, test_cases, run_id=run_id, data_dir=settings.data_dir)
    steps.compact(settings.data_dir)
    lift = summarize(settings.data_dir, run_id)
    skill_dir = settings.data_dir / "skill_folders" / record.skill_id / skill.name
    return DistillResult(run_id=run_id, skill_id=record.skill_id, skill_dir=str(skill_dir), lift=lift)


def refine_rounds(
    settings: Settings,
    teacher: Endpoint,
    students: list[Endpoint],
    skill: Skill,
    record: SkillRecord,
    train_cases: list[CaseRef],
    run_id: str,
    sampling: Sampling,
    judge: Endpoint | None,
    stored: StoredRun,
    budget: Budget,
) -> tuple[Skill, SkillRecord]:
    """Optional rounds on the TRAIN split only; the version best on train is chosen. A resumed run
    reuses the versions it stored and does not ask again for a revision that changed nothing. Every
    round's student answers and the teacher's revision are charged to ``budget``."""
    if settings.refine_rounds == 0:
        return skill, record
    versions: list[tuple[float, int, Skill, SkillRecord]] = []
    for round_ in range(settings.refine_rounds + 1):
        budget.check(f"refinement round {round_}")
        evaluate(
            settings, students[:1], train_cases, skill, record.skill_id, run_id=run_id, sampling=sampling, judge=judge,
            budget=budget,
        )
        rate, failures = train_failures(settings, run_id, record.skill_id, train_cases)
        versions.append((rate, -round_, skill, record))
        if round_ == settings.refine_rounds or not failures:
            break
        spent = teacher_usd(settings.data_dir, run_id)
        revised = next_version(settings, teacher, skill, record, failures, run_id, round_ + 1, stored)
        budget.charge(teacher_usd(settings.data_dir, run_id) - spent)
        if revised is None:  # the teacher changed nothing: no new version to try
            break
        skill, record = revised
    _, _, best_skill, best_record = max(versions, key=lambda v: (v[0], v[1]))
    return best_skill, best_record


def next_version(
    settings: Settings,
    teacher: Endpoint,
    skill: Skill,
    record: SkillRecord,
    failures: list[refine.Failure],
    run_id: str,
    round_: int,
    stored: StoredRun,
) -> tuple[Skill, SkillRecord] | None:
    """The revision of round ``round_``: the stored one; None when the teacher was asked before and
    changed nothing (its call is on record); else the teacher's revision now."""
    child = next((s for s in stored.skills if s.parent_skill_id == record.skill_id and s.round == round_), None)
    if child is not None:
        return stored_skill(settings.data_dir, child), child
    if any(t.task_id == f"refine-skill-{round_}" for t in stored.traces):
        return None
    return steps.refine_skill(
        teacher,
        skill,
        record,
        failures,
        run_id=run_id,
        data_dir=settings.data_dir,
        round_=round_,
        max_tokens=settings.skill_max_tokens,
    )
