"""Read KernelBench problem files statically (``ast``, never executed) into stored suites.

A problem file holds a reference ``class Model(nn.Module)`` with ``forward``, ``get_inputs()``,
``get_init_inputs()`` and module-level size constants; its name is ``<number>_<Name>.py`` under
``level<N>/``. Suites are JSON files ``<data_dir>/suites/kernelbench-l<N>.json``, written atomically.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

SUITE_PREFIX = "kernelbench-l"
LEVELS = (1, 2, 3)
FILE_NAME = re.compile(r"^(\d+)_([A-Za-z0-9_\-]+)\.py$")
MAX_FILE_BYTES = 256 * 1024
REQUIRED_FUNCTIONS = ("get_inputs", "get_init_inputs")


class KernelBenchError(ValueError):
    """A one-line error naming the file or suite and what was expected."""


class KBProblem(BaseModel):
    """One KernelBench problem: its id, level, number and name, and the reference module's source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    level: int
    number: int
    name: str
    source: str
    source_sha: str
    constants: dict[str, int | float | bool | str]
    forward_args: list[str]
    description: str = ""

    @property
    def prompt(self) -> str:
        """The student's task, in KernelBench's answer format (our wording)."""
        return ANSWER_FORMAT.format(source=self.source.strip())


ANSWER_FORMAT = """Write custom CUDA kernels that replace the PyTorch operators of the architecture below, for speed.

Reference architecture (Model, its inputs from get_inputs() and its constructor arguments from get_init_inputs()):
```python
{source}
```

Answer with one complete Python module in a ```python block that defines `class ModelNew(nn.Module)` with the same
constructor arguments and forward signature as Model. Bring the CUDA code in with
`torch.utils.cpp_extension.load_inline` (literal `cuda_sources`, `cpp_sources` and `functions` strings) and do
all the work of forward in your kernels: do not call Model, torch operators or tensor arithmetic in forward or
in the C++ wrapper (allocating outputs with torch::empty and friends is fine), and do not keep results
between calls. At import the module may only import torch, assign strings and numbers, call load_inline (no
options beyond sources, functions and optimisation flags) and define classes and functions; the C++ may not
call the system, files or Python."""


class Suite(BaseModel):
    """A stored suite of KernelBench problems (one level)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    level: int
    imported_from: str
    problems: list[KBProblem]


def suite_name(level: int) -> str:
    return f"{SUITE_PREFIX}{level}"


def problem_id(level: int, number: int) -> str:
    return f"kb-l{level}-{number}"


def parse_problem(path: Path, level: int) -> KBProblem:
    """The problem in ``path`` (read, parsed, never run); a KernelBenchError names what is missing."""
    match = FILE_NAME.match(path.name)
    if match is None:
        raise KernelBenchError(f"{path}: expected a file named <number>_<Name>.py")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise KernelBenchError(f"{path}: larger than {MAX_FILE_BYTES} bytes, not a problem file")
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (ValueError, SyntaxError) as err:  # undecodable bytes; NUL bytes (ValueError on Python 3.11.2)
        raise KernelBenchError(f"{path}: not a Python source file ({type(err).__name__}: {err})") from None
    model = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Model"), None)
    if model is None:
        raise KernelBenchError(f"{path}: expected a reference class Model(nn.Module)")
    forward = next((n for n in model.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
    if forward is None:
        raise KernelBenchError(f"{path}: class Model has no forward method")
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    missing = [f for f in REQUIRED_FUNCTIONS if f not in functions]
    if missing:
        raise KernelBenchError(f"{path}: expected module-level function(s) {', '.join(missing)}()")
    number, name = int(match.group(1)), match.group(2).strip("_")
    return KBProblem(
        id=problem_id(level, number),
        level=level,
        number=number,
        name=name,
        source=source,
        source_sha=hashlib.sha256(source.encode()).hexdigest(),
        constants=module_constants(tree),
        forward_args=[a.arg for a in forward.args.args[1:]],
        description=ast.get_docstring(model) or "",
    )


def module_constants(tree: ast.Module) -> dict[str, int | float | bool | str]:
    """Module-level ``NAME = literal`` assignments (sizes), evaluated as literals only; ``1 << 20``-style
    integer arithmetic over earlier constants is folded without running anything."""
    found: dict[str, int | float | bool | str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = fold(node.value, found)
            if value is not None:
                found[node.targets[0].id] = value
    return found


_OPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.LShift: lambda a, b: a << b if 0 <= b < 64 else None,
    ast.Div: lambda a, b: a / b,
}


def fold(node: ast.expr, known: dict[str, int | float | bool | str]) -> int | float | bool | str | None:
    """A literal, a known constant, or small arithmetic over them; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | bool | str):
        return node.value
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = fold(node.operand, known)
        return -inner if isinstance(inner, int | float) and not isinstance(inner, bool) else None
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = fold(node.left, known), fold(node.right, known)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        if not numbers or (isinstance(node.op, ast.Div | ast.FloorDiv) and right == 0):
            return None
        value = _OPS[type(node.op)](left, right)
        return value if value is None or abs(value) < 2**62 else None
    return None


