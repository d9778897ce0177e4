"""Level 3: small blocks of a network (several steps, sometimes several launches)."""

from __future__ import annotations

from skillfoundry.kernels.problems.dsl import const, dim, inp, out, per_row, scratch, tiled
from skillfoundry.kernels.problems.model import Problem

ATTENTION_SHAPES = ({"L": 512, "d": 64}, {"L": 1000, "d": 64}, {"L": 256, "d": 128})


def _attention(Q, K, V, scale, **_):
    return ((Q @ K.t()) * scale).softmax(dim=-1) @ V


def _causal_attention(Q, K, V, scale, **_):
    import torch

    L = Q.shape[0]
    scores = (Q @ K.t()) * scale
    future = torch.ones(L, L, dtype=torch.bool, device=Q.device).triu(diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ V


def _mlp2(x, W1, b1, W2, b2, **_):
    return (x @ W1 + b1).relu() @ W2 + b2


def _rmsnorm_linear(x, g, W, eps, **_):
    inv = (x.pow(2).mean(dim=-1, keepdim=True) + eps).rsqrt()
    return (x * inv * g) @ W


def _attention_problem(pid: str, title: str, task: str, ref) -> Problem:
    return Problem(
        id=pid,
        level=3,
        title=title,
        task=task + " One block computes one query row i = blockIdx.x; the dynamic shared memory holds "
        "L floats (room for one row of scores). d is at most 128.",
        tensors=(
            inp("Q", "float32", "L", "d"),
            inp("K", "float32", "L", "d"),
            inp("V", "float32", "L", "d"),
            out("out", "float32", "L", "d"),
        ),
        scalars=(dim("L", "sequence length"), dim("d", "head dimension"), const("scale", "1/sqrt(d)", "1/sqrt(d)")),
        launches=(per_row(pid, "Q", "K", "V", "out", "L", "d", "scale", rows="L", block=128, shared_bytes="4*L"),),
        shapes=ATTENTION_SHAPES,
        reference=ref,
        flops="4*L*L*d",
        solution_file=f"{pid}.cu",
    )


PROBLEMS: list[Problem] = [
    _attention_problem(
        "attention",
        "Single-head attention",
        "Compute out = softmax(Q K^T * scale) V, the softmax taken over each row: for query i, "
        "p[j] = softmax over j of (sum over c of Q[i, c] * K[j, c]) * scale, "
        "and out[i, c] = sum over j of p[j] * V[j, c].",
        _attention,
    ),
    _attention_problem(
        "causal_attention",
        "Single-head causal attention",
        "Like single-head attention, but query i attends only to keys j <= i: "
        "out[i, c] = sum over j <= i of p[j] * V[j, c], with p the softmax over j <= i of (Q[i, :] . K[j, :]) * scale.",
        _causal_attention,
    ),
    Problem(
        id="mlp2",
        level=3,
        title="Two-layer MLP",
        task="Compute out = relu(x @ W1 + b1) @ W2 + b2 in two launches: the first writes the hidden "
        "activations h = relu(x @ W1 + b1) into the scratch buffer h, the second computes out = h @ W2 + b2.",
        tensors=(
            inp("x", "float32", "M", "D"),
            inp("W1", "float32", "D", "H", std=0.05),
            inp("b1", "float32", "H", std=0.1),
            inp("W2", "float32", "H", "O", std=0.05),
            inp("b2", "float32", "O", std=0.1),
            scratch("h", "float32", "M", "H"),
            out("out", "float32", "M", "O"),
        ),
        scalars=(
            dim("M", "rows of x"),
            dim("D", "input features"),
            dim("H", "hidden features"),
            dim("O", "output features"),
        ),
        launches=(
            tiled("mlp_hidden", "x", "W1", "b1", "h", "M", "D", "H", rows="M", cols="H"),
            tiled("mlp_out", "h", "W2", "b2", "out", "M", "H", "O", rows="M", cols="O", writes=("out",)),
        ),
        shapes=({"M": 512, "D": 512, "H": 1024, "O": 256}, {"M": 100, "D": 300, "H": 200, "O": 50}),
        reference=_mlp2,
        flops="2*M*(D*H + H*O)",
        solution_file="mlp2.cu",
    ),
    Problem(
        id="rmsnorm_linear",
        level=3,
        title="RMS norm then linear layer",
        task="Compute out = (x * inv[:, None] * g) @ W where inv[m] = 1 / sqrt(mean over k of x[m, k]^2 + eps), "
        "in two launches: the first writes inv into the scratch buffer inv (one block per row), the second "
        "computes out[m, n] = inv[m] * sum over k of x[m, k] * g[k] * W[k, n].",
        tensors=(
            inp("x", "float32", "M", "D"),
            inp("g", "float32", "D", mean=1.0, std=0.2),
            inp("W", "float32", "D", "N", std=0.05),
            scratch("inv", "float32", "M"),
            out("out", "float32", "M", "N"),
        ),
        scalars=(
            dim("M", "rows of x"),
            dim("D", "features"),
            dim("N", "output features"),
            const("eps", 1e-6, "added to the mean square"),
        ),
        launches=(
            per_row("rms_inv", "x", "inv", "M", "D", "eps", rows="M"),
            tiled("rms_matmul", "x", "g", "W", "inv", "out", "M", "D", "N", rows="M", cols="N", writes=("out",)),
        ),
        shapes=({"M": 512, "D": 1024, "N": 1024}, {"M": 77, "D": 300, "N": 500}),
        reference=_rmsnorm_linear,
        flops="2*M*D*N + 3*M*D",
        solution_file="rmsnorm_linear.cu",
    ),
]
