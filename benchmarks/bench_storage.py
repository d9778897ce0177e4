"""Storage benchmark: writer throughput against bare pyarrow, and skill_lift over 10M generations.

Run: ``PYTHONPATH=src python benchmarks/bench_storage.py [--runs 1000] [--rows 1000000]``.
Prints figures side by side; it is a measurement, not a test. Targets: writer/bare >= 0.8;
``select * from skill_lift`` over 10M generation rows < 2 s and < 2 GiB peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from skillfoundry.storage.compact import compact
from skillfoundry.storage.rollup import CELLS
from skillfoundry.storage.writer import COMPRESSION, write_rows

N_CASES = 1000
N_EPOCHS = 5


def _hex_ids(start: int, n: int, salt: int) -> pa.Array:
    """n distinct 16-hex-digit ids (like ``content_id``), from a 64-bit mix of a counter."""
    x = np.arange(start, start + n, dtype=np.uint64) ^ np.uint64(salt)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    raw = x.astype(">u8").tobytes().hex()
    chars = np.frombuffer(raw.encode(), dtype="S16")
    return pa.array(chars.astype(str))


def generations_table(run_id: str, offset: int, n_cases: int, n_epochs: int, skill_id: str) -> pa.Table:
    """One run: every case x {baseline, with_skill} x epochs."""
    n = n_cases * 2 * n_epochs
    case = np.repeat(np.arange(n_cases), 2 * n_epochs)
    cond = np.tile(np.repeat(np.array([0, 1]), n_epochs), n_cases)
    epoch = np.tile(np.arange(n_epochs), 2 * n_cases)
    case_ids = pa.array([f"case-{i:06d}" for i in range(n_cases)])
    return pa.table(
        {
            "run_id": pa.array(np.full(n, run_id)),
            "gen_id": _hex_ids(offset, n, 0x5EED),
            "case_id": case_ids.take(pa.array(case)),
            "skill_id": pa.array(np.where(cond == 1, skill_id, None)),
            "condition": pa.array(np.where(cond == 1, "with_skill", "baseline")),
            "model": pa.array(np.full(n, "vllm:student")),
            "epoch": pa.array(epoch.astype(np.int64)),
            "seed": pa.array(epoch.astype(np.int64)),
            "sampling_key": pa.array(np.full(n, "sampling-key-0")),
            "text": pa.array(np.full(n, "__global__ void k(float* x) { x[threadIdx.x] = 0; }")),
            "input_tokens": pa.array(np.full(n, 700, dtype=np.int64)),
            "output_tokens": pa.array(np.full(n, 300, dtype=np.int64)),
            "latency_s": pa.array(np.full(n, 1.25)),
            "error": pa.nulls(n, pa.string()),
            "error_kind": pa.nulls(n, pa.string()),
        }
    )


def grades_table(gens: pa.Table, rng: np.random.Generator, p_case: np.ndarray, offset: int) -> pa.Table:
    n = gens.num_rows
    case = np.repeat(np.arange(len(p_case)), n // len(p_case))
    with_skill = np.asarray(gens.column("condition").to_numpy(zero_copy_only=False) == "with_skill")
    passed = rng.uniform(size=n) < np.clip(p_case[case] + 0.03 * with_skill, 0, 1)
    return pa.table(
        {
            "run_id": gens.column("run_id"),
            "grade_id": _hex_ids(offset, n, 0x6A0E),
            "gen_id": gens.column("gen_id"),
            "grader": pa.array(np.full(n, "kernel")),
            "passed": pa.array(passed),
            "score": pa.array(passed.astype(np.float64)),
            "detail_json": pa.array(np.full(n, "{}")),
            "level": pa.array(np.full(n, "kernel-static")),
        }
    )


def bench_writer(rows: int, folder: Path) -> None:
    """Writer vs bare pyarrow.parquet.write_table on the same table, best of 3 each."""
    n_cases = max(1, rows // (2 * N_EPOCHS))
    table = generations_table("bench-writer", 0, n_cases, N_EPOCHS, "skill-0")
    bare_times, writer_times = [], []
    for attempt in range(3):
        start = time.perf_counter()
        pq.write_table(table, folder / f"bare-{attempt}.parquet", compression=COMPRESSION)
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        write_rows(folder / "store", "generations", table)
        writer_times.append(time.perf_counter() - start)
    bare, writer = min(bare_times), min(writer_times)
    print(
        f"write {table.num_rows:,} generation rows: bare pyarrow {bare:.3f} s, write_rows {writer:.3f} s, "
        f"throughput ratio writer/bare = {bare / writer:.2f} (target >= 0.8)"
    )


def build_lift_store(folder: Path, n_runs: int) -> int:
    """n_runs runs x N_CASES cases x 2 conditions x N_EPOCHS epochs, with grades and test cases."""
    rng = np.random.default_rng(0)
    p_case = rng.uniform(0.05, 0.95, N_CASES)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    write_rows(
        folder,
        "runs",
        {
            "run_id": [f"run-{r:05d}" for r in range(n_runs)],
            "flow": ["distill"] * n_runs,
            "started_at": [start + timedelta(hours=r) for r in range(n_runs)],
            "status": ["completed"] * n_runs,
            "config_json": ["{}"] * n_runs,
        },
    )
    write_rows(
        folder,
        "test_cases",
        {
            "run_id": ["run-00000"] * N_CASES,
            "case_id": [f"case-{i:06d}" for i in range(N_CASES)],
            "skill_name": ["cuda-kernels"] * N_CASES,
            "split": ["test"] * N_CASES,
            "prompt": ["write a kernel"] * N_CASES,
            "checks_json": ["[]"] * N_CASES,
            "kind": ["kernel"] * N_CASES,
        },
    )
    total = 0
    per_run = N_CASES * 2 * N_EPOCHS
    for r in range(n_runs):
        gens = generations_table(f"run-{r:05d}", r * per_run, N_CASES, N_EPOCHS, f"skill-{r % 7}")
        write_rows(folder, "generations", gens)
        write_rows(folder, "grades", grades_table(gens, rng, p_case, r * per_run))
        total += gens.num_rows
    return total


LIFT_PROBE = """
import os, resource, sys, time
from skillfoundry.storage.catalog import catalog

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

