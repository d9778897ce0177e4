"""The explicit Arrow schema of every table, next to its pydantic model and id column.

Every Parquet file carries ``skillfoundry.table`` and ``skillfoundry.schema_version`` in its
key-value metadata; readers refuse files without them. Adding a nullable column is a compatible
change (older files read it as NULL); anything else needs a new ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa
from pydantic import BaseModel

from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.records import (
    GenerationRecord,
    GradeRecord,
    KernelBenchmarkRecord,
    KernelBuildRecord,
    LineageRecord,
    RunRecord,
    SkillFindingRecord,
    SkillRecord,
    TestCaseRecord,
    TraceRecord,
)

SCHEMA_VERSION = 1
META_TABLE = b"skillfoundry.table"
META_VERSION = b"skillfoundry.schema_version"

STR = pa.string()
INT = pa.int64()
FLOAT = pa.float64()
BOOL = pa.bool_()
TIME = pa.timestamp("us", tz="UTC")


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, type_, nullable=nullable) for name, type_, nullable in fields])


REQ, OPT = False, True

WRITTEN_AT = "written_at"

SCHEMAS: dict[str, pa.Schema] = {
    "runs": _schema(
        ("run_id", STR, REQ),
        ("flow", STR, REQ),
        ("started_at", TIME, REQ),
        ("finished_at", TIME, OPT),
        ("status", STR, REQ),
        ("config_json", STR, REQ),
        ("git_sha", STR, OPT),
        ("prefect_flow_run_id", STR, OPT),
    ),
    "traces": _schema(
        ("run_id", STR, REQ),
        ("trace_id", STR, REQ),
        ("task_id", STR, REQ),
        ("model", STR, REQ),
        ("messages_json", STR, REQ),
        ("tool_calls", INT, REQ),
        ("turns", INT, REQ),
        ("input_tokens", INT, REQ),
        ("output_tokens", INT, REQ),
        ("cost_usd", FLOAT, REQ),
        ("latency_s", FLOAT, REQ),
        ("stop_reason", STR, OPT),
        ("final_text", STR, REQ),
    ),
    "skills": _schema(
        ("run_id", STR, REQ),
        ("skill_id", STR, REQ),
        ("name", STR, REQ),
        ("description", STR, REQ),
        ("body", STR, REQ),
        ("skill_md", STR, REQ),
        ("files_json", STR, REQ),
        ("parent_skill_id", STR, OPT),
        ("trace_id", STR, OPT),
        ("round", INT, REQ),
        ("tokens", INT, REQ),
    ),
    "test_cases": _schema(
        ("run_id", STR, REQ),
        ("case_id", STR, REQ),
        ("skill_name", STR, REQ),
        ("split", STR, REQ),
        ("prompt", STR, REQ),
        ("checks_json", STR, REQ),
        ("kind", STR, REQ),
        ("problem_id", STR, OPT),
        ("files_json", STR, REQ),
        ("expected_output", STR, OPT),
    ),
    "generations": _schema(
        ("run_id", STR, REQ),
        ("gen_id", STR, REQ),
        ("case_id", STR, REQ),
        ("skill_id", STR, OPT),
        ("condition", STR, REQ),
        ("model", STR, REQ),
        ("epoch", INT, REQ),
        ("seed", INT, REQ),
        ("sampling_key", STR, REQ),
        ("text", STR, REQ),
        ("input_tokens", INT, REQ),
        ("output_tokens", INT, REQ),
        ("latency_s", FLOAT, REQ),
        ("error", STR, OPT),
        ("error_kind", STR, OPT),
        ("server", STR, OPT),
        ("cached_tokens", INT, OPT),
        ("cost_usd", FLOAT, OPT),
    ),
    "grades": _schema(
        ("run_id", STR, REQ),
        ("grade_id", STR, REQ),
        ("gen_id", STR, REQ),
        ("grader", STR, REQ),
        ("passed", BOOL, REQ),
        ("score", FLOAT, REQ),
        ("detail_json", STR, REQ),
        ("infra_error", BOOL, OPT),
        ("level", STR, OPT),  # rows written before grading levels have none: "unknown"
        ("model", STR, OPT),
        ("input_tokens", INT, OPT),
        ("output_tokens", INT, OPT),
        ("cost_usd", FLOAT, OPT),
    ),
    "kernel_builds": _schema(
        ("run_id", STR, REQ),
        ("build_id", STR, REQ),
        ("gen_id", STR, OPT),
        ("source_sha", STR, REQ),
        ("arch", STR, REQ),
        ("options", STR, REQ),
        ("toolkit_version", STR, REQ),
        ("ok", BOOL, REQ),
        ("log", STR, REQ),
        ("registers", INT, OPT),
        ("spills", INT, OPT),
        ("smem_bytes", INT, OPT),
        ("local_bytes", INT, OPT),
        ("compile_s", FLOAT, REQ),
        ("cached", BOOL, REQ),
    ),
    "kernel_benchmarks": _schema(
        ("run_id", STR, REQ),
        ("bench_id", STR, REQ),
        ("gen_id", STR, OPT),
        ("source_sha", STR, REQ),
        ("problem_id", STR, REQ),
        ("shape_json", STR, REQ),
        ("gpu_name", STR, REQ),
        ("driver_version", STR, REQ),
        ("correct", BOOL, REQ),
        ("max_abs_err", FLOAT, OPT),
        ("time_ms", FLOAT, OPT),
        ("time_spread_ms", FLOAT, OPT),
        ("ref_time_ms", FLOAT, OPT),
        ("ref_compiled_time_ms", FLOAT, OPT),
        ("speedup", FLOAT, OPT),
        ("trials", INT, REQ),
        ("samples_json", STR, REQ),
        ("suspect", BOOL, REQ),
        ("detail_json", STR, REQ),
    ),
    "lineage": _schema(
        ("run_id", STR, REQ),
        ("edge_id", STR, REQ),
        ("src_kind", STR, REQ),
        ("src_id", STR, REQ),
        ("dst_kind", STR, REQ),
        ("dst_id", STR, REQ),
        ("prefect_task_run_id", STR, OPT),
    ),
    "skill_findings": _schema(
        ("run_id", STR, REQ),
        ("finding_id", STR, REQ),
        ("skill_id", STR, REQ),
        ("kind", STR, REQ),
        ("case_id", STR, REQ),
        ("detail", STR, REQ),
    ),
}

MODELS: dict[str, type[BaseModel]] = {
    "runs": RunRecord,
    "traces": TraceRecord,
    "skills": SkillRecord,
    "test_cases": TestCaseRecord,
    "generations": GenerationRecord,
    "grades": GradeRecord,
    "kernel_builds": KernelBuildRecord,
    "kernel_benchmarks": KernelBenchmarkRecord,
    "lineage": LineageRecord,
    "skill_findings": SkillFindingRecord,
}

ID_COLUMNS: dict[str, str] = {
    "runs": "run_id",
    "traces": "trace_id",
    "skills": "skill_id",
    "test_cases": "case_id",
    "generations": "gen_id",
    "grades": "grade_id",
    "kernel_builds": "build_id",
    "kernel_benchmarks": "bench_id",
    "lineage": "edge_id",
    "skill_findings": "finding_id",
}

# Every table's second column is the time its row was written (stamped by the writer; NULL in older files).
SCHEMAS = {name: schema.insert(1, pa.field(WRITTEN_AT, TIME, nullable=True)) for name, schema in SCHEMAS.items()}

#: Columns added after files were written: required in new rows (the model), NULL in older files.
LATE_REQUIRED: frozenset[tuple[str, str]] = frozenset({("grades", "level")})

TABLES: tuple[str, ...] = tuple(SCHEMAS)


def _literal_values(annotation: object) -> tuple[str, ...] | None:
    """The allowed strings of a ``Literal[...]`` (or ``Literal[...] | None``) annotation."""
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            values = _literal_values(arg)
            if values is not None:
                return values
    return None


@dataclass(frozen=True)
class TableSpec:
    """Everything the writers and readers know about one table."""

    name: str
    model: type[BaseModel]
    schema: pa.Schema
    id_column: str

    @cached_property
    def metadata(self) -> dict[bytes, bytes]:
        return {META_TABLE: self.name.encode(), META_VERSION: str(SCHEMA_VERSION).encode()}

    @cached_property
    def allowed_values(self) -> dict[str, tuple[str, ...]]:
        """Columns restricted to a fixed set of strings (the models' Literal fields)."""
        out = {}
        for name, field in self.model.model_fields.items():
            values = _literal_values(field.annotation)
            if values is not None:
                out[name] = values
        return out

    @cached_property
    def defaults(self) -> dict[str, object]:
        """Column defaults from the model, used when a columnar batch leaves a column out."""
        return {name: field.default for name, field in self.model.model_fields.items() if not field.is_required()}


def table_spec(name: str) -> TableSpec:
    """The spec of table ``name``; a StorageError naming the known tables otherwise."""
    if name not in SCHEMAS:
        raise StorageError(f"unknown table {name!r}: expected one of {', '.join(TABLES)}")
    return _SPECS[name]


_SPECS = {name: TableSpec(name, MODELS[name], SCHEMAS[name], ID_COLUMNS[name]) for name in SCHEMAS}
