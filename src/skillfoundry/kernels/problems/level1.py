"""Level 1: single operations."""

from __future__ import annotations

from skillfoundry.kernels.problems.dsl import const, dim, elementwise, inp, out, per_row, tiled
from skillfoundry.kernels.problems.model import Launch, Problem, Tolerance

ELEMENTWISE_SHAPES = ({"n": 1 << 22}, {"n": 1_000_003})
ROW_SHAPES = ({"rows": 2048, "cols": 2048}, {"rows": 1000, "cols": 3001}, {"rows": 4096, "cols": 100})
ROW_SCALARS = (dim("rows", "number of rows"), dim("cols", "number of columns"))
MATMUL_TOLERANCE = {"float32": Tolerance(rtol=1e-4, atol=1e-3)}


def _functional():
    import torch.nn.functional as F

    return F


def _vector_add(a, b, **_):
    return a + b


def _relu(x, **_):
    return x.relu()


def _sigmoid(x, **_):
    return x.sigmoid()


def _gelu(x, **_):
    return _functional().gelu(x)


def _row_sum(x, **_):
    return x.sum(dim=-1)


def _row_max(x, **_):
    return x.amax(dim=-1)


def _row_argmax(x, **_):
    return x.argmax(dim=-1).int()


def _softmax(x, **_):
    return x.softmax(dim=-1)


def _layernorm(x, weight, bias, eps, **_):
    return _functional().layer_norm(x, (x.shape[-1],), weight, bias, eps)


def _matmul(A, B, **_):
    return A @ B


def _transpose(x, **_):
    return x.t().contiguous()


def _prefix_scan(x, **_):
    return x.cumsum(dim=-1)


def _unary(pid: str, title: str, task: str, ref, dtype: str = "float32", flops: str = "n") -> Problem:
    return Problem(
        id=pid,
        level=1,
        title=title,
        task=task,
        tensors=(inp("x", dtype, "n"), out("out", dtype, "n")),
        scalars=(dim("n", "number of elements"),),
        launches=(elementwise(pid, "x", "out", "n"),),
        shapes=ELEMENTWISE_SHAPES,
        reference=ref,
        flops=flops,
        solution_file=f"{pid}.cu",
    )


def _row_reduce(pid: str, title: str, task: str, ref, out_dtype: str = "float32") -> Problem:
    return Problem(
        id=pid,
        level=1,
        title=title,
        task=task,
        tensors=(inp("x", "float32", "rows", "cols"), out("out", out_dtype, "rows")),
        scalars=ROW_SCALARS,
        launches=(per_row(pid, "x", "out", "rows", "cols"),),
        shapes=ROW_SHAPES,
        reference=ref,
        flops="rows*cols",
        solution_file=f"{pid}.cu",
    )


