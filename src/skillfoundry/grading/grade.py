"""Grade one answer against every check of a test case."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from pydantic import BaseModel

from skillfoundry.grading import judge as judge_grader
from skillfoundry.grading import python_check, text
from skillfoundry.grading.judge import Judge, grade_judge
from skillfoundry.grading.outcome import CheckOutcome, GradeBundle, GradingLevel, infra_failure
from skillfoundry.grading.python_check import grade_python
from skillfoundry.grading.text import grade_contains, grade_json, grade_not_contains, grade_regex
from skillfoundry.skills.model import (
    Check,
    ContainsCheck,
    JsonCheck,
    JudgeCheck,
    KernelCheck,
    NotContainsCheck,
    PythonCheck,
    RegexCheck,
    TestCase,
)

#: Answers longer than this fail every check unread (a student that rambles for megabytes has failed).
MAX_ANSWER_CHARS = 2_000_000


class GradingContext(BaseModel):
    """What graders need beyond the answer: a cache folder (kernel builds), the data folder (imported
    KernelBench suites), an optional LLM judge, the GPU architectures kernels are compiled for (None: the
    kernel grader's default), and the context every GPU job runs under (a slot of the shared ``gpu``
    limit; None: none)."""

    cache_dir: Path | None = None
    data_dir: Path | None = None
    judge: Judge | None = None
    archs: list[str] | None = None
    gpu_slot: Callable[[], AbstractContextManager[object]] | None = None


def _kernel_bundle(check: KernelCheck, answer: str, ctx: GradingContext) -> GradeBundle:
    from skillfoundry.kernelbench.problems import get_kb_problem, is_kernelbench_id

    try:
        from skillfoundry.grading.kernel import grade_kernel, kernel_level  # imported when needed
    except ImportError as exc:  # without the kernel grader there is no GPU stage either
        return GradeBundle(
            outcomes=[infra_failure("kernel", GradingLevel.KERNEL_STATIC, f"kernel grader unavailable: {exc}")]
        )
    kwargs = {"cache_dir": ctx.cache_dir, "gpu_slot": ctx.gpu_slot} | (
        {"archs": ctx.archs} if ctx.archs is not None else {}
    )
    grader = "kernelbench" if is_kernelbench_id(check.problem_id) else "kernel"
    try:
        if grader == "kernelbench":  # an imported KernelBench problem: a ModelNew answer
            from skillfoundry.kernelbench.grade import grade_kernelbench

            if ctx.data_dir is None:
                raise ValueError("grading a KernelBench problem needs the data folder its suite is stored in")
            return grade_kernelbench(check, get_kb_problem(ctx.data_dir, check.problem_id), answer, **kwargs)
        return grade_kernel(check, answer, **kwargs)
    except Exception as exc:  # a grader bug must not lose the batch; record it as an infra error
        reason = f"{grader} grader error: {type(exc).__name__}: {exc}"[:500]
        return GradeBundle(outcomes=[infra_failure(grader, kernel_level(), reason)])


def level_of(check: Check) -> GradingLevel:
    """The level a check is graded at in this environment (the one each grader stamps on its outcomes)."""
    if isinstance(check, KernelCheck):
        from skillfoundry.grading.kernel import kernel_level

        return kernel_level()
    if isinstance(check, PythonCheck):
        return python_check.LEVEL
    if isinstance(check, JudgeCheck):
        return judge_grader.LEVEL
    return text.LEVEL


def _failed(check: Check, reason: str) -> CheckOutcome:
    return CheckOutcome(
        grader=check.type, passed=False, score=0.0, level=level_of(check), detail={"reason": reason}
    )


def grade_check(check: Check, answer: str, ctx: GradingContext) -> CheckOutcome:
    """One non-kernel check on one answer."""
    if isinstance(check, ContainsCheck):
        return grade_contains(check, answer)
    if isinstance(check, NotContainsCheck):
        return grade_not_contains(check, answer)
    if isinstance(check, RegexCheck):
        return grade_regex(check, answer)
    if isinstance(check, JsonCheck):
        return grade_json(check, answer)
    if isinstance(check, PythonCheck):
        return grade_python(check, answer)
    if isinstance(check, JudgeCheck):
        return grade_judge(check, answer, ctx.judge)
    raise TypeError(f"grade_check got {type(check).__name__}; kernel checks go through grade_answer")


def grade_answer(case: TestCase, answer: str, ctx: GradingContext) -> GradeBundle:
    """One outcome per check (kernel checks may add builds and benchmarks), in the case's check order."""
    bundle = GradeBundle(outcomes=[])
    for check in case.checks:
        if len(answer) > MAX_ANSWER_CHARS:
            bundle.outcomes.append(_failed(check, f"answer too large ({len(answer)} characters > {MAX_ANSWER_CHARS})"))
        elif isinstance(check, KernelCheck):
            part = _kernel_bundle(check, answer, ctx)
            bundle.outcomes.extend(part.outcomes)
            bundle.kernel_builds.extend(part.kernel_builds)
            bundle.kernel_benchmarks.extend(part.kernel_benchmarks)
        else:
            bundle.outcomes.append(grade_check(check, answer, ctx))
    return bundle
