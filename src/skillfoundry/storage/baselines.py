"""Which baseline answers already exist, so a run reuses them instead of asking the model again."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from skillfoundry.storage.files import scan
from skillfoundry.storage.schemas import table_spec
from skillfoundry.storage.views import files_view


def existing_baselines(
    data_dir: Path | str, model: str, case_ids: Iterable[str], sampling_key: str, epochs: Iterable[int]
) -> set[tuple[str, int]]:
    """The (case_id, epoch) pairs among ``case_ids`` x ``epochs`` that already have a usable baseline.

    Usable: a generation of ``model`` with ``sampling_key``, condition 'baseline' and no skill, that
    did not fail on an infrastructure error and has at least one grade. Errored or ungraded ones
    are not listed, so the pipeline asks again. A data dir that does not exist yet holds none.
    """
    cases, wanted_epochs = sorted(set(case_ids)), sorted(set(epochs))
    if not cases or not wanted_epochs or not Path(data_dir).exists():
        return set()
    inventory = scan(data_dir, tables=("generations", "grades"))
    gens, grades = inventory.tables["generations"], inventory.tables["grades"]
    if not gens.files or not grades.files:
        return set()
    con = duckdb.connect()
    try:
        for name, found in (("generations", gens), ("grades", grades)):
            con.execute(f"CREATE VIEW {name} AS {files_view(table_spec(name), found.layouts)}")
        rows = con.execute(
            """
            SELECT DISTINCT g.case_id, g.epoch
            FROM generations g
            WHERE g.model = $model AND g.sampling_key = $key AND g.condition = 'baseline' AND g.skill_id IS NULL
              AND g.error_kind IS NULL
              AND g.case_id IN (SELECT unnest($cases::VARCHAR[])) AND g.epoch IN (SELECT unnest($epochs::BIGINT[]))
              AND EXISTS (SELECT 1 FROM grades r WHERE r.run_id = g.run_id AND r.gen_id = g.gen_id)
            """,
            {"model": model, "key": sampling_key, "cases": cases, "epochs": wanted_epochs},
        ).fetchall()
    finally:
        con.close()
    return {(case_id, int(epoch)) for case_id, epoch in rows}
