"""Short constructors that keep the problem files readable."""

from __future__ import annotations

from skillfoundry.kernels.problems.model import DType, Expr, Init, Launch, ScalarSpec, TensorSpec


def inp(name: str, dtype: DType, *shape: Expr, mean: float = 0.0, std: float = 1.0) -> TensorSpec:
    """An input tensor drawn from normal(mean, std)."""
    return TensorSpec(name=name, dtype=dtype, shape=shape, role="input", init=Init(mean=mean, std=std))


def out(name: str, dtype: DType, *shape: Expr) -> TensorSpec:
    """An output tensor (poisoned with NaN before each launch)."""
    return TensorSpec(name=name, dtype=dtype, shape=shape, role="output")


def scratch(name: str, dtype: DType, *shape: Expr) -> TensorSpec:
    """A scratch buffer passed between launches (poisoned, never compared)."""
    return TensorSpec(name=name, dtype=dtype, shape=shape, role="scratch")


def dim(name: str, doc: str = "") -> ScalarSpec:
    """An int argument equal to the shape symbol of the same name."""
    return ScalarSpec(name=name, dtype="int32", value=name, doc=doc)


def const(name: str, value: Expr, doc: str = "") -> ScalarSpec:
    """A float argument (a constant or an expression over the shape symbols)."""
    return ScalarSpec(name=name, dtype="float32", value=value, doc=doc)


def elementwise(entry: str, *args: str, n: str = "n", block: int = 256) -> Launch:
    """One thread per element: grid = cdiv(n, block) blocks of ``block`` threads."""
    return Launch(entry=entry, args=args, grid=(f"cdiv({n},{block})",), block=(block,))


def per_row(
    entry: str,
    *args: str,
    rows: str = "rows",
    block: int = 256,
    shared_bytes: Expr = 0,
    writes: tuple[str, ...] | None = None,
) -> Launch:
    """One block of ``block`` threads per row: grid = rows."""
    return Launch(entry=entry, args=args, grid=(rows,), block=(block,), shared_bytes=shared_bytes, writes=writes)


def tiled(
    entry: str, *args: str, rows: str, cols: str, tile: int = 16, writes: tuple[str, ...] | None = None
) -> Launch:
    """One ``tile`` x ``tile`` block per output tile: grid = (cdiv(cols, tile), cdiv(rows, tile))."""
    grid = (f"cdiv({cols},{tile})", f"cdiv({rows},{tile})")
    return Launch(entry=entry, args=args, grid=grid, block=(tile, tile), writes=writes)
