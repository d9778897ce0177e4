"""Student evaluation: what each student is asked, and how answers become stored rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel

from skillfoundry.grading.grade import GradingContext, grade_answer
from skillfoundry.grading.outcome import CheckOutcome, GradeBundle
from skillfoundry.ids import canonical_json, content_id
from skillfoundry.llm.student import ChatRequest, ChatResult
from skillfoundry.skills.model import Skill, TestCase
from skillfoundry.skills.render import render_skill_md
from skillfoundry.storage.records import (
    Condition,
    GenerationRecord,
    GradeRecord,
    KernelBenchmarkRecord,
    KernelBuildRecord,
)

PROMPT_VERSION = "v1"
BASE_SYSTEM = "You are a careful software engineer. Answer the task completely."


class Sampling(BaseModel):
    """Sampling settings that define which baselines are comparable."""

    temperature: float
    max_tokens: int
    seed: int

    def key(self) -> str:
        return content_id(PROMPT_VERSION, BASE_SYSTEM, self.temperature, self.max_tokens, self.seed)


class CaseRef(BaseModel):
    """A test case with its stored id."""

    case_id: str
    case: TestCase


class Planned(BaseModel):
    """A generation to make: the request plus the row fields known before the answer."""

    request: ChatRequest
    case_id: str
    epoch: int
    seed: int


def system_prompt(skill: Skill | None) -> str:
    """The student's system prompt; the skill, when given, is loaded in full as agents load SKILL.md."""
    if skill is None:
        return BASE_SYSTEM
    return (
        f"{BASE_SYSTEM}\n\nYou have this skill. Follow it when it applies.\n"
        f'<skill name="{skill.name}">\n{render_skill_md(skill)}</skill>'
    )


def student_prompt(case: TestCase) -> str:
    """The case's prompt, followed by its attached files (if any)."""
    if not case.files:
        return case.prompt
    files = "\n".join(f'<file path="{path}">\n{text}\n</file>' for path, text in sorted(case.files.items()))
    return f"{case.prompt}\n\n{files}"


def plan(cases: Sequence[CaseRef], *, skill: Skill | None, epochs: Sequence[int], sampling: Sampling) -> list[Planned]:
    """One request per (case, epoch); epoch e uses seed sampling.seed + e."""
    system = system_prompt(skill)
    out = []
    for ref in cases:
        for epoch in epochs:
            seed = sampling.seed + epoch
            request = ChatRequest(
                key=f"{ref.case_id}:{epoch}",
                system=system,
                prompt=student_prompt(ref.case),
                temperature=sampling.temperature,
                max_tokens=sampling.max_tokens,
                seed=seed,
            )
            out.append(Planned(request=request, case_id=ref.case_id, epoch=epoch, seed=seed))
    return out


def generation_id(run_id: str, model: str, case_id: str, skill_id: str | None, epoch: int, sampling_key: str) -> str:
    return content_id(run_id, model, case_id, skill_id, epoch, sampling_key)


def to_generations(
    run_id: str,
    model: str,
    condition: Condition,
    skill_id: str | None,
    planned: Sequence[Planned],
    results: Sequence[ChatResult],
    sampling_key: str,
    *,
    server: str | None = None,
) -> list[GenerationRecord]:
    """Pair each planned request with its result (same order) into generation rows; ``server`` names
    the software that answered (name and version)."""
    rows = []
    for p, r in zip(planned, results, strict=True):
        rows.append(
            GenerationRecord(
                run_id=run_id,
                gen_id=generation_id(run_id, model, p.case_id, skill_id, p.epoch, sampling_key),
                case_id=p.case_id,
                skill_id=skill_id,
                condition=condition,
                model=model,
                epoch=p.epoch,
                seed=p.seed,
                sampling_key=sampling_key,
                text=r.text,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                latency_s=r.latency_s,
                error=r.error,
                error_kind=r.error_kind,
                server=server,
                cached_tokens=r.cached_tokens,
                cost_usd=r.cost_usd,
            )
        )
    return rows


class Graded(BaseModel):
    """The rows grading a batch produces."""

    grades: list[GradeRecord]
    kernel_builds: list[KernelBuildRecord]
    kernel_benchmarks: list[KernelBenchmarkRecord]


def grade_record(gen: GenerationRecord, index: int, outcome: CheckOutcome) -> GradeRecord:
    """The stored row of one outcome: its level, whether it is an infra error (the message goes into the
    detail under "infra_error"), so an ungraded answer can never be stored as a pass, and the usage of
    the model call it made, if any."""
    detail = outcome.detail if outcome.infra_error is None else {**outcome.detail, "infra_error": outcome.infra_error}
    usage = outcome.usage.model_dump() if outcome.usage is not None else {}
    return GradeRecord(
        run_id=gen.run_id,
        grade_id=content_id(gen.gen_id, index, outcome.grader),
        gen_id=gen.gen_id,
        grader=outcome.grader,
        passed=outcome.passed,
        score=outcome.score,
        detail_json=canonical_json(detail),
        infra_error=outcome.infra_error is not None,
        level=outcome.level.value,
        **usage,
    )


def to_graded(gen: GenerationRecord, bundle: GradeBundle) -> Graded:
    """The rows of one graded answer: one grade per outcome, its kernel builds and benchmarks."""
    return Graded(
        grades=[grade_record(gen, index, outcome) for index, outcome in enumerate(bundle.outcomes)],
        kernel_builds=[
            KernelBuildRecord(**{**build, "run_id": gen.run_id, "gen_id": gen.gen_id}) for build in bundle.kernel_builds
        ],
        kernel_benchmarks=[
            KernelBenchmarkRecord(
                **{**bench, "run_id": gen.run_id, "gen_id": gen.gen_id, "bench_id": content_id(gen.gen_id, bench["bench_id"])}
            )
            for bench in bundle.kernel_benchmarks
        ],
    )


def grade_generations(
    generations: Sequence[GenerationRecord],
    cases: dict[str, TestCase],
    ctx: GradingContext,
    on_graded: Callable[[GenerationRecord], None] | None = None,
) -> Graded:
    """Grade every generation that has an answer; failed requests get no grade (they are infra errors).
    ``on_graded`` sees each generation once it is done (graded or skipped)."""
    out = Graded(grades=[], kernel_builds=[], kernel_benchmarks=[])
    for gen in generations:
        if gen.error_kind is None:
            graded = to_graded(gen, grade_answer(cases[gen.case_id], gen.text, ctx))
            out.grades.extend(graded.grades)
            out.kernel_builds.extend(graded.kernel_builds)
            out.kernel_benchmarks.extend(graded.kernel_benchmarks)
        if on_graded is not None:
            on_graded(gen)
    return out
