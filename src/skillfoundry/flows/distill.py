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
from skillfoundry.llm.servers import serving
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.skills import refine
from skillfoundry.skills.model import Skill
from skillfoundry.storage.answers import answered, existing_baselines, graded_answers
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
) -> None:
    """Every student x {baseline, with_skill} x epochs; shared baselines and answers already stored
    for this run (a resumed run) are reused, not re-run."""
    epochs = list(range(settings.epochs))
    common = dict(
        epochs=epochs,
        sampling=sampling,
        run_id=run_id,
        data_dir=settings.data_dir,
        concurrency=settings.concurrency,
        timeout_s=settings.request_timeout_s,
    )
    futures = []
    for endpoint in students:
        model = str(endpoint.spec)
        have = existing_baselines(
            settings.data_dir,
            run_id=run_id,
            model=model,
            sampling_key=sampling.key(),
            case_ids=[c.case_id for c in cases],
            epochs=epochs,
        )
        done = answered(settings.data_dir, run_id=run_id, model=model, skill_id=skill_id, sampling_key=sampling.key())
        batches = [
            steps.generate.submit(
                endpoint, cases, skill=skill, skill_id=skill_id, condition="with_skill", skip=done, **common
            ),
            steps.generate.submit(
                endpoint, cases, skill=None, skill_id=None, condition="baseline", skip=frozenset(have), **common
            ),
        ]
        for batch in batches:
            futures.append(
                steps.grade.submit(
                    batch, cases, data_dir=settings.data_dir, cache_dir=settings.kernel_cache_dir, judge=judge
                )
            )
    for future in futures:
        future.result()


def check_cases(skill: Skill, skill_id: str, cases: list[CaseRef], *, run_id: str, data_dir: Path) -> None:
    """Store the leak, duplicate and discrimination findings shown next to the lift."""
    steps.check_skill(skill, skill_id, cases, run_id=run_id, data_dir=data_dir)
    steps.check_discrimination(skill_id, cases, run_id=run_id, data_dir=data_dir)


def train_failures(
    settings: Settings, run_id: str, skill_id: str, cases: list[CaseRef]
) -> tuple[float, list[refine.Failure]]:
    """Pass rate of a skill on the train split and the failed answers (for the teacher to learn from)."""
    rows = graded_answers(settings.data_dir, run_id=run_id, skill_id=skill_id, case_ids=[c.case_id for c in cases])
    prompts = {c.case_id: c.case.prompt for c in cases}
    rate = sum(r.passed for r in rows) / len(rows) if rows else 0.0
    failures = [
        refine.Failure(prompt=prompts[r.case_id], answer=r.text, reason=r.reasons or "") for r in rows if not r.passed
    ]
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
            [cuda.problem_case(p, "test") for p in test],
            skill_name=skill.name,
            run_id=run_id,
            data_dir=settings.data_dir,
        )
        skill, record = refine_rounds(settings, teacher, students, skill, record, train_cases, run_id, sampling, judge)
        evaluate(settings, students, test_cases, skill, record.skill_id, run_id=run_id, sampling=sampling, judge=judge)
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
