"""Write a stored run as inspect_ai eval logs: one log per student x condition (x skill, sampling key).

Each answer is a sample (id: the case id, epoch: the stored epoch + 1, as inspect counts from 1) with the
prompt as input, the answer as output, one score per grader plus ``all_checks`` (the project's pass: every
grade passed), and the answer's token usage under its model. Needs the optional extra ``inspect``
(import this module only when exporting).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelOutput, ModelUsage
from inspect_ai.scorer import Score

from skillfoundry.storage.export import ExportAnswer, RunExport, run_export

ALL_CHECKS = "all_checks"
SAFE = re.compile(r"[^A-Za-z0-9_.-]+")

GroupKey = tuple[str, str, str | None, str]  # model, condition, skill_id, sampling_key


def export_inspect(data_dir: Path | str, run_id: str, out: Path) -> list[Path]:
    """Write ``run_id``'s answers as ``.eval`` logs under ``out``; return the files, one per group."""
    run = run_export(data_dir, run_id)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for key, answers in grouped(run.answers).items():
        path = out / log_name(run.run_id, key)
        write_eval_log(eval_log(run, key, answers), str(path), format="eval")
        files.append(path)
    return files


def grouped(answers: Iterable[ExportAnswer]) -> dict[GroupKey, list[ExportAnswer]]:
    """Answers per (model, condition, skill, sampling key), in stored order."""
    groups: dict[GroupKey, list[ExportAnswer]] = {}
    for a in answers:
        groups.setdefault((a.model, a.condition, a.skill_id, a.sampling_key), []).append(a)
    return groups


def log_name(run_id: str, key: GroupKey) -> str:
    """A readable, unique file name for one group's log."""
    model, condition, skill_id, sampling_key = key
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:8]
    return f"{SAFE.sub('-', run_id)}_{SAFE.sub('-', model)}_{condition}_{digest}.eval"


def eval_log(run: RunExport, key: GroupKey, answers: list[ExportAnswer]) -> EvalLog:
    """The inspect_ai EvalLog of one group of answers."""

    model, condition, skill_id, sampling_key = key
    samples = [sample(a) for a in answers]
    case_ids = list(dict.fromkeys(a.case_id for a in answers))
    usage = ModelUsage()
    for a in answers:
        usage = usage + answer_usage(a)
    created = (run.started_at or datetime.now(UTC)).astimezone(UTC).isoformat()
    spec = EvalSpec(
        run_id=run.run_id,
        eval_id=hashlib.sha256(f"{run.run_id}|{key!r}".encode()).hexdigest()[:22],
        created=created,
        task=f"skillfoundry/{condition}",
        task_id=hashlib.sha256(f"{run.run_id}|{condition}|{skill_id}".encode()).hexdigest()[:22],
        dataset=EvalDataset(name=f"skillfoundry-{run.run_id}", samples=len(case_ids), sample_ids=case_ids),
        model=model,
        config=EvalConfig(epochs=len({a.epoch for a in answers})),
        metadata={
            "run_id": run.run_id,
            "flow": run.flow,
            "condition": condition,
            "skill_id": skill_id,
            "sampling_key": sampling_key,
        },
    )
    return EvalLog(
        status="success",
        eval=spec,
        plan=EvalPlan(),
        results=EvalResults(
            total_samples=len(samples),
            completed_samples=sum(1 for a in answers if a.error_kind is None),
            scores=eval_scores(answers),
        ),
        stats=EvalStats(started_at=created, completed_at=created, model_usage={model: usage}),
        samples=samples,
    )


def answer_usage(a: ExportAnswer) -> ModelUsage:
    """The answer's tokens as inspect usage."""
    return ModelUsage(
        input_tokens=a.input_tokens, output_tokens=a.output_tokens, total_tokens=a.input_tokens + a.output_tokens
    )


def sample(a: ExportAnswer) -> EvalSample:
    """One answer as an inspect sample."""
    output = ModelOutput.from_content(a.model, a.text)
    output.usage = answer_usage(a)
    output.time = a.latency_s
    messages = [ChatMessageUser(content=a.prompt)]
    if a.error_kind is None:
        messages.append(ChatMessageAssistant(content=a.text, model=a.model))
    return EvalSample(
        id=a.case_id,
        epoch=a.epoch + 1,
        input=a.prompt,
        target="",
        messages=messages,
        output=output,
        scores=scores(a) or None,
        metadata={"gen_id": a.gen_id, "split": a.split, "seed": a.seed, "skill_id": a.skill_id},
        model_usage={a.model: answer_usage(a)},
        total_time=a.latency_s,
        error=(
            EvalError(message=f"{a.error_kind}: {a.error or ''}", traceback="", traceback_ansi="")
            if a.error_kind
            else None
        ),
    )


def scores(a: ExportAnswer) -> dict[str, Score]:
    """One score per grade, plus ``all_checks`` when the answer has grades and none failed for infrastructure."""

    out = {
        g.grader: Score(
            value=g.score,
            answer=a.text[:200],
            explanation=str(g.detail.get("reason") or g.detail.get("message") or "") or None,
            metadata={"passed": g.passed, "level": g.level, "infra_error": g.infra_error, "detail": g.detail},
        )
        for g in a.grades
    }
    if a.grades and not any(g.infra_error for g in a.grades):
        out[ALL_CHECKS] = Score(value=float(all(g.passed for g in a.grades)))
    return out


def eval_scores(answers: list[ExportAnswer]) -> list[EvalScore]:
    """The mean of each score over the samples that have it."""

    values: dict[str, list[float]] = {}
    for a in answers:
        for name, score in scores(a).items():
            values.setdefault(name, []).append(float(score.value))
    return [
        EvalScore(
            name=name,
            scorer=name,
            scored_samples=len(vals),
            unscored_samples=len(answers) - len(vals),
            metrics={"mean": EvalMetric(name="mean", value=sum(vals) / len(vals))},
        )
        for name, vals in sorted(values.items())
    ]
