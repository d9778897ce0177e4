"""A DuckDB connection with one view per table and the derived views (see ``views.py``).

``catalog`` checks every file first (a foreign or corrupt file is a one-line error naming it),
then builds the views over exactly those files: the connection is a consistent snapshot of the
store at open time. Nothing under the data dir is ever written by a read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from duckdb.sqltypes import DOUBLE, UBIGINT

from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.files import Inventory, scan
from skillfoundry.storage.prices import Price, price_table
from skillfoundry.storage.recommend import answer_cost_view, recommendations_sql
from skillfoundry.storage.rollup import SOURCE_TABLES, plan_cells
from skillfoundry.storage.schemas import TABLES, table_spec
from skillfoundry.storage.stats import DEFAULT_LEVEL, DEFAULT_N_BOOT, DEFAULT_SEED, bootstrap_groups
from skillfoundry.storage.views import (
    FMIX_MACROS,
    LiftOptions,
    answers_sql,
    case_lift_view,
    cases_view,
    cells_view,
    cost_view,
    dedup_view,
    files_view,
    ident,
    kernel_speedups_view,
    pass_rates_view,
    raw_view,
    run_order_view,
    skill_lift_view,
)

DEFAULT_MIN_CASES = 10
DERIVED_VIEWS = ("answers", "pass_rates", "case_lift", "skill_lift", "cost", "kernel_speedups", "recommendations")


def catalog(
    data_dir: Path | str,
    *,
    database: str = ":memory:",
    min_cases: int = DEFAULT_MIN_CASES,
    prices: Mapping[str, Price] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> duckdb.DuckDBPyConnection:
    """Open ``database`` with views over the checked Parquet files under ``data_dir``.

    ``min_cases``: fewer paired test cases give the verdict 'inconclusive'. ``prices``: model ->
    (USD per million input tokens, per million output tokens), added to ``prices.DEFAULT_PRICES``.
    ``n_boot``, ``seed``, ``level``: the bootstrap. The skill_lift view calls a Python function
    registered on this connection; use ``query.export_db`` for a file that plain DuckDB opens.
    """
    options = lift_options(min_cases=min_cases, n_boot=n_boot, seed=seed, level=level, udf=True)
    inventory = scan(data_dir)
    try:
        con = duckdb.connect(database)
    except duckdb.Error as err:
        raise StorageError(f"database {database!r}: {str(err).splitlines()[0]}") from None
    register_bootstrap(con, options)
    create_views(con, inventory, options, prices, snapshot=True)
    return con


def lift_options(*, min_cases: int, n_boot: int, seed: int, level: float, udf: bool) -> LiftOptions:
    """Checked lift settings; a one-line StorageError names the bad one."""
    if min_cases < 0:
        raise StorageError(f"min_cases {min_cases}: expected >= 0")
    if n_boot < 1:
        raise StorageError(f"n_boot {n_boot}: expected >= 1")
    if not 0.0 < level < 1.0:
        raise StorageError(f"level {level}: expected a confidence level between 0 and 1")
    return LiftOptions(min_cases=min_cases, n_boot=n_boot, seed=seed, level=level, udf=udf)


def create_views(
    con: duckdb.DuckDBPyConnection,
    inventory: Inventory,
    options: LiftOptions,
    prices: Mapping[str, Price] | None,
    *,
    snapshot: bool,
) -> None:
    """Create every view.

    ``snapshot`` reads exactly the checked files and uses current rollups; otherwise the views read
    live globs under the data dir and count every run from raw rows (a portable database file).
    """
    con.execute("SET enable_progress_bar = false")
    con.execute("SET parquet_metadata_cache = true")
    for statement in FMIX_MACROS:
        con.execute(statement)
    for table in TABLES:
        spec, found = table_spec(table), inventory.tables[table]
        if snapshot or not found.layouts:
            _view(con, f"_raw_{table}", files_view(spec, found.layouts))
        else:
            present = {name for names in found.layouts.values() for name in names}
            live = str(inventory.data_dir / table / "**" / "*.parquet")
            _view(con, f"_raw_{table}", raw_view(spec, live, present, union_by_name=True))
        _view(con, table, dedup_view(spec))
    if snapshot:
        _cell_views_with_rollups(con, inventory)
    else:
        _view(con, "_cells", cells_view({}, "_raw_generations", "_raw_grades"))
    prices_sql, cost_sql = cost_view(price_table(prices))
    _view(con, "_prices", prices_sql)
    _view(con, "answers", answers_sql("_raw_generations", "_raw_grades", details=True))
    _view(con, "_cases", cases_view())
    _view(con, "_run_order", run_order_view())
    _view(con, "pass_rates", pass_rates_view())
    _view(con, "_case_lift", case_lift_view())
    _view(con, "case_lift", "SELECT * EXCLUDE (case_key) FROM _case_lift")
    _view(con, "skill_lift", skill_lift_view(options))
    _view(con, "cost", cost_sql)
    _view(con, "kernel_speedups", kernel_speedups_view())
    _view(con, "_answer_cost", answer_cost_view())
    _view(con, "recommendations", recommendations_sql(options))


def _cell_views_with_rollups(con: duckdb.DuckDBPyConnection, inventory: Inventory) -> None:
    """``_cells`` from the current rollups plus raw counting of every run without one."""
    files = {t: inventory.tables[t].files for t in SOURCE_TABLES}
    plan = plan_cells(files, inventory.rollups)
    for table in SOURCE_TABLES:
        pending = inventory.tables[table].subset(plan.pending[table])
        _view(con, f"_pending_{table}", files_view(table_spec(table), pending))
    _view(con, "_cells", cells_view(plan.fresh, "_pending_generations", "_pending_grades"))


def _view(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    con.execute(f"CREATE OR REPLACE VIEW {ident(name)} AS {sql}")


def register_bootstrap(con: duckdb.DuckDBPyConnection, options: LiftOptions) -> None:
    """Register ``sf_bootstrap_ci(case_keys, diffs)``: the vectorised numpy bootstrap of ``stats``."""

    def bootstrap_ci(keys: pa.Array, diffs: pa.Array) -> pa.Array:
        key_lists, diff_lists = _split_lists(keys, np.uint64), _split_lists(diffs, np.float64)
        lo, hi = bootstrap_groups(key_lists, diff_lists, n_boot=options.n_boot, seed=options.seed, level=options.level)
        return pa.StructArray.from_arrays(
            [pa.array(lo, mask=np.isnan(lo)), pa.array(hi, mask=np.isnan(hi))], names=["ci_low", "ci_high"]
        )

    con.create_function(
        "sf_bootstrap_ci",
        bootstrap_ci,
        [duckdb.list_type(UBIGINT), duckdb.list_type(DOUBLE)],
        duckdb.struct_type({"ci_low": DOUBLE, "ci_high": DOUBLE}),
        type="arrow",
        side_effects=False,
    )


def _split_lists(array: pa.Array, dtype: type) -> list[np.ndarray]:
    """A list column as one numpy array per row (a NULL list is empty)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    offsets = array.offsets.to_numpy()
    values = array.values.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    return [values[offsets[i] : offsets[i + 1]] if valid[i] else values[:0] for i in range(len(array))]
