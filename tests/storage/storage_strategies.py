"""Hypothesis strategies for rows of every table, derived from the explicit Arrow schemas."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from skillfoundry.storage.schemas import LATE_REQUIRED, WRITTEN_AT, TableSpec
from skillfoundry.storage.writer import RUN_ID_PATTERN

TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
RUN_IDS = st.from_regex(RUN_ID_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 40)


def value_strategy(spec: TableSpec, field: pa.Field) -> st.SearchStrategy[Any]:
    """Valid values of one column."""
    if field.name == "run_id":
        base: st.SearchStrategy[Any] = RUN_IDS
    elif field.name in spec.allowed_values:
        base = st.sampled_from(spec.allowed_values[field.name])
    elif pa.types.is_string(field.type):
        base = TEXT
    elif pa.types.is_integer(field.type):
        base = st.integers(min_value=-(2**63), max_value=2**63 - 1)
    elif pa.types.is_floating(field.type):
        base = st.floats(allow_nan=False)
    elif pa.types.is_boolean(field.type):
        base = st.booleans()
    elif pa.types.is_timestamp(field.type):
        base = st.datetimes(timezones=st.just(UTC))
    else:  # pragma: no cover - every schema type is listed above
        raise AssertionError(field.type)
    optional = field.nullable and (spec.name, field.name) not in LATE_REQUIRED
    return st.one_of(st.none(), base) if optional else base


def row_dicts(
    spec: TableSpec, *, min_size: int = 1, max_size: int = 8, run_ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of valid rows of ``spec`` with unique ids (a few run ids shared between rows)."""

    def build(shared: list[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
        fields = {f.name: value_strategy(spec, f) for f in spec.schema if f.name != WRITTEN_AT}  # the writer stamps it
        if spec.id_column != "run_id":
            fields["run_id"] = st.sampled_from(shared)
        return st.lists(
            st.fixed_dictionaries(fields), min_size=min_size, max_size=max_size, unique_by=lambda r: r[spec.id_column]
        )

    return st.lists(run_ids or RUN_IDS, min_size=1, max_size=3, unique=True).flatmap(build)
