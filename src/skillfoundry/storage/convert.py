"""Rows in any accepted shape -> one Arrow table that fits the table's schema, or a one-line error.

Accepted shapes: a sequence of pydantic records or dicts (validated by the table's model), a
``pyarrow.Table``, or a columnar mapping ``{column: values}`` (validated column by column with
vectorised casts, so a million rows cost milliseconds, not a million model instances).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ValidationError

from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.schemas import LATE_REQUIRED, TableSpec

Rows = Sequence[BaseModel | Mapping[str, Any]] | pa.Table | Mapping[str, Any]


def to_arrow(spec: TableSpec, rows: Rows, *, stored: bool = False) -> pa.Table:
    """Validate ``rows`` against table ``spec`` and return them as an Arrow table with its schema.

    ``stored``: rows read back from the store (compaction), where columns added later may be NULL.
    """
    if isinstance(rows, pa.RecordBatch):
        rows = pa.Table.from_batches([rows])
    if isinstance(rows, pa.Table):
        return _columns_to_arrow(spec, {n: rows.column(n) for n in rows.column_names}, rows.num_rows, stored)
    if isinstance(rows, Mapping):
        columns = dict(rows)
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise StorageError(f"{spec.name}: columns have different lengths {sorted(lengths)}")
        return _columns_to_arrow(spec, columns, lengths.pop() if lengths else 0, stored)
    return _records_to_arrow(spec, rows)


def _records_to_arrow(spec: TableSpec, rows: Sequence[BaseModel | Mapping[str, Any]]) -> pa.Table:
    records = []
    for index, row in enumerate(rows):
        if isinstance(row, BaseModel) and not isinstance(row, spec.model):
            expected = spec.model.__name__
            raise StorageError(
                f"{spec.name}: row {index}: a {type(row).__name__} is not a {spec.name} row (expected {expected})"
            )
        data = row.model_dump() if isinstance(row, BaseModel) else row
        if not isinstance(data, Mapping):
            raise StorageError(f"{spec.name}: row {index}: expected a record or a dict, got {type(row).__name__}")
        try:
            records.append(spec.model.model_validate(data))
        except ValidationError as err:
            raise StorageError(_pydantic_message(spec.name, index, err)) from None
    columns = {name: [getattr(r, name) for r in records] for name in spec.schema.names}
    return _columns_to_arrow(spec, columns, len(records), False)


def _pydantic_message(table: str, index: int, err: ValidationError) -> str:
    first = err.errors()[0]
    column = ".".join(str(p) for p in first["loc"]) or "?"
    value = first.get("input")
    shown = "missing" if first["type"] == "missing" else repr(value)[:80]
    return f"{table}: row {index}: column {column!r}: {first['msg']} (value {shown})"


def _columns_to_arrow(spec: TableSpec, columns: Mapping[str, Any], n_rows: int, stored: bool) -> pa.Table:
    unknown = [name for name in columns if name not in spec.schema.names]
    if unknown:
        raise StorageError(f"{spec.name}: unknown column {unknown[0]!r} (expected {', '.join(spec.schema.names)})")
    arrays = []
    for field in spec.schema:
        if field.name in columns:
            array = _column(spec.name, field, columns[field.name])
        elif field.name in spec.defaults:
            array = _filled(field.type, spec.defaults[field.name], n_rows)
        else:
            raise StorageError(f"{spec.name}: missing column {field.name!r} (value missing, no default)")
        _check_values(spec, field, array, stored)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=spec.schema.with_metadata(spec.metadata))


def _filled(type_: pa.DataType, value: object, n_rows: int) -> pa.Array:
    if value is None:
        return pa.nulls(n_rows, type_)
    return pa.array([value], type=type_).take(np.zeros(n_rows, dtype=np.int64))


def _family_ok(target: pa.DataType, actual: pa.DataType) -> bool:
    """Whether values of ``actual`` type may be cast to ``target`` (no silent str<->number changes)."""
    if pa.types.is_null(actual):
        return True
    if pa.types.is_dictionary(actual):
        return _family_ok(target, actual.value_type)
    if pa.types.is_string(target):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual) or pa.types.is_string_view(actual)
    if pa.types.is_integer(target):
        return pa.types.is_integer(actual) or pa.types.is_floating(actual)
    if pa.types.is_floating(target):
        return pa.types.is_integer(actual) or pa.types.is_floating(actual)
    if pa.types.is_boolean(target):
        return pa.types.is_boolean(actual)
    if pa.types.is_timestamp(target):
        return pa.types.is_timestamp(actual) or pa.types.is_date(actual)
    return actual == target


def _column(table: str, field: pa.Field, values: Any) -> pa.Array:
    """One column as an array of the field's type; a one-line error naming the first bad value."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        try:
            values = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            raise StorageError(_first_bad(table, field, list(values))) from None
    if values.type == field.type:
        return values
    if not _family_ok(field.type, values.type):
        raise StorageError(_first_bad(table, field, values.to_pylist()))
    try:
        return values.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise StorageError(_first_bad(table, field, values.to_pylist())) from None


def _first_bad(table: str, field: pa.Field, values: list[Any]) -> str:
    """The error message for the first value that does not convert on its own."""
    for index, value in enumerate(values):
        if value is None:
            continue
        try:
            single = pa.array([value])
            single.cast(field.type, safe=True)
            ok = _family_ok(field.type, single.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            return f"{table}: column {field.name!r} row {index}: value {value!r:.80} is not a valid {field.type}"
    return f"{table}: column {field.name!r}: values do not convert to {field.type}"


def _check_values(spec: TableSpec, field: pa.Field, array: pa.Array, stored: bool) -> None:
    required = not field.nullable or (not stored and (spec.name, field.name) in LATE_REQUIRED)
    if required and array.null_count:
        index = pc.index(array.is_null(), True).as_py()
        raise StorageError(f"{spec.name}: column {field.name!r} row {index}: value None is not allowed (required)")
    allowed = spec.allowed_values.get(field.name)
    if allowed is None:
        return
    ok = pc.is_in(array, value_set=pa.array(allowed, type=field.type), skip_nulls=True)
    bad = pc.and_(pc.invert(ok), array.is_valid())
    if pc.any(bad).as_py():
        index = pc.index(bad, True).as_py()
        raise StorageError(
            f"{spec.name}: column {field.name!r} row {index}: value {array[index].as_py()!r} "
            f"is not one of {', '.join(allowed)}"
        )
