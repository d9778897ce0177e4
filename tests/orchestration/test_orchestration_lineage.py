"""`skillfoundry lineage SKILL_ID` and storage.lineage.skill_lineage on real Parquet tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillfoundry.storage.errors import StorageError
from skillfoundry.storage.lineage import family, skill_lineage
from skillfoundry.storage.records import LineageRecord, SkillRecord
from skillfoundry.storage.writer import write_rows


def skill(sid: str, round_: int, parent: str | None) -> SkillRecord:
    return SkillRecord(
        run_id="r1", skill_id=sid, name="cuda-kernels", description="d", body="b", skill_md="m", files_json="{}",
        parent_skill_id=parent, round=round_, tokens=10,
    )


def edge(src_kind: str, src: str, dst_kind: str, dst: str) -> LineageRecord:
    return LineageRecord(run_id="r1", edge_id=f"{src}->{dst}", src_kind=src_kind, src_id=src, dst_kind=dst_kind, dst_id=dst)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    write_rows(data, "skills", [skill("s0", 0, None), skill("s1", 1, "s0"), skill("s2", 2, "s1"), skill("x", 0, None)])
    edges = [
        edge("trace", "t0", "skill", "s0"),
        edge("skill", "s0", "evaluation", "r1:local"),
        edge("skill", "s0", "skill", "s1"),
        edge("trace", "t1", "skill", "s1"),
        edge("skill", "s1", "skill", "s2"),
        edge("skill", "s2", "evaluation", "r1:local"),
        edge("trace", "tx", "skill", "x"),
    ]
    write_rows(data, "lineage", edges)
    write_rows(data, "lineage", edges[:2])  # a resumed run writes some edges again
    return data


def test_the_chain_runs_from_trace_to_refinements_to_evaluations(store: Path) -> None:
    found = skill_lineage(store, "s1")
    assert [v.skill_id for v in found.versions] == ["s0", "s1", "s2"]
    s0, s1, s2 = found.versions
    assert (s0.traces, s0.evaluations, s0.parent_skill_id) == (["t0"], ["r1:local"], None)
    assert (s1.traces, s1.evaluations, s1.parent_skill_id, s1.round) == (["t1"], [], "s0", 1)
    assert (s2.evaluations, s2.parent_skill_id) == (["r1:local"], "s1")
    assert [c.skill_id for c in found.children("s0")] == ["s1"]


def test_cli_prints_the_tree(store: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "skillfoundry", "lineage", "s2", "--data-dir", str(store)],
        capture_output=True, text=True, env=os.environ, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    order = [next(i for i, line in enumerate(lines) if text in line) for text in
             ("skill s0", "trace t0", "refinement s1", "trace t1", "refinement s2 cuda-kernels round 2 (asked)")]
    assert order == sorted(order)
    assert sum("evaluation r1:local" in line for line in lines) == 2
    assert "tx" not in done.stdout


def test_an_unknown_skill_is_a_one_line_error(store: Path) -> None:
    with pytest.raises(StorageError, match="no skill with id 'nope'"):
        skill_lineage(store, "nope")
    done = subprocess.run(
        [sys.executable, "-m", "skillfoundry", "lineage", "nope", "--data-dir", str(store)],
        capture_output=True, text=True, env=os.environ, timeout=120,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


@given(st.lists(st.integers(0, 7), min_size=1, max_size=8))
def test_family_puts_parents_before_children_and_covers_the_tree(parents: list[int]) -> None:
    # node i+1 has parent parents[i] % (i+1): always a tree rooted at 0
    parent_of = {f"n{i + 1}": f"n{p % (i + 1)}" for i, p in enumerate(parents)}
    for start in ["n0", *parent_of]:
        order = family(parent_of, start)
        assert order[0] == "n0" and sorted(order) == sorted({"n0", *parent_of})
        assert all(order.index(parent_of[c]) < order.index(c) for c in parent_of)
