"""Compile benchmark on the kernel problem suite's reference solutions.

Run: ``python benchmarks/bench_compile.py [--repeat 3]``. Prints, side by side from one run:
  1. a pool of 2 compile subprocesses vs serial compile throughput (target >= 1.7x),
  2. cache hit vs cold compile (target >= 100x),
  3. NVRTC in process vs an ``nvcc`` subprocess on the same sources (when nvcc is on PATH).
It is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import skillfoundry  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from skillfoundry.kernels import compile_cuda, compile_many, list_problems
from skillfoundry.kernels.compile import BASE_OPTIONS, toolkit_version

ARCHS = ("sm_80", "sm_90")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_pool(sources: list[str], repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` wall time to build every source for every arch: serial, pool (cold start), pool (warm)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        compile_cuda(sources[0], arch="sm_90", cache_dir=root / "warmup")  # load NVRTC in this process first
        serial, cold, warm = [], [], []
        for r in range(repeat):
            serial.append(_timed(lambda: compile_many(sources, archs=ARCHS, cache_dir=root / f"s{r}", workers=1)))
            if r == 0:  # the first pooled batch pays for starting the pool
                cold.append(_timed(lambda: compile_many(sources, archs=ARCHS, cache_dir=root / "c", workers=2)))
            warm.append(_timed(lambda: compile_many(sources, archs=ARCHS, cache_dir=root / f"w{r}", workers=2)))
    return {"serial": min(serial), "pool_cold": min(cold), "pool_warm": min(warm)}


def bench_cache(sources: list[str]) -> tuple[list[float], list[float]]:
    """Per source: cold compile seconds and cache-hit seconds (sm_90)."""
    cold, hit = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, source in enumerate(sources):
            root = Path(tmp, str(i))
            cold.append(_timed(lambda: compile_cuda(source, arch="sm_90", cache_dir=root)))
            result = None

            def again() -> None:
                nonlocal result
                result = compile_cuda(source, arch="sm_90", cache_dir=root)

            hit.append(min(_timed(again) for _ in range(5)))
            assert result is not None and result.cached
    return cold, hit


def bench_nvcc(sources: list[str], nvcc: str) -> tuple[list[float], list[float]]:
    """Per source: NVRTC (in its limited subprocess) seconds vs ``nvcc -cubin`` subprocess seconds, same flags."""
    nvrtc_s, nvcc_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, source in enumerate(sources):
            path = Path(tmp, f"k{i}.cu")
            path.write_text(source)
            nvrtc_s.append(_timed(lambda: compile_cuda(source, arch="sm_90", cache_dir=Path(tmp, f"c{i}"))))
            cmd = [nvcc, "-cubin", "-arch=sm_90", *BASE_OPTIONS, "-o", str(path.with_suffix(".cubin")), str(path)]
            nvcc_s.append(_timed(lambda: subprocess.run(cmd, check=True, capture_output=True)))
    return nvrtc_s, nvcc_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats for the pool comparison (best is kept)")
    args = parser.parse_args()
    problems = list_problems()
    sources = [p.solution_source for p in problems]
    n = len(sources) * len(ARCHS)
    print(f"NVRTC {toolkit_version()}, {len(sources)} reference solutions x {len(ARCHS)} archs = {n} compiles")

    pool = bench_pool(sources, args.repeat)
    print("\n1. pool of compile subprocesses vs serial (wall seconds for the whole suite, best of repeats)")
    print(f"   serial            {pool['serial']:8.3f} s   {n / pool['serial']:7.1f} compiles/s")
    print(f"   pool=2, cold start{pool['pool_cold']:8.3f} s   {n / pool['pool_cold']:7.1f} compiles/s")
    print(f"   pool=2, warm      {pool['pool_warm']:8.3f} s   {n / pool['pool_warm']:7.1f} compiles/s")
    print(
        f"   speedup  warm {pool['serial'] / pool['pool_warm']:.2f}x   cold {pool['serial'] / pool['pool_cold']:.2f}x"
        "   (target >= 1.7x)"
    )

    cold, hit = bench_cache(sources)
    ratios = [c / h for c, h in zip(cold, hit)]
    print("\n2. cache hit vs cold compile (sm_90, per source)")
    print(f"   cold compile  median {statistics.median(cold) * 1e3:8.2f} ms   total {sum(cold) * 1e3:8.1f} ms")
    print(f"   cache hit     median {statistics.median(hit) * 1e3:8.3f} ms   total {sum(hit) * 1e3:8.2f} ms")
    print(
        f"   ratio  median {statistics.median(ratios):.0f}x   min {min(ratios):.0f}x   total {sum(cold) / sum(hit):.0f}x"
        "   (target >= 100x)"
    )

    nvcc = shutil.which("nvcc")
    print("\n3. NVRTC in process vs nvcc subprocess (sm_90, same flags, per source)")
    if nvcc is None:
        print("   nvcc not on PATH: skipped")
        return
    version = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout.strip().splitlines()[-1]
    nvrtc_s, nvcc_s = bench_nvcc(sources, nvcc)
    print(f"   {version}")
    print(f"   NVRTC  median {statistics.median(nvrtc_s) * 1e3:8.1f} ms   total {sum(nvrtc_s):7.2f} s")
    print(f"   nvcc   median {statistics.median(nvcc_s) * 1e3:8.1f} ms   total {sum(nvcc_s):7.2f} s")
    print(
        f"   nvcc / NVRTC  median {statistics.median([b / a for a, b in zip(nvrtc_s, nvcc_s)]):.1f}x"
        f"   total {sum(nvcc_s) / sum(nvrtc_s):.1f}x"
    )


if __name__ == "__main__":
    main()
