"""Lineage as Prefect assets: every trace, skill version and evaluation of a run is an asset with a
``skillfoundry://`` key, materialised with its upstream assets, so Prefect shows trace -> skill ->
refinements -> evaluations (the open-source UI lists them as asset events; ``skillfoundry lineage`` reads
the same chain from the tables)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from prefect.assets import Asset, AssetProperties, materialize

from skillfoundry.storage.lineage import LineageEdge, run_edges

SCHEME = "skillfoundry://"


def asset_key(kind: str, node_id: str) -> str:
    """``skillfoundry://skill/<id>``; characters Prefect refuses in keys become ``-``."""
    return f"{SCHEME}{kind}/" + re.sub(r"[^A-Za-z0-9._:@/=+-]", "-", node_id)


def upstream_of(edges: list[LineageEdge]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each materialised node (kind, id) and the nodes it was made from, in a stable order."""
    upstream: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for e in edges:
        upstream[(e.dst_kind, e.dst_id)].append((e.src_kind, e.src_id))
    return dict(sorted(upstream.items()))


def _recorded() -> None:
    """Nothing to compute: the rows are stored; the task exists to emit the materialisation."""


def publish_assets(data_dir: Path, run_id: str) -> list[str]:
    """Materialise the run's lineage as Prefect assets (one task per made node); the keys published."""
    keys = []
    for (kind, node_id), sources in upstream_of(run_edges(data_dir, run_id)).items():
        key = asset_key(kind, node_id)
        asset = Asset(key=key, properties=AssetProperties(name=f"{kind} {node_id}"[:120], description=f"run {run_id}"))
        deps = [asset_key(k, i) for k, i in sources]
        materialize(asset, asset_deps=deps, name=f"materialize-{kind}")(_recorded)()
        keys.append(key)
    return keys
