"""The shape of a kernel problem: tensors, scalars, launches, shapes, tolerances, reference.

A problem is data. The harness derives from it the kernel signatures, the launch configuration
for each shape, the inputs (seeded), the poisoned output buffers and the expected outputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from skillfoundry.kernels.errors import ProblemSpecError
from skillfoundry.kernels.expr import Number, evaluate, evaluate_int, symbols

DType = Literal["float32", "float16", "bfloat16", "int32"]
ScalarDType = Literal["int32", "float32"]
Role = Literal["input", "output", "scratch"]
Expr = str | int | float

DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "int32": 4}
CTYPES: dict[str, str] = {"float32": "float", "float16": "__half", "bfloat16": "__nv_bfloat16", "int32": "int"}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SLUG = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Init(_Spec):
    """How an input tensor is drawn: normal(mean, std) or uniform(low, high), then cast to its dtype."""

    kind: Literal["normal", "uniform"] = "normal"
    mean: float = 0.0
    std: float = 1.0
    low: float = -1.0
    high: float = 1.0


class TensorSpec(_Spec):
    """A contiguous row-major device tensor the kernel reads (input), writes (output) or uses (scratch)."""

    name: str
    dtype: DType
    shape: tuple[Expr, ...] = Field(min_length=1)
    role: Role = "input"
    init: Init = Init()


class ScalarSpec(_Spec):
    """A by-value kernel argument; ``value`` is an expression over the shape symbols."""

    name: str
    dtype: ScalarDType = "int32"
    value: Expr
    doc: str = ""


class Launch(_Spec):
    """One kernel launch: entry point, argument names in order, grid/block and dynamic shared memory.

    ``writes`` names the tensors this launch writes (its other pointers are ``const``);
    by default every output and scratch tensor among its arguments.
    """

    entry: str
    args: tuple[str, ...]
    grid: tuple[Expr, ...] = Field(min_length=1, max_length=3)
    block: tuple[int, ...] = Field(min_length=1, max_length=3)
    shared_bytes: Expr = 0
    writes: tuple[str, ...] | None = None


class Tolerance(_Spec):
    """Elementwise check: |actual - expected| <= atol + rtol * |expected|."""

    rtol: float = Field(ge=0)
    atol: float = Field(ge=0)


DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "float32": Tolerance(rtol=1e-4, atol=1e-4),
    "float16": Tolerance(rtol=1e-2, atol=1e-2),
    "bfloat16": Tolerance(rtol=1.6e-2, atol=1e-2),
    "int32": Tolerance(rtol=0.0, atol=0.0),
}

HOST_LIBRARIES = ("torch", "cublas", "cudnn", "cufft", "cusparse", "cusolver")


class Problem(BaseModel):
    """One kernel task. ``reference`` is a torch function called with every input tensor and scalar
    as keyword arguments; it returns the output tensor (or a dict name -> tensor)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str
    level: int = Field(ge=1, le=3)
    title: str
    task: str
    tensors: tuple[TensorSpec, ...]
    scalars: tuple[ScalarSpec, ...] = ()
    launches: tuple[Launch, ...] = Field(min_length=1)
    shapes: tuple[dict[str, int], ...] = Field(min_length=1)
    reference: Callable[..., Any] = Field(exclude=True, repr=False)
    flops: Expr = 0
    tolerance: dict[str, Tolerance] = Field(default_factory=dict)
    allowed_libraries: tuple[str, ...] = ()
    solution_file: str

    # -- structure ---------------------------------------------------------------------------
    @property
    def entry_points(self) -> list[str]:
        """Every required ``extern "C" __global__`` entry point, in launch order."""
        return [launch.entry for launch in self.launches]

    @property
    def entry_point(self) -> str:
        """The first (for most problems the only) entry point."""
        return self.launches[0].entry

    def _role(self, role: Role) -> list[TensorSpec]:
        return [t for t in self.tensors if t.role == role]

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._role("input")

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._role("output")

    @property
    def scratch(self) -> list[TensorSpec]:
        return self._role("scratch")

    def tensor(self, name: str) -> TensorSpec:
        return next(t for t in self.tensors if t.name == name)

    def scalar(self, name: str) -> ScalarSpec | None:
        return next((s for s in self.scalars if s.name == name), None)

    def written_by(self, launch: Launch) -> set[str]:
        """Tensor names a launch may write (its non-const pointers)."""
        if launch.writes is not None:
            return set(launch.writes)
        return {a for a in launch.args if a in {t.name for t in self.tensors if t.role != "input"}}

    def tolerance_for(self, dtype: str) -> Tolerance:
        """The per-problem tolerance for ``dtype``, else the default for that dtype."""
        return self.tolerance.get(dtype, DEFAULT_TOLERANCES[dtype])

    # -- per shape ---------------------------------------------------------------------------
    def tensor_shape(self, spec: TensorSpec, dims: Mapping[str, int]) -> tuple[int, ...]:
        return tuple(evaluate_int(e, dims) for e in spec.shape)

    def scalar_values(self, dims: Mapping[str, int]) -> dict[str, Number]:
        """Each scalar argument's value for these dims (ints as int, floats as float)."""
        values: dict[str, Number] = {}
        for s in self.scalars:
            v = evaluate(s.value, dims)
            values[s.name] = evaluate_int(s.value, dims) if s.dtype == "int32" else float(v)
        return values

    def launch_config(
        self, launch: Launch, dims: Mapping[str, int]
    ) -> tuple[tuple[int, int, int], tuple[int, int, int], int]:
        """(grid, block, dynamic shared bytes) of ``launch`` for these dims, padded to 3-D."""
        grid = [evaluate_int(e, dims) for e in launch.grid] + [1] * (3 - len(launch.grid))
        block = list(launch.block) + [1] * (3 - len(launch.block))
        return (grid[0], grid[1], grid[2]), (block[0], block[1], block[2]), evaluate_int(launch.shared_bytes, dims)

    def tensor_bytes(self, spec: TensorSpec, dims: Mapping[str, int]) -> int:
        size = 1
        for d in self.tensor_shape(spec, dims):
            size *= d
        return size * DTYPE_BYTES[spec.dtype]

    def min_bytes(self, dims: Mapping[str, int]) -> int:
        """Bytes any correct kernel must move to or from DRAM: every input read once, every output written."""
        return sum(self.tensor_bytes(t, dims) for t in self.tensors if t.role != "scratch")

    def min_read_bytes(self, dims: Mapping[str, int]) -> int:
        """Bytes of input any correct kernel must read (after an L2 flush they come from DRAM)."""
        return sum(self.tensor_bytes(t, dims) for t in self.inputs)

    def flop_count(self, dims: Mapping[str, int]) -> float:
        """Floating-point operations of the problem for these dims (an estimate, e.g. 2*M*N*K)."""
        return float(evaluate(self.flops, dims))

    # -- text --------------------------------------------------------------------------------
    @property
    def solution_source(self) -> str:
        """The hand-written reference CUDA solution shipped with the package."""
        return resources.files("skillfoundry.kernels.problems").joinpath("cuda", self.solution_file).read_text("utf-8")

    @property
    def signatures(self) -> list[str]:
        from skillfoundry.kernels.problems.prompt import signature

        return [signature(self, launch) for launch in self.launches]

    @property
    def prompt(self) -> str:
        """The student-facing task: what to compute, exact signatures, launch contract, rules."""
        from skillfoundry.kernels.problems.prompt import render_prompt

        return render_prompt(self)

    # -- tensors (torch, imported lazily) ----------------------------------------------------
    def make_inputs(self, dims: Mapping[str, int], seed: int, device: str = "cpu") -> dict[str, Any]:
        """Fresh seeded input tensors for these dims (same seed, same values on every device)."""
        from skillfoundry.kernels.problems.tensors import make_inputs

        return make_inputs(self, dims, seed, device)

    def reference_outputs(self, inputs: Mapping[str, Any], dims: Mapping[str, int]) -> dict[str, Any]:
        """The torch reference's outputs for ``inputs`` (which it does not modify)."""
        from skillfoundry.kernels.problems.tensors import reference_outputs

        return reference_outputs(self, inputs, dims)


