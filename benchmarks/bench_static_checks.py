"""Static-check benchmark: the source scan must be linear in the answer's size.

Run: ``python benchmarks/bench_static_checks.py``. Times extraction plus every source check
(``run_static_checks`` without PTX, the path a huge answer takes before anything is compiled) on
answers of 1 MB and 2 MB made of repeated kernel headers and other scanner-hostile text, and prints
the time ratio of the two sizes side by side: linear growth gives ~2x, quadratic ~4x.
It is a measurement, not a test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

try:
    import skillfoundry  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from skillfoundry.kernels import get_problem, run_static_checks
from skillfoundry.kernels.extract import extract_cuda_source

PROBLEM = get_problem("vector_add")
UNITS = {
    "kernel headers": 'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, int n)\n',
    "open loops and globals": "__device__ int g; while (1) { for (;;) ( [ { \" ' /* 1'000 R\"x( \\\n",
    "unbalanced extern blocks": 'extern "C" { __global__ __device__ typedef int a b c d e f g\n',
}


def answer(unit: str, size: int) -> str:
    body = unit * (size // len(unit))
    return f"```cuda\n{body}```\n"


def timed(text: str) -> float:
    start = time.perf_counter()
    source = extract_cuda_source(text, PROBLEM.entry_points) or ""
    run_static_checks(source, PROBLEM)
    return time.perf_counter() - start


def main() -> None:
    print("source scan (extract + run_static_checks without PTX), seconds; ratio 2 MB / 1 MB (linear ~2x)")
    for name, unit in UNITS.items():
        one = min(timed(answer(unit, 1_000_000)) for _ in range(2))
        two = min(timed(answer(unit, 2_000_000)) for _ in range(2))
        print(f"   {name:26s}  1 MB {one:7.3f} s   2 MB {two:7.3f} s   ratio {two / one:4.2f}x")


if __name__ == "__main__":
    main()
