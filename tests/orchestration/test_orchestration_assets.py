"""Lineage as Prefect assets on a real server: trace -> skill -> refinement -> evaluation materialisations;
the run summary links the skill folder and the HTML report."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prefect import flow
from prefect.client.orchestration import get_client

from skillfoundry.flows.assets import asset_key, publish_assets
from skillfoundry.flows.publish import summary_markdown
from skillfoundry.storage.query import LiftSummary
from skillfoundry.storage.records import LineageRecord
from skillfoundry.storage.writer import write_rows


def edge(src_kind: str, src: str, dst_kind: str, dst: str) -> LineageRecord:
    return LineageRecord(run_id="ra", edge_id=f"{src}->{dst}", src_kind=src_kind, src_id=src, dst_kind=dst_kind, dst_id=dst)


async def materialisations() -> dict[str, set[str]]:
    """Asset key -> the upstream asset keys of its materialisation events."""
    async with get_client() as client:
        response = await client._client.post(
            "/events/filter",
            json={"filter": {"event": {"prefix": ["prefect.asset.materialization"]}}, "limit": 50},
        )
    response.raise_for_status()
    found: dict[str, set[str]] = {}
    for event in response.json()["events"]:
        key = event["resource"]["prefect.resource.id"]
        ups = {r["prefect.resource.id"] for r in event.get("related", []) if r.get("prefect.resource.role") == "asset"}
        found.setdefault(key, set()).update(ups)
    return found


def test_the_run_lineage_is_materialised_as_assets(prefect_server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_rows(data, "lineage", [
        edge("trace", "t0", "skill", "s0"),
        edge("skill", "s0", "skill", "s1"),
        edge("trace", "t1", "skill", "s1"),
        edge("skill", "s1", "evaluation", "ra:openai:m@http://127.0.0.1:8000/v1"),
    ])

    @flow
    def publish() -> list[str]:
        return publish_assets(data, "ra")

    keys = publish()
    evaluation = asset_key("evaluation", "ra:openai:m@http://127.0.0.1:8000/v1")
    assert keys == [evaluation, asset_key("skill", "s0"), asset_key("skill", "s1")]
    assert all(k.startswith("skillfoundry://") for k in keys)
    deadline, seen = time.monotonic() + 120, {}
    while time.monotonic() < deadline and not set(keys) <= set(seen):
        time.sleep(2)
        seen = asyncio.run(materialisations())
    assert seen[asset_key("skill", "s0")] == {asset_key("trace", "t0")}
    assert seen[asset_key("skill", "s1")] == {asset_key("skill", "s0"), asset_key("trace", "t1")}
    assert seen[evaluation] == {asset_key("skill", "s1")}


def test_the_summary_links_the_skill_folder_and_the_report(tmp_path: Path) -> None:
    row = LiftSummary(
        model="local", skill_id="s1", sampling_key="k", n_cases=8, n_epochs=3, n_errors=0, baseline_pass_rate=0.25,
        skill_pass_rate=0.5, lift=0.25, ci_low=0.05, ci_high=0.45, p_value=0.03, verdict="helps", skill_tokens=900,
        leaks=0, non_discriminating=1,
    )
    skill_dir, report = tmp_path / "skill_folders" / "s1" / "cuda-kernels", tmp_path / "reports" / "r1.html"
    text = summary_markdown("r1", "s1", skill_dir, report, [row])
    assert f"]({skill_dir.resolve().as_uri()})" in text and f"]({report.resolve().as_uri()})" in text
    assert "**local**: helps, lift +0.250 (95% CI [+0.050, +0.450], p 0.030, 8 cases x 3 epochs)" in text
