"""``skills install`` and ``skills export`` through the real binary on skills stored by the pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillfoundry.domain.cuda import problem_case
from skillfoundry.kernels.problems import get_problem
from skillfoundry.skills.evals_io import import_evals
from skillfoundry.skills.folder import load_skill
from skillfoundry.skills.model import ContainsCheck, JudgeCheck, Skill, TestCase
from skillfoundry.tasks.steps import store_cases, store_skill

SKILL = Skill(
    name="cuda-kernels",
    description="Write correct, fast CUDA kernels. Use when asked for a CUDA kernel.",
    body="# CUDA kernels\n\nGuard every index against the bounds.\n",
    files={"references/checklist.md": "- bounds\n- coalescing\n"},
)
CASES = [
    TestCase(
        id="cuda-kernels-practice-0",
        split="train",
        prompt="Add two vectors.",
        checks=[ContainsCheck(values=["__global__"])],
    ),
    TestCase(
        id="7",
        prompt="Explain coalescing.",
        checks=[JudgeCheck(rubric="Mentions contiguous access.")],
        files={"notes.txt": "hi"},
    ),
    problem_case(get_problem("relu"), "test"),
]


def cli(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "skillfoundry", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    record = store_skill(SKILL, run_id="r1", data_dir=data, round_=0, parent_skill_id=None, trace_ids=[])
    store_cases(CASES, skill_name=SKILL.name, run_id="r1", data_dir=data)
    return data, record.skill_id


@pytest.mark.parametrize(
    ("agent", "root"),
    [("claude-code", ".claude/skills"), ("codex", ".agents/skills"), ("cursor", ".cursor/skills")],
)
def test_install_for_each_agent_and_scope_writes_a_valid_folder(
    tmp_path: Path, stored: tuple[Path, str], agent: str, root: str
) -> None:
    data, sid = stored
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    for scope, base in (("--user", home), ("--project", project)):
        done = cli("skills", "install", sid[:8], "--for", agent, scope, "--data-dir", str(data), home=home, cwd=project)
        assert done.returncode == 0, done.stderr
        folder = base / root / SKILL.name
        assert f"-> {folder}" in done.stdout
        assert load_skill(folder) == SKILL
        check = cli("skills", "validate", str(folder), home=home, cwd=project)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "0 error(s)" in check.stderr
    installed = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("SKILL.md") if data not in p.parents}
    assert installed == {f"home/{root}/{SKILL.name}/SKILL.md", f"project/{root}/{SKILL.name}/SKILL.md"}


def test_install_refuses_a_different_skill_of_the_same_name_without_force(
    tmp_path: Path, stored: tuple[Path, str]
) -> None:
    data, first = stored
    other = SKILL.model_copy(update={"body": "# CUDA kernels\n\nA different procedure.\n"})
    second = store_skill(other, run_id="r2", data_dir=data, round_=1, parent_skill_id=first, trace_ids=[]).skill_id
    target = tmp_path / "skills"
    args = ("--for", "dir", "--dir", str(target), "--data-dir", str(data))
    assert cli("skills", "install", first, *args, home=tmp_path, cwd=tmp_path).returncode == 0
    again = cli("skills", "install", first, *args, home=tmp_path, cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # the same skill: nothing to do
    refused = cli("skills", "install", second, *args, home=tmp_path, cwd=tmp_path)
    assert refused.returncode == 1
    assert "a different skill named 'cuda-kernels'" in refused.stderr and "--force" in refused.stderr
    assert load_skill(target / SKILL.name) == SKILL  # untouched
    forced = cli("skills", "install", second, *args, "--force", home=tmp_path, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert load_skill(target / SKILL.name) == other


def test_install_reports_bad_input_in_one_line(tmp_path: Path, stored: tuple[Path, str]) -> None:
    data, sid = stored
    for args, expected in (
        (("nope-nope", "--for", "codex"), "skill 'nope-nope' not found"),
        ((sid[:2], "--for", "codex"), "expected at least 4 characters"),
        ((sid, "--for", "vim"), "--for: expected one of claude-code, codex, cursor, dir"),
        ((sid, "--for", "dir"), "--for dir: expected --dir FOLDER"),
    ):
        done = cli("skills", "install", *args, "--data-dir", str(data), home=tmp_path, cwd=tmp_path)
        assert done.returncode in (1, 2), done
        assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert [p for p in tmp_path.rglob("SKILL.md") if data not in p.parents] == []


def test_export_writes_evals_that_round_trip_through_import(tmp_path: Path, stored: tuple[Path, str]) -> None:
    data, sid = stored
    out = tmp_path / "out"
    done = cli("skills", "export", sid, "--out", str(out), "--data-dir", str(data), home=tmp_path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = out / SKILL.name
    assert load_skill(folder) == SKILL
    imported = import_evals(folder)
    assert imported.skill_name == SKILL.name
    by_id = {c.id: c for c in imported.cases}
    assert set(by_id) == {c.id for c in CASES}
    for case in CASES:
        if case.files:  # the documented lossy case: input files move under evals/files/
            assert by_id[case.id].files == {f"evals/files/{k}": v for k, v in case.files.items()}
        else:
            assert by_id[case.id] == case
            assert by_id[case.id].case_id() == case.case_id()  # answers to it pair with the stored ones
    again = cli("skills", "import-evals", str(folder), home=tmp_path, cwd=tmp_path)
    assert again.returncode == 0 and '"skill_name": "cuda-kernels"' in again.stdout
    assert cli("skills", "validate", str(folder), home=tmp_path, cwd=tmp_path).returncode == 0