def check_problem(problem: Problem) -> Problem:
    """``problem`` if its parts fit together (names, launch args, shape symbols, libraries),
    else ProblemSpecError with a one-line message."""
    where = f"kernel problem {problem.id!r}"
    if not _SLUG.match(problem.id):
        raise ProblemSpecError(f"{where}: id must be a lowercase slug (a-z, 0-9, single underscores)")
    names = [t.name for t in problem.tensors] + [s.name for s in problem.scalars]
    if len(set(names)) != len(names) or not all(_IDENT.match(n) for n in names):
        raise ProblemSpecError(f"{where}: tensor/scalar names must be unique C identifiers, got {names}")
    if not problem.outputs:
        raise ProblemSpecError(f"{where}: needs at least one output tensor")
    tensor_names = {t.name for t in problem.tensors}
    used: set[str] = set()
    needed: set[str] = set(symbols(problem.flops))
    for launch in problem.launches:
        if not _IDENT.match(launch.entry):
            raise ProblemSpecError(f"{where}: entry point {launch.entry!r} is not a C identifier")
        unknown = [a for a in launch.args if a not in names]
        if unknown:
            raise ProblemSpecError(f"{where}: launch {launch.entry!r} has unknown args {unknown}")
        for w in launch.writes or ():
            if w not in launch.args or w not in tensor_names:
                raise ProblemSpecError(f"{where}: launch {launch.entry!r} writes {w!r}, not a tensor argument")
        used.update(launch.args)
        for e in (*launch.grid, launch.shared_bytes):
            needed |= symbols(e)
    if len({launch.entry for launch in problem.launches}) != len(problem.launches):
        raise ProblemSpecError(f"{where}: entry points must be distinct")
    missing_args = [t.name for t in problem.tensors if t.name not in used]
    if missing_args:
        raise ProblemSpecError(f"{where}: tensors {missing_args} are passed to no launch")
    for t in problem.tensors:
        for e in t.shape:
            needed |= symbols(e)
    for s in problem.scalars:
        needed |= symbols(s.value)
    for i, dims in enumerate(problem.shapes):
        absent = sorted(needed - set(dims))
        if absent:
            raise ProblemSpecError(f"{where}: shapes[{i}] lacks symbols {absent}")
    bad_libs = [lib for lib in problem.allowed_libraries if lib not in HOST_LIBRARIES]
    if bad_libs:
        raise ProblemSpecError(f"{where}: allowed_libraries {bad_libs} not among {list(HOST_LIBRARIES)}")
    return problem
