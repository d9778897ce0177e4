"""Ad-hoc evaluation of an existing skill folder: students with and without it on its test cases."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from skillfoundry.config import Settings
from skillfoundry.domain import cuda
from skillfoundry.evaluation import Sampling
from skillfoundry.flows.distill import DistillResult, RunConfigError, check_cases, evaluate, resumable
from skillfoundry.flows.naming import evaluate_run_name
from skillfoundry.flows.publish import publish_run
from skillfoundry.flows.run_status import recorded_run
from skillfoundry.llm.servers import serving
from skillfoundry.llm.spec import ModelSpec
from skillfoundry.skills.evals_io import import_evals
from skillfoundry.skills.folder import load_skill
from skillfoundry.skills.folder import skill_id as compute_skill_id
from skillfoundry.skills.model import Skill, TestCase
from skillfoundry.skills.upskill_io import load_upskill_tests
from skillfoundry.tasks import steps
from skillfoundry.tasks.summary import summarize


def bundled_cases(skill_dir: Path, settings: Settings) -> list[TestCase]:
    """The skill's own test split (evals/evals.json, else upskill's skill_meta.json), else the CUDA suite's."""
    if (skill_dir / "evals" / "evals.json").is_file():
        cases = import_evals(skill_dir).cases
    elif (skill_dir / "skill_meta.json").is_file():
        cases = load_upskill_tests(skill_dir / "skill_meta.json")
    else:
        _, test = cuda.split_problems(
            cuda.suite_problems(settings.suite, settings.data_dir), seed=settings.seed, n_train=settings.train_cases, n_test=settings.cases
        )
        return [cuda.problem_case(p, "test") for p in test]
    test = [c for c in cases if c.split == "test"]
    if not test:
        raise ValueError(f"{skill_dir}: its test cases hold no case with split 'test'")
    return test


def resumable_eval(skill_dir: Path, settings: Settings, run_id: str) -> Skill:
    """The skill to evaluate, after checking that a reused run id evaluated this same skill and settings."""
    stored = resumable(settings, run_id, "evaluate-skill")
    skill = load_skill(skill_dir)
    earlier = {s.skill_id for s in stored.skills}
    if earlier and compute_skill_id(skill) not in earlier:
        raise RunConfigError(
            f"run {run_id} evaluated skill {', '.join(sorted(earlier))}, {skill_dir} is skill {compute_skill_id(skill)}; "
            "use a new --run-id"
        )
    return skill


@flow(name="evaluate-skill", flow_run_name=evaluate_run_name)
def evaluate_skill(skill_dir: Path, settings: Settings, run_id: str) -> DistillResult:
    """Load a skill, store it, answer its test cases with and without it, and summarise the lift."""
    skill = resumable_eval(skill_dir, settings, run_id)  # before the run row: a refused resume records nothing
    with recorded_run(settings, run_id, "evaluate-skill"):
        cases = bundled_cases(skill_dir, settings)
        record = steps.store_skill(
            skill, run_id=run_id, data_dir=settings.data_dir, round_=0, parent_skill_id=None, trace_ids=[]
        )
        refs = steps.store_cases(cases, skill_name=skill.name, run_id=run_id, data_dir=settings.data_dir)
        student_specs = [ModelSpec.parse(s) for s in settings.students]
        judge_spec = ModelSpec.parse(settings.judge) if settings.judge else None
        sampling = Sampling(temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed)
        with serving([*student_specs, *([judge_spec] if judge_spec else [])], settings) as endpoints:
            evaluate(
                settings,
                [endpoints[s] for s in student_specs],
                refs,
                skill,
                record.skill_id,
                run_id=run_id,
                sampling=sampling,
                judge=endpoints[judge_spec] if judge_spec else None,
            )
        check_cases(skill, record.skill_id, refs, run_id=run_id, data_dir=settings.data_dir)
        steps.compact(settings.data_dir)
        lift = summarize(settings.data_dir, run_id)
    skill_path = settings.data_dir / "skill_folders" / record.skill_id / skill.name
    publish_run(settings.data_dir, run_id, record.skill_id, skill_path, lift)
    return DistillResult(run_id=run_id, skill_id=record.skill_id, skill_dir=str(skill_path), lift=lift)
