"""The nightly flow: capture a teacher trace, extract and refine a skill, evaluate students, summarise."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from pydantic import BaseModel

from skillfoundry.config import Settings
from skillfoundry.domain import cuda
from skillfoundry.evaluation import CaseRef, Sampling
from skillfoundry.flows.run_status import recorded_run
from skillfoundry.kernels.problems import list_problems
from skillfoundry.llm.budget import Budget
from skillfoundry.llm.servers import serving
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.skills import refine
from skillfoundry.skills.model import Skill
from skillfoundry.storage.baselines import existing_baselines
from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.query import LiftSummary
from skillfoundry.storage.records import SkillRecord
from skillfoundry.tasks import steps
from skillfoundry.tasks.summary import summarize


class DistillResult(BaseModel):
    """What a run returns to its caller: the run id, the chosen skill and the lift per student."""

    run_id: str
    skill_id: str
    skill_dir: str
    lift: list[LiftSummary]


def answered(data_dir: Path, run_id: str, model: str, skill_id: str) -> frozenset[tuple[str, int]]:
    """(case_id, epoch) pairs this run already answered and graded with this skill: a resumed run skips them."""
    if not data_dir.exists():
        return frozenset()
    rows = catalog(data_dir).execute(
        """
        select case_id, epoch from generations
        where run_id = $run and model = $model and skill_id = $skill and error_kind is null
          and gen_id in (select gen_id from grades where run_id = $run)
        """,
        {"run": run_id, "model": model, "skill": skill_id},
    ).fetchall()
    return frozenset((case_id, int(epoch)) for case_id, epoch in rows)


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
    batches = []
    for endpoint in students:
        model = str(endpoint.spec)
        have = existing_baselines(settings.data_dir, model, ids, sampling.key(), epochs)
        batches += [
            steps.StudentBatch(endpoint=endpoint, condition="with_skill", skill=skill, skill_id=skill_id,
                               skip=answered(settings.data_dir, run_id, model, skill_id)),
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
        steps.grade.submit(rows, cases, data_dir=settings.data_dir, cache_dir=settings.kernel_cache_dir, judge=judge)
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
    con = catalog(settings.data_dir)
    ids = [c.case_id for c in cases]
    rows = con.execute(
        """
        select g.case_id, g.text, bool_and(gr.passed) as passed, string_agg(gr.detail_json, ' ') as why
        from generations g join grades gr using (gen_id)
        where g.run_id = ? and g.skill_id = ? and g.case_id in (select unnest(?::varchar[]))
        group by g.gen_id, g.case_id, g.text
        """,
        [run_id, skill_id, ids],
    ).fetchall()
    prompts = {c.case_id: c.case.prompt for c in cases}
    rate = sum(1 for r in rows if r[2]) / len(rows) if rows else 0.0
    failures = [refine.Failure(prompt=prompts[r[0]], answer=r[1], reason=r[3] or "") for r in rows if not r[2]]
    return rate, failures[:4]


@flow(name="distill")
def distill(settings: Settings, run_id: str) -> DistillResult:
    """Teacher trace -> skill -> (refinement on train) -> students with/without skill on test -> lift."""
    with recorded_run(settings, run_id, "distill"):
        return _distill(settings, run_id)


def _distill(settings: Settings, run_id: str) -> DistillResult:
    teacher_spec = ModelSpec.parse(settings.teacher)
    student_specs = [ModelSpec.parse(s) for s in settings.students]
    train, test = cuda.split_problems(
        list_problems(), seed=settings.seed, n_train=settings.train_cases, n_test=settings.cases
    )
    judge_spec = ModelSpec.parse(settings.judge) if settings.judge else None
    sampling = Sampling(temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed)
    budget = Budget(settings.budget_usd)
    with serving([teacher_spec, *student_specs, *([judge_spec] if judge_spec else [])], settings) as endpoints:
        teacher = endpoints[teacher_spec]
        judge = endpoints[judge_spec] if judge_spec else None
        students = [endpoints[s] for s in student_specs]
        traces = [
            steps.capture_trace(
                teacher,
                p.id,
                run_id=run_id,
                data_dir=settings.data_dir,
                cache_dir=settings.kernel_cache_dir,
                max_turns=settings.teacher_max_turns,
                max_tokens=settings.teacher_max_tokens,
            )
            for p in train
        ]
        for trace in traces:
            budget.charge(trace.cost_usd)
        budget.check("skill extraction")
        skill, record, practice = steps.extract_skill(
            teacher,
            traces,
            cuda.teacher_prompt(train[0]),
            run_id=run_id,
            data_dir=settings.data_dir,
            n_cases=2,
            max_tokens=settings.skill_max_tokens,
        )
        train_cases = steps.store_cases(
            [cuda.problem_case(p, "train") for p in train] + practice,
            skill_name=skill.name,
            run_id=run_id,
            data_dir=settings.data_dir,
        )
        test_cases = steps.store_cases(
            [cuda.problem_case(p, "test") for p in test], skill_name=skill.name, run_id=run_id, data_dir=settings.data_dir
        )
        skill, record = refine_rounds(settings, teacher, students, skill, record, train_cases, run_id, sampling, judge)
        budget.check("the student stage")
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
) -> tuple[Skill, SkillRecord]:
    """Optional rounds on the TRAIN split only; the version best on train is chosen."""
    if settings.refine_rounds == 0:
        return skill, record
    versions: list[tuple[float, int, Skill, SkillRecord]] = []
    for round_ in range(settings.refine_rounds + 1):
        evaluate(
            settings, students[:1], train_cases, skill, record.skill_id, run_id=run_id, sampling=sampling, judge=judge
        )
        rate, failures = train_failures(settings, run_id, record.skill_id, train_cases)
        versions.append((rate, -round_, skill, record))
        if round_ == settings.refine_rounds or not failures:
            break
        revised = steps.refine_skill(
            teacher,
            skill,
            record,
            failures,
            run_id=run_id,
            data_dir=settings.data_dir,
            round_=round_ + 1,
            max_tokens=settings.skill_max_tokens,
        )
        if revised is None:  # the teacher changed nothing: no new version to try
            break
        skill, record = revised
    _, _, best_skill, best_record = max(versions, key=lambda v: (v[0], v[1]))
    return best_skill, best_record
