"""``skillfoundry kernels import-kernelbench``: problem files read statically into stored suites."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillfoundry.kernelbench.problems import (
    KBProblem,
    KernelBenchError,
    get_kb_problem,
    import_kernelbench,
    load_suite,
    parse_problem,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kernelbench"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "skillfoundry", "kernels", "import-kernelbench", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ.copy())


def test_import_cli_stores_levels_with_ids_names_and_sources(tmp_path: Path) -> None:
    done = cli(str(FIXTURES), "--level", "1", "--level", "2", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "kernelbench-l1: 3 problems" in done.stdout and "kernelbench-l2: 2 problems" in done.stdout
    l1 = load_suite(tmp_path, "kernelbench-l1")
    assert [(p.id, p.level, p.number, p.name) for p in l1.problems] == [
        ("kb-l1-1", 1, 1, "Scale_and_shift"),
        ("kb-l1-2", 1, 2, "Row_sum"),
        ("kb-l1-3", 1, 3, "Leaky_clamp"),
    ]
    for p in l1.problems:
        assert p.source == next((FIXTURES / "KernelBench" / "level1").glob(f"{p.number}_*.py")).read_text()
    leaky = get_kb_problem(tmp_path, "kb-l1-3")
    assert leaky.constants == {"n": 1 << 20, "slope": 0.05, "limit": 3.0}
    assert leaky.forward_args == ["x"]
    assert get_kb_problem(tmp_path, "kb-l2-1").name == "Matmul_bias_tanh"


def test_only_the_asked_level_is_stored(tmp_path: Path) -> None:
    suites = import_kernelbench(FIXTURES / "KernelBench", tmp_path, (2,))
    assert [s.name for s in suites] == ["kernelbench-l2"]
    with pytest.raises(KernelBenchError, match="kernelbench-l1.*imported: kernelbench-l2"):
        load_suite(tmp_path, "kernelbench-l1")


def test_problem_files_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    level = tmp_path / "kb" / "level1"
    level.mkdir(parents=True)
    (level / "7_Hostile.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nraise SystemExit(3)\n"
        "class Model:\n    def forward(self, x):\n        return x\n"
        "def get_inputs():\n    return []\ndef get_init_inputs():\n    return []\n"
    )
    (suite,) = import_kernelbench(tmp_path / "kb", tmp_path / "data", (1,))
    assert suite.problems[0].id == "kb-l1-7"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("def get_inputs(): pass\ndef get_init_inputs(): pass\n", "expected a reference class Model"),
        ("class Model:\n    pass\ndef get_inputs(): pass\ndef get_init_inputs(): pass\n", "no forward method"),
        ("class Model:\n    def forward(self): pass\ndef get_inputs(): pass\n", "get_init_inputs"),
        ("class Model(:\n", "not a Python source file"),
    ],
)
def test_bad_problem_file_is_a_one_line_error_and_keeps_the_stored_suite(
    tmp_path: Path, text: str, expected: str
) -> None:
    data = tmp_path / "data"
    import_kernelbench(FIXTURES, data, (1,))
    before = (data / "suites" / "kernelbench-l1.json").read_bytes()
    checkout = tmp_path / "kb"
    shutil.copytree(FIXTURES / "KernelBench", checkout)
    (checkout / "level1" / "9_Broken.py").write_text(text)
    done = cli(str(checkout), "--level", "1", "--data-dir", str(data))
    assert done.returncode == 2
    assert "9_Broken.py" in done.stderr and expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (data / "suites" / "kernelbench-l1.json").read_bytes() == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=300))
def test_any_file_text_parses_or_fails_with_a_named_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "5_Any.py"
    path.write_bytes(body.encode("utf-8", "surrogatepass"))
    try:
        problem = parse_problem(path, 1)
    except KernelBenchError as err:
        assert str(path) in str(err) and "\n" not in str(err)
    else:
        assert isinstance(problem, KBProblem) and problem.id == "kb-l1-5"
