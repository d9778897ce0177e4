"""The fastest a problem can possibly run on a GPU: max(DRAM bytes / bandwidth, FLOPs / peak).

A measured time well below this floor means the measurement is wrong or the kernel skipped
work; such results are flagged ``suspect``. Peaks are spec-sheet figures, rounded up, with the
tensor-core rates (TF32 for float32, dense FP16/BF16) so the floor stays a true lower bound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel

from skillfoundry.kernels.problems.model import Problem

SUSPECT_FRACTION = 0.8


class GpuPeak(BaseModel):
    """Spec-sheet peaks of one GPU model."""

    model: str
    dram_bytes_per_s: float
    fp32_flops: float
    half_flops: float


# Most specific pattern first; matched against the driver's device name.
_PEAKS: list[tuple[str, GpuPeak]] = [
    (r"H200", GpuPeak(model="H200", dram_bytes_per_s=4.8e12, fp32_flops=495e12, half_flops=990e12)),
    (r"H100.*NVL", GpuPeak(model="H100 NVL", dram_bytes_per_s=3.9e12, fp32_flops=418e12, half_flops=836e12)),
    (r"H100.*PCIe", GpuPeak(model="H100 PCIe", dram_bytes_per_s=2.0e12, fp32_flops=378e12, half_flops=756e12)),
    (r"H100|H800", GpuPeak(model="H100 SXM", dram_bytes_per_s=3.35e12, fp32_flops=495e12, half_flops=990e12)),
    (r"GH200", GpuPeak(model="GH200", dram_bytes_per_s=4.9e12, fp32_flops=495e12, half_flops=990e12)),
    (r"B200|GB200", GpuPeak(model="B200", dram_bytes_per_s=8.0e12, fp32_flops=1.2e15, half_flops=2.25e15)),
    (r"A100.*80GB", GpuPeak(model="A100 80GB", dram_bytes_per_s=2.04e12, fp32_flops=156e12, half_flops=312e12)),
    (r"A100|A800", GpuPeak(model="A100 40GB", dram_bytes_per_s=1.56e12, fp32_flops=156e12, half_flops=312e12)),
    (r"L40S", GpuPeak(model="L40S", dram_bytes_per_s=0.864e12, fp32_flops=183e12, half_flops=366e12)),
    (r"L40", GpuPeak(model="L40", dram_bytes_per_s=0.864e12, fp32_flops=91e12, half_flops=182e12)),
    (r"L4\b", GpuPeak(model="L4", dram_bytes_per_s=0.3e12, fp32_flops=60e12, half_flops=121e12)),
    (r"A10G?\b", GpuPeak(model="A10", dram_bytes_per_s=0.6e12, fp32_flops=63e12, half_flops=125e12)),
    (r"RTX 4090", GpuPeak(model="RTX 4090", dram_bytes_per_s=1.01e12, fp32_flops=83e12, half_flops=330e12)),
    (r"RTX 5090", GpuPeak(model="RTX 5090", dram_bytes_per_s=1.8e12, fp32_flops=105e12, half_flops=420e12)),
    (r"T4\b", GpuPeak(model="T4", dram_bytes_per_s=0.32e12, fp32_flops=8.1e12, half_flops=65e12)),
    (r"V100", GpuPeak(model="V100", dram_bytes_per_s=0.9e12, fp32_flops=15.7e12, half_flops=125e12)),
]


def peak_for(gpu_name: str) -> GpuPeak | None:
    """The peaks of the named GPU, or None for a model not in the table (then nothing is flagged)."""
    for pattern, peak in _PEAKS:
        if re.search(pattern, gpu_name, re.IGNORECASE):
            return peak
    return None


def floor_ms(problem: Problem, dims: Mapping[str, int], peak: GpuPeak) -> float:
    """Lower bound on the run time in ms: inputs must come from DRAM (L2 is flushed), FLOPs at peak."""
    half = any(t.dtype in ("float16", "bfloat16") for t in problem.tensors)
    flops = problem.flop_count(dims) / (peak.half_flops if half else peak.fp32_flops)
    memory = problem.min_read_bytes(dims) / peak.dram_bytes_per_s
    return max(flops, memory) * 1e3


def max_speedup(ref_time_ms: float, floor: float) -> float:
    """The largest speedup over the reference the roof allows."""
    return ref_time_ms / floor


def is_suspect(time_ms: float, floor: float, fraction: float = SUSPECT_FRACTION) -> bool:
    """True when ``time_ms`` beats the floor by more than the estimate's slack."""
    return time_ms < floor * fraction
