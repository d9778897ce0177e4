"""Tolerance comparison of a kernel's output with the reference (pure torch, any device)."""

from __future__ import annotations

import torch

from skillfoundry.kernels.gpu.protocol import Comparison
from skillfoundry.kernels.problems.model import Tolerance


def compare(actual: torch.Tensor, expected: torch.Tensor, tol: Tolerance) -> Comparison:
    """Compare ``actual`` with ``expected`` elementwise under ``tol``; NaN/Inf in ``actual`` always fail."""
    total = expected.numel()
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        return Comparison(ok=False, shape_ok=False, total=total, mismatched=total, nonfinite=0)
    a = actual.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    nonfinite_mask = ~torch.isfinite(a)
    diff = (a - e).abs()
    within = diff <= tol.atol + tol.rtol * e.abs()  # NaN differences compare False
    bad = ~within | nonfinite_mask
    mismatched = int(bad.sum())
    finite_diff = diff[~nonfinite_mask & torch.isfinite(diff)]
    first = None
    if mismatched:
        first = [int(i) for i in torch.nonzero(bad)[0].tolist()]
    return Comparison(
        ok=mismatched == 0,
        shape_ok=True,
        total=total,
        mismatched=mismatched,
        nonfinite=int(nonfinite_mask.sum()),
        max_abs_err=float(finite_diff.max()) if finite_diff.numel() else None,
        first_bad_index=first,
    )