PROBLEMS: list[Problem] = [
    Problem(
        id="vector_add",
        level=1,
        title="Vector addition",
        task="Compute out[i] = a[i] + b[i] for every i < n.",
        tensors=(inp("a", "float32", "n"), inp("b", "float32", "n"), out("out", "float32", "n")),
        scalars=(dim("n", "number of elements"),),
        launches=(elementwise("vector_add", "a", "b", "out", "n"),),
        shapes=ELEMENTWISE_SHAPES,
        reference=_vector_add,
        flops="n",
        solution_file="vector_add.cu",
    ),
    _unary("relu", "ReLU", "Compute out[i] = max(x[i], 0) for every i < n.", _relu),
    _unary("sigmoid", "Sigmoid", "Compute out[i] = 1 / (1 + exp(-x[i])) for every i < n.", _sigmoid, flops="4*n"),
    _unary(
        "gelu",
        "GELU (exact, erf form)",
        "Compute out[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2))) for every i < n (PyTorch's default GELU).",
        _gelu,
        flops="8*n",
    ),
    _unary(
        "gelu_fp16",
        "GELU in half precision",
        "Compute out[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2))) for every i < n, where x and out are fp16 "
        "(compute in float32, round the result to fp16).",
        _gelu,
        dtype="float16",
        flops="8*n",
    ),
    Problem(
        id="vector_add_bf16",
        level=1,
        title="Vector addition in bfloat16",
        task="Compute out[i] = a[i] + b[i] for every i < n, where all tensors are bfloat16 "
        "(add in float32, round to bfloat16).",
        tensors=(inp("a", "bfloat16", "n"), inp("b", "bfloat16", "n"), out("out", "bfloat16", "n")),
        scalars=(dim("n", "number of elements"),),
        launches=(elementwise("vector_add_bf16", "a", "b", "out", "n"),),
        shapes=ELEMENTWISE_SHAPES,
        reference=_vector_add,
        flops="n",
        solution_file="vector_add_bf16.cu",
    ),
    _row_reduce("row_sum", "Row sum", "For each row r, compute out[r] = sum over c of x[r, c].", _row_sum),
    _row_reduce("row_max", "Row maximum", "For each row r, compute out[r] = max over c of x[r, c].", _row_max),
    _row_reduce(
        "row_argmax",
        "Row argmax",
        "For each row r, write to out[r] the column index c of the largest x[r, c] "
        "(the smallest such index if several are equal).",
        _row_argmax,
        out_dtype="int32",
    ),
    Problem(
        id="softmax",
        level=1,
        title="Row softmax",
        task="For each row r: out[r, c] = exp(x[r, c] - m) / sum over j of exp(x[r, j] - m), "
        "where m = max over j of x[r, j].",
        tensors=(inp("x", "float32", "rows", "cols", std=2.0), out("out", "float32", "rows", "cols")),
        scalars=ROW_SCALARS,
        launches=(per_row("softmax", "x", "out", "rows", "cols"),),
        shapes=ROW_SHAPES,
        reference=_softmax,
        flops="5*rows*cols",
        tolerance={"float32": Tolerance(rtol=1e-4, atol=1e-6)},
        solution_file="softmax.cu",
    ),
    Problem(
        id="layernorm",
        level=1,
        title="Layer normalisation",
        task="For each row r, with mean mu and biased variance var of x[r, :]: "
        "out[r, c] = (x[r, c] - mu) / sqrt(var + eps) * weight[c] + bias[c].",
        tensors=(
            inp("x", "float32", "rows", "cols", mean=1.5, std=2.0),
            inp("weight", "float32", "cols", mean=1.0, std=0.5),
            inp("bias", "float32", "cols", std=0.5),
            out("out", "float32", "rows", "cols"),
        ),
        scalars=(*ROW_SCALARS, const("eps", 1e-5, "added to the variance")),
        launches=(per_row("layernorm", "x", "weight", "bias", "out", "rows", "cols", "eps"),),
        shapes=ROW_SHAPES,
        reference=_layernorm,
        flops="8*rows*cols",
        solution_file="layernorm.cu",
    ),
    Problem(
        id="matmul",
        level=1,
        title="Matrix multiplication",
        task="Compute C = A @ B: C[m, n] = sum over k of A[m, k] * B[k, n].",
        tensors=(inp("A", "float32", "M", "K"), inp("B", "float32", "K", "N"), out("C", "float32", "M", "N")),
        scalars=(dim("M"), dim("N"), dim("K")),
        launches=(tiled("matmul", "A", "B", "C", "M", "N", "K", rows="M", cols="N"),),
        shapes=({"M": 1024, "N": 1024, "K": 1024}, {"M": 300, "N": 700, "K": 500}),
        reference=_matmul,
        flops="2*M*N*K",
        tolerance=MATMUL_TOLERANCE,
        solution_file="matmul.cu",
    ),
    Problem(
        id="transpose",
        level=1,
        title="Matrix transpose",
        task="Compute out = x transposed: out[c, r] = x[r, c]. Each block handles the 32 x 32 tile of x "
        "whose top-left element is x[blockIdx.y * 32, blockIdx.x * 32].",
        tensors=(inp("x", "float32", "rows", "cols"), out("out", "float32", "cols", "rows")),
        scalars=ROW_SCALARS,
        launches=(
            Launch(
                entry="transpose",
                args=("x", "out", "rows", "cols"),
                grid=("cdiv(cols,32)", "cdiv(rows,32)"),
                block=(32, 8),
            ),
        ),
        shapes=({"rows": 2048, "cols": 2048}, {"rows": 1000, "cols": 3001}),
        reference=_transpose,
        flops=0,
        solution_file="transpose.cu",
    ),
    Problem(
        id="prefix_scan",
        level=1,
        title="Row-wise inclusive prefix sum",
        task="For each row r: out[r, c] = x[r, 0] + x[r, 1] + ... + x[r, c] (inclusive scan).",
        tensors=(inp("x", "float32", "rows", "cols"), out("out", "float32", "rows", "cols")),
        scalars=ROW_SCALARS,
        launches=(per_row("prefix_scan", "x", "out", "rows", "cols"),),
        shapes=({"rows": 1024, "cols": 4096}, {"rows": 1000, "cols": 3001}, {"rows": 64, "cols": 100}),
        reference=_prefix_scan,
        flops="rows*cols",
        tolerance={"float32": Tolerance(rtol=1e-4, atol=5e-3)},
        solution_file="prefix_scan.cu",
    ),
]
