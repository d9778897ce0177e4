"""One pydantic model per table: the rows that cross from the pipeline into storage.

Field names are column names. Ids are deterministic content hashes (see ``skillfoundry.ids``),
so a retried batch writes the same ids and readers can dedupe on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Condition = Literal["baseline", "with_skill"]
Split = Literal["train", "test"]
ErrorKind = Literal["timeout", "server_error", "connection", "rate_limit", "bad_request", "other"]


class Record(BaseModel):
    """Base of every stored row: strict fields, no extras.

    ``written_at`` is stamped by ``writer.write_rows`` (any value given is replaced); it orders copies
    of a row under the same id: the latest one wins (see ``views.py``).
    """

    model_config = ConfigDict(extra="forbid")
    run_id: str
    written_at: datetime | None = None


class RunRecord(Record):
    flow: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str
    config_json: str
    git_sha: str | None = None
    prefect_flow_run_id: str | None = None


class TraceRecord(Record):
    trace_id: str
    task_id: str
    model: str
    messages_json: str
    tool_calls: int
    turns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_s: float
    stop_reason: str | None = None
    final_text: str = ""


class SkillRecord(Record):
    skill_id: str
    name: str
    description: str
    body: str
    skill_md: str
    files_json: str
    parent_skill_id: str | None = None
    trace_id: str | None = None
    round: int = 0
    tokens: int


class TestCaseRecord(Record):
    case_id: str
    skill_name: str
    split: Split
    prompt: str
    checks_json: str
    kind: Literal["text", "kernel"]
    problem_id: str | None = None
    files_json: str = "{}"
    expected_output: str | None = None


class GenerationRecord(Record):
    gen_id: str
    case_id: str
    skill_id: str | None
    condition: Condition
    model: str
    epoch: int
    seed: int
    sampling_key: str
    text: str
    input_tokens: int
    output_tokens: int
    latency_s: float
    error: str | None = None
    error_kind: ErrorKind | None = None
    server: str | None = None  # the answering server's name and version (e.g. "llama-server b1-abc", "vllm 0.11")
    cached_tokens: int | None = None  # prompt tokens served from the server's prompt cache
    cost_usd: float | None = None


class GradeRecord(Record):
    grade_id: str
    gen_id: str
    grader: str
    passed: bool
    score: float
    detail_json: str
    infra_error: bool | None = None  # True: the grader, not the answer, failed (e.g. judge unreachable)
    level: str  # the GradingLevel value: how strong a pass is in the environment that graded it; rows written before it read 'unknown'
    model: str | None = None  # the model the check asked (an LLM judge) and what that call cost; None: no model
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


class KernelBuildRecord(Record):
    build_id: str
    gen_id: str | None = None
    source_sha: str
    arch: str
    options: str
    toolkit_version: str
    ok: bool
    log: str
    registers: int | None = None
    spills: int | None = None
    smem_bytes: int | None = None
    local_bytes: int | None = None
    compile_s: float
    cached: bool


class KernelBenchmarkRecord(Record):
    """One GPU benchmark; ``samples_json`` holds per-trial times in milliseconds: a JSON list, or an
    object of such lists (e.g. kernel, reference)."""

    bench_id: str
    gen_id: str | None = None
    source_sha: str
    problem_id: str
    shape_json: str
    gpu_name: str
    driver_version: str
    correct: bool
    max_abs_err: float | None = None
    time_ms: float | None = None
    time_spread_ms: float | None = None
    ref_time_ms: float | None = None
    ref_compiled_time_ms: float | None = None
    speedup: float | None = None
    trials: int
    samples_json: str
    suspect: bool = False
    detail_json: str = "{}"


class LineageRecord(Record):
    edge_id: str
    src_kind: str
    src_id: str
    dst_kind: str
    dst_id: str
    prefect_task_run_id: str | None = None


class SkillFindingRecord(Record):
    """A quality finding about a skill and its cases: a leak, a non-discriminating or duplicate case."""

    finding_id: str
    skill_id: str
    kind: str
    case_id: str
    detail: str
