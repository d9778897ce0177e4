"""Where a skill came from and where it went: trace -> skill -> refinements -> evaluations, from the tables."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from skillfoundry.storage.catalog import catalog
from skillfoundry.storage.errors import StorageError


class SkillVersion(BaseModel):
    """One version of a skill in a lineage: its parent (None for the first), round, and what fed and used it."""

    skill_id: str
    name: str
    round: int
    parent_skill_id: str | None
    traces: list[str]
    evaluations: list[str]


class SkillLineage(BaseModel):
    """Every version related to the asked skill, root first, each after its parent."""

    skill_id: str
    versions: list[SkillVersion]

    def children(self, skill_id: str) -> list[SkillVersion]:
        return [v for v in self.versions if v.parent_skill_id == skill_id]


def family(parent_of: dict[str, str], skill_id: str) -> list[str]:
    """The root ancestor of ``skill_id`` and all its descendants, parents before children."""
    root, seen = skill_id, {skill_id}
    while root in parent_of and parent_of[root] not in seen:
        root = parent_of[root]
        seen.add(root)
    order, todo = [], [root]
    while todo:
        current = todo.pop(0)
        order.append(current)
        todo += sorted(c for c, p in parent_of.items() if p == current and c not in order and c not in todo)
    return order


def skill_lineage(data_dir: Path, skill_id: str) -> SkillLineage:
    """The lineage of ``skill_id``: its ancestors and descendants with their traces and evaluations."""
    if not data_dir.exists():
        raise StorageError(f"{data_dir}: no data dir (run `skillfoundry run` first)")
    con = catalog(data_dir)
    try:
        skills = {
            sid: (name, int(round_))
            for sid, name, round_ in con.execute("select distinct skill_id, name, round from skills").fetchall()
        }
        if skill_id not in skills:
            raise StorageError(f"lineage: no skill with id {skill_id!r} in {data_dir}")
        edges = con.execute(
            "select distinct src_kind, src_id, dst_kind, dst_id from lineage order by src_kind, src_id, dst_id"
        ).fetchall()
    finally:
        con.close()
    parent_of = {dst: src for kind, src, dst_kind, dst in edges if kind == "skill" and dst_kind == "skill"}
    versions = [
        SkillVersion(
            skill_id=sid,
            name=skills.get(sid, ("?", -1))[0],
            round=skills.get(sid, ("?", -1))[1],
            parent_skill_id=parent_of.get(sid),
            traces=[src for kind, src, dst_kind, dst in edges if kind == "trace" and dst_kind == "skill" and dst == sid],
            evaluations=[dst for kind, src, dst_kind, dst in edges if kind == "skill" and dst_kind == "evaluation" and src == sid],
        )
        for sid in family(parent_of, skill_id)
    ]
    return SkillLineage(skill_id=skill_id, versions=versions)


class LineageEdge(BaseModel):
    """One stored edge: ``src_kind`` ``src_id`` fed ``dst_kind`` ``dst_id``."""

    src_kind: str
    src_id: str
    dst_kind: str
    dst_id: str


def run_edges(data_dir: Path, run_id: str) -> list[LineageEdge]:
    """The distinct lineage edges a run stored (a resumed run's repeated edges once)."""
    con = catalog(data_dir)
    try:
        rows = con.execute(
            """
            select distinct src_kind, src_id, dst_kind, dst_id from lineage where run_id = ?
            order by src_kind, src_id, dst_kind, dst_id
            """,
            [run_id],
        ).fetchall()
    finally:
        con.close()
    return [LineageEdge(src_kind=a, src_id=b, dst_kind=c, dst_id=d) for a, b, c, d in rows]