t0 = time.perf_counter(); con = catalog(sys.argv[1]); t1 = time.perf_counter()
walls, cpus = [], []
for _ in range(3):
    c, start = cpu(), time.perf_counter()
    rows = con.execute("select * from skill_lift").fetchall()
    walls.append(time.perf_counter() - start); cpus.append(cpu() - c)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(f"  {sys.argv[2]}: catalog open {t1 - t0:.2f} s; select * from skill_lift ({len(rows)} rows): "
      f"first {walls[0]:.2f} s, best of 3 {min(walls):.2f} s wall ({min(cpus):.2f} CPU-s); "
      f"peak RSS {rss:.2f} GiB; load average {os.getloadavg()[0]:.1f} (targets < 2 s, < 2 GiB on 2 cores)")
"""


def measure_lift(folder: Path, label: str) -> None:
    """In a fresh process: open the catalog, time select * from skill_lift (cold, then best of 3), peak RSS."""
    subprocess.run([sys.executable, "-c", LIFT_PROBE, str(folder), label], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the writer benchmark")
    parser.add_argument("--runs", type=int, default=1000, help="runs in the lift store (10,000 generations each)")
    parser.add_argument("--keep", type=Path, default=None, help="build the lift store here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_writer(args.rows, Path(tmp))
    folder = args.keep or Path(tempfile.mkdtemp())
    try:
        start = time.perf_counter()
        if not (folder / "generations").exists():
            total = build_lift_store(folder, args.runs)
            elapsed = time.perf_counter() - start
            print(f"built {total:,} generations + as many grades ({args.runs} runs) in {elapsed:.0f} s")
        if not (folder / CELLS).exists():
            measure_lift(folder, "raw files (no rollups yet)")
            start = time.perf_counter()
            report = compact(folder)
            print(f"compact: {report.runs_rolled_up} runs rolled up in {time.perf_counter() - start:.0f} s")
        measure_lift(folder, "after compact (rollup of cells)")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