def level_dirs(root: Path, levels: tuple[int, ...]) -> dict[int, Path]:
    """``level<N>`` folders under ``root`` (a KernelBench checkout, its KernelBench/ folder, or a level's parent)."""
    for base in (root / "KernelBench", root):
        found = {n: base / f"level{n}" for n in levels if (base / f"level{n}").is_dir()}
        if found:
            return found
    raise KernelBenchError(f"{root}: no level{'/level'.join(map(str, levels))} folder found (KernelBench checkout?)")


def read_level(folder: Path, level: int) -> list[KBProblem]:
    """Every problem file of one level folder, ordered by problem number."""
    files = [p for p in folder.iterdir() if p.suffix == ".py" and FILE_NAME.match(p.name) and p.is_file()]
    problems = sorted((parse_problem(p, level) for p in files), key=lambda p: p.number)
    seen: set[str] = set()
    for p in problems:
        if p.id in seen:
            raise KernelBenchError(f"{folder}: two files with problem number {p.number}")
        seen.add(p.id)
    return problems


def suites_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "suites"


def import_kernelbench(root: Path, data_dir: Path, levels: tuple[int, ...] = LEVELS) -> list[Suite]:
    """Read the levels under ``root`` and store one suite per level (replacing an earlier import)."""
    bad = [n for n in levels if n not in LEVELS]
    if bad:
        raise KernelBenchError(f"--level {bad[0]}: expected one of {', '.join(map(str, LEVELS))}")
    suites = [
        Suite(name=suite_name(n), level=n, imported_from=str(folder.resolve()), problems=read_level(folder, n))
        for n, folder in sorted(level_dirs(Path(root), levels).items())
    ]
    for suite in suites:
        if not suite.problems:
            raise KernelBenchError(f"{suite.imported_from}: no problem files (<number>_<Name>.py)")
    for suite in suites:
        write_suite(data_dir, suite)
    return suites


def write_suite(data_dir: Path, suite: Suite) -> Path:
    """Store ``suite`` atomically (temp file, fsync, rename)."""
    folder = suites_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{suite.name}.json"
    temp = folder / f".{suite.name}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(suite.model_dump_json(indent=1))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, final)
    return final


def load_suite(data_dir: Path, name: str) -> Suite:
    """A stored suite; a KernelBenchError names the imported ones when it is missing."""
    path = suites_dir(data_dir) / f"{name}.json"
    if not re.fullmatch(rf"{SUITE_PREFIX}\d", name) or not path.is_file():
        known = sorted(p.stem for p in suites_dir(data_dir).glob("*.json")) if suites_dir(data_dir).is_dir() else []
        hint = f"imported: {', '.join(known)}" if known else "run `skillfoundry kernels import-kernelbench PATH` first"
        raise KernelBenchError(f"suite {name!r} not found in {suites_dir(data_dir)}; {hint}")
    try:
        return Suite.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise KernelBenchError(f"{path}: not a stored suite ({str(err).splitlines()[0]})") from None


def get_kb_problem(data_dir: Path, problem_id_: str) -> KBProblem:
    """The stored problem with this id (``kb-l<level>-<number>``)."""
    match = re.fullmatch(r"kb-l(\d)-(\d+)", problem_id_)
    if match is None:
        raise KernelBenchError(f"problem id {problem_id_!r}: expected kb-l<level>-<number>")
    suite = load_suite(data_dir, suite_name(int(match.group(1))))
    for p in suite.problems:
        if p.id == problem_id_:
            return p
    raise KernelBenchError(f"problem {problem_id_!r} is not in suite {suite.name}")


def is_kernelbench_id(problem_id: str) -> bool:
    """True for ids of imported KernelBench problems (``kb-l<level>-<number>``)."""
    return re.fullmatch(r"kb-l\d-\d+", problem_id) is not None
