"""Level 2: fused pairs of operations."""

from __future__ import annotations

from skillfoundry.kernels.problems.dsl import const, dim, elementwise, inp, out, per_row, tiled
from skillfoundry.kernels.problems.level1 import MATMUL_TOLERANCE, ROW_SCALARS, ROW_SHAPES
from skillfoundry.kernels.problems.model import Problem, ScalarSpec, Tolerance


def _functional():
    import torch.nn.functional as F

    return F


def _matmul_bias_relu(A, W, bias, **_):
    return (A @ W + bias).relu()


def _add_layernorm(x, residual, weight, bias, eps, **_):
    s = x + residual
    return _functional().layer_norm(s, (s.shape[-1],), weight, bias, eps)


def _scaled_softmax(x, scale, **_):
    return (x * scale).softmax(dim=-1)


def _bias_gelu(x, bias, **_):
    return _functional().gelu(x + bias)


def _swiglu(gate, up, **_):
    return _functional().silu(gate) * up


def _add_rmsnorm(x, residual, weight, eps, **_):
    s = x + residual
    return s * (s.pow(2).mean(dim=-1, keepdim=True) + eps).rsqrt() * weight


PROBLEMS: list[Problem] = [
    Problem(
        id="matmul_bias_relu",
        level=2,
        title="Linear layer with bias and ReLU",
        task="Compute out = relu(A @ W + bias): out[m, n] = max(0, bias[n] + sum over k of A[m, k] * W[k, n]).",
        tensors=(
            inp("A", "float32", "M", "K"),
            inp("W", "float32", "K", "N"),
            inp("bias", "float32", "N"),
            out("out", "float32", "M", "N"),
        ),
        scalars=(dim("M"), dim("N"), dim("K")),
        launches=(tiled("matmul_bias_relu", "A", "W", "bias", "out", "M", "N", "K", rows="M", cols="N"),),
        shapes=({"M": 1024, "N": 1024, "K": 512}, {"M": 257, "N": 300, "K": 123}),
        reference=_matmul_bias_relu,
        flops="2*M*N*K",
        tolerance=MATMUL_TOLERANCE,
        solution_file="matmul_bias_relu.cu",
    ),
    Problem(
        id="add_layernorm",
        level=2,
        title="Residual add then layer normalisation",
        task="Let s = x + residual. For each row r, with mean mu and biased variance var of s[r, :]: "
        "out[r, c] = (s[r, c] - mu) / sqrt(var + eps) * weight[c] + bias[c].",
        tensors=(
            inp("x", "float32", "rows", "cols", mean=1.0, std=2.0),
            inp("residual", "float32", "rows", "cols", mean=-0.5, std=1.0),
            inp("weight", "float32", "cols", mean=1.0, std=0.5),
            inp("bias", "float32", "cols", std=0.5),
            out("out", "float32", "rows", "cols"),
        ),
        scalars=(*ROW_SCALARS, const("eps", 1e-5, "added to the variance")),
        launches=(per_row("add_layernorm", "x", "residual", "weight", "bias", "out", "rows", "cols", "eps"),),
        shapes=ROW_SHAPES,
        reference=_add_layernorm,
        flops="9*rows*cols",
        solution_file="add_layernorm.cu",
    ),
    Problem(
        id="scaled_softmax",
        level=2,
        title="Scale then row softmax",
        task="For each row r, with y[r, c] = x[r, c] * scale: out[r, c] = exp(y[r, c] - m) / sum over j of "
        "exp(y[r, j] - m), where m = max over j of y[r, j].",
        tensors=(inp("x", "float32", "rows", "cols", std=8.0), out("out", "float32", "rows", "cols")),
        scalars=(*ROW_SCALARS, const("scale", 0.125, "multiplies x before the softmax")),
        launches=(per_row("scaled_softmax", "x", "out", "rows", "cols", "scale"),),
        shapes=ROW_SHAPES,
        reference=_scaled_softmax,
        flops="6*rows*cols",
        tolerance={"float32": Tolerance(rtol=1e-4, atol=1e-6)},
        solution_file="scaled_softmax.cu",
    ),
    Problem(
        id="bias_gelu_fp16",
        level=2,
        title="Bias add then GELU in half precision",
        task="x is an fp16 matrix [rows, cols] stored as n = rows * cols elements; bias has one fp16 value per "
        "column. Compute out[i] = gelu(x[i] + bias[i % cols]) where the sum is rounded to fp16 and "
        "gelu(v) = 0.5 * v * (1 + erf(v / sqrt(2))) is computed in float32 and rounded to fp16.",
        tensors=(
            inp("x", "float16", "rows", "cols"),
            inp("bias", "float16", "cols", std=0.5),
            out("out", "float16", "rows", "cols"),
        ),
        scalars=(ScalarSpec(name="n", value="rows*cols", doc="rows * cols"), dim("cols", "number of columns")),
        launches=(elementwise("bias_gelu_fp16", "x", "bias", "out", "n", "cols", n="rows*cols"),),
        shapes=({"rows": 4096, "cols": 1024}, {"rows": 999, "cols": 1001}),
        reference=_bias_gelu,
        flops="9*rows*cols",
        solution_file="bias_gelu_fp16.cu",
    ),
    Problem(
        id="swiglu_bf16",
        level=2,
        title="SwiGLU gate in bfloat16",
        task="Compute out[i] = silu(gate[i]) * up[i] for every i < n, where silu(g) = g / (1 + exp(-g)); "
        "all tensors are bfloat16 (compute in float32, round the result to bfloat16).",
        tensors=(inp("gate", "bfloat16", "n"), inp("up", "bfloat16", "n"), out("out", "bfloat16", "n")),
        scalars=(dim("n", "number of elements"),),
        launches=(elementwise("swiglu_bf16", "gate", "up", "out", "n"),),
        shapes=({"n": 1 << 22}, {"n": 1_000_003}),
        reference=_swiglu,
        flops="6*n",
        tolerance={"bfloat16": Tolerance(rtol=2e-2, atol=1e-2)},
        solution_file="swiglu_bf16.cu",
    ),
    Problem(
        id="add_rmsnorm",
        level=2,
        title="Residual add then RMS normalisation",
        task="Let s = x + residual. For each row r: out[r, c] = s[r, c] / sqrt(mean over j of s[r, j]^2 + eps) "
        "* weight[c].",
        tensors=(
            inp("x", "float32", "rows", "cols"),
            inp("residual", "float32", "rows", "cols", mean=0.5),
            inp("weight", "float32", "cols", mean=1.0, std=0.5),
            out("out", "float32", "rows", "cols"),
        ),
        scalars=(*ROW_SCALARS, const("eps", 1e-6, "added to the mean square")),
        launches=(per_row("add_rmsnorm", "x", "residual", "weight", "out", "rows", "cols", "eps"),),
        shapes=ROW_SHAPES,
        reference=_add_rmsnorm,
        flops="6*rows*cols",
        solution_file="add_rmsnorm.cu",
    ),
]
