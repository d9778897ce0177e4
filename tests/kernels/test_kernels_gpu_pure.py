"""The GPU stage's pure parts, on the CPU: probe parsing, tolerance compare, timing stats,
roofline, event parsing, records, the watchdog, and the correctness-trial logic driven by
Python stand-ins for kernels."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.kernels import get_problem
from skillfoundry.kernels.gpu import available, probe
from skillfoundry.kernels.gpu.compare import compare
from skillfoundry.kernels.gpu.harness import run_trial, trial_seed
from skillfoundry.kernels.gpu.probe import driver_loads, parse_probe
from skillfoundry.kernels.gpu.protocol import GpuInfo, ShapeResult, TrialResult, event_line, parse_events
from skillfoundry.kernels.gpu.roofline import floor_ms, is_suspect, max_speedup, peak_for
from skillfoundry.kernels.gpu.runner import GpuRun, annotate, benchmark_records, device_arch, run_candidate, watch
from skillfoundry.kernels.gpu.stats import summarize
from skillfoundry.kernels.problems.model import Tolerance
from skillfoundry.storage.records import KernelBenchmarkRecord

VECTOR_ADD = get_problem("vector_add")
SMALL = {"n": 1000}


# -- probe ------------------------------------------------------------------------------------
def test_available_is_false_here_and_fast():
    if driver_loads():
        pytest.skip("a CUDA driver is installed on this machine")
    start = time.monotonic()
    assert available() is False and probe() is None
    assert time.monotonic() - start < 5


def test_parse_probe():
    line = json.dumps({"driver": 13000, "devices": [{"name": "NVIDIA H100 80GB HBM3", "compute_capability": [9, 0]}]})
    info = parse_probe("noise\n" + line)
    assert info.name == "NVIDIA H100 80GB HBM3" and info.arch == "sm_90" and info.cuda_driver_version == "13.0"
    assert parse_probe(json.dumps({"error": "cuInit returned CUDA error 100"})) is None
    assert parse_probe(json.dumps({"driver": 13000, "devices": []})) is None
    assert parse_probe("Segmentation fault") is None and parse_probe("") is None


def test_device_arch():
    assert device_arch((9, 0)) == "sm_90"
    assert device_arch((8, 9)) == "sm_89"
    assert device_arch((9, 9)) == "sm_90"
    assert device_arch((12, 1)) == "sm_121"
    assert device_arch((99, 0)) == "sm_121"


@pytest.mark.skipif(available(), reason="checks the no-GPU answer")
def test_run_candidate_without_gpu_says_so():
    run = run_candidate(VECTOR_ADD, VECTOR_ADD.solution_source)
    assert run.error_kind == "infrastructure" and "no GPU" in (run.error or "") and not run.correct


# -- compare ----------------------------------------------------------------------------------
def test_compare_catches_nan_inf_shape_and_tolerance():
    tol = Tolerance(rtol=1e-4, atol=1e-4)
    ref = torch.linspace(-5, 5, 101)
    assert compare(ref.clone(), ref, tol).ok
    assert compare(ref + 5e-5, ref, tol).ok
    off = ref.clone()
    off[7] += 1e-2
    result = compare(off, ref, tol)
    assert not result.ok and result.mismatched == 1 and result.first_bad_index == [7]
    assert result.max_abs_err == pytest.approx(1e-2, rel=1e-3)
    for bad_value in (float("nan"), float("inf"), float("-inf")):
        bad = ref.clone()
        bad[3] = bad_value
        result = compare(bad, ref, tol)
        assert not result.ok and result.nonfinite == 1
    assert not compare(ref[:-1], ref, tol).shape_ok
    assert not compare(ref.double(), ref, tol).ok
    ints = torch.arange(10, dtype=torch.int32)
    assert compare(ints.clone(), ints, Tolerance(rtol=0, atol=0)).ok
    assert not compare(ints + 1, ints, Tolerance(rtol=0, atol=0)).ok


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=50), st.data())
def test_compare_rejects_any_single_nan(values: list[float], data):
    ref = torch.tensor(values, dtype=torch.float32)
    assert compare(ref.clone(), ref, Tolerance(rtol=0, atol=0)).ok
    bad = ref.clone()
    bad[data.draw(st.integers(0, len(values) - 1))] = float("nan")
    assert not compare(bad, ref, Tolerance(rtol=1.0, atol=1e9)).ok


# -- stats and roofline -----------------------------------------------------------------------
def test_summarize():
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.n, s.median, s.minimum, s.maximum) == (5, 3.0, 1.0, 5.0)
    assert s.iqr == pytest.approx(2.0)
    assert summarize([]) is None and summarize([2.5]).iqr == 0.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.001, 1e3), min_size=1, max_size=200))
def test_summary_bounds(samples: list[float]):
    s = summarize(samples)
    assert s.minimum <= s.median <= s.maximum and s.iqr >= 0


def test_roofline_floor_and_suspect():
    h100 = peak_for("NVIDIA H100 80GB HBM3")
    assert h100.model == "H100 SXM"
    assert peak_for("NVIDIA H100 PCIe").model == "H100 PCIe"
    assert peak_for("NVIDIA H200").model == "H200"
    assert peak_for("NVIDIA A100-SXM4-80GB").model == "A100 80GB"
    assert peak_for("Some Future GPU") is None
    dims = {"n": 1 << 22}
    floor = floor_ms(VECTOR_ADD, dims, h100)
    assert floor == pytest.approx(2 * 4 * (1 << 22) / 3.35e12 * 1e3)
    assert is_suspect(floor * 0.5, floor) and not is_suspect(floor * 1.2, floor)
    assert max_speedup(floor * 10, floor) == pytest.approx(10)
    matmul = get_problem("matmul")
    big = {"M": 1024, "N": 1024, "K": 1024}
    assert floor_ms(matmul, big, h100) == pytest.approx(2 * 1024**3 / h100.fp32_flops * 1e3)  # compute-bound


def _shape(time_ms: float, correct: bool = True) -> ShapeResult:
    trial = TrialResult(seed=1, ok=correct)
    return ShapeResult(
        index=0,
        dims={"n": 1 << 22},
        correct=correct,
        trials=[trial],
        post_trials=[trial],
        samples_ms=[time_ms] * 3,
        ref_samples_ms=[0.05] * 3,
        time_ms=time_ms,
        time_spread_ms=0.0,
        ref_time_ms=0.05,
        speedup=0.05 / time_ms,
    )


def test_annotate_flags_impossible_speed():
    name = "NVIDIA H100 80GB HBM3"
    assert annotate(_shape(0.0001), VECTOR_ADD, name).suspect
    honest = annotate(_shape(0.02), VECTOR_ADD, name)
    assert not honest.suspect and honest.floor_ms < 0.02 and honest.max_speedup > 1
    assert not annotate(_shape(0.0001), VECTOR_ADD, "Unknown GPU").suspect


def test_benchmark_records_fit_the_table():
    gpu = GpuInfo(name="NVIDIA H100 80GB HBM3", compute_capability=(9, 0), driver_version="580.1")
    run = GpuRun(
        problem_id="vector_add",
        source_sha="ab" * 32,
        arch="sm_90",
        gpu=gpu,
        requested=[0, 1],
        shapes=[annotate(_shape(0.02), VECTOR_ADD, gpu.name)],
        error_kind="timeout",
        error="hung",
    )
    records = benchmark_records(run, VECTOR_ADD.shapes)
    assert [r["shape_json"] for r in records] == ['{"n":4194304}', '{"n":1000003}']
    first, second = (KernelBenchmarkRecord(run_id="r", **r) for r in records)
    assert first.correct and first.time_ms == 0.02 and first.trials == 3 and first.driver_version == "580.1"
    assert json.loads(first.samples_json)["kernel"] == [0.02] * 3
    assert not second.correct and second.time_ms is None and json.loads(second.detail_json)["error_kind"] == "timeout"
    assert first.bench_id != second.bench_id
    assert not run.correct


# -- events and the watchdog -----------------------------------------------------------------
def test_parse_events_tolerates_a_cut_line():
    gpu = GpuInfo(name="G", compute_capability=(9, 0))
    text = (
        event_line("gpu", gpu=gpu.model_dump(mode="json"))
        + event_line("phase", name="correctness[0]", expect_s=30)
        + event_line("shape", shape=_shape(0.1).model_dump(mode="json"))
        + event_line("error", kind="made-up", message="boom")
        + '{"event": "shape", "sha'
    )
    events = parse_events(text.splitlines())
    assert events.gpu.name == "G" and len(events.shapes) == 1 and events.shapes[0].time_ms == 0.1
    assert events.error_kind == "infrastructure" and events.error == "boom"
    assert events.last_phase == "correctness[0]" and events.last_expect_s == 30 and not events.done


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=10))
def test_parse_events_never_raises(lines: list[str]):
    parse_events(lines)
    parse_events(lines, mac_key=b"k")


def test_with_a_key_only_lines_signed_with_it_count():
    key = b"0" * 32
    shape = _shape(0.1).model_dump(mode="json")
    signed = event_line("shape", mac_key=key, shape=shape) + event_line("done", mac_key=key)
    forged = (
        event_line("shape", shape={**shape, "correct": True})  # unsigned
        + event_line("done", mac_key=b"1" * 32)  # another key
        + signed.splitlines()[0].replace('"index": 0', '"index": 1') + "\n"  # altered after signing
    )
    assert len(parse_events(signed.splitlines(), key).shapes) == 1 and parse_events(signed.splitlines(), key).done
    assert parse_events(forged.splitlines(), key) == parse_events([], key)
    assert len(parse_events(forged.splitlines()).shapes) == 2  # without a key (the native worker) all count


def _child(result: Path, body: str) -> subprocess.Popen[bytes]:
    code = f"import json, time\nout = open({str(result)!r}, 'a')\n{body}"
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def test_watchdog_kills_a_silent_worker(tmp_path: Path):
    result = tmp_path / "events.jsonl"
    proc = _child(
        result,
        "out.write(json.dumps({'event': 'phase', 'name': 'correctness[0]', 'expect_s': 0.2}) + '\\n'); out.flush()\n"
        "time.sleep(120)",
    )
    events, killed = watch(proc, result, timeout_s=60, grace_s=0.3)
    assert killed and "correctness[0]" in killed and proc.returncode == -9
    assert events.last_phase == "correctness[0]"


def test_watchdog_enforces_the_overall_limit(tmp_path: Path):
    result = tmp_path / "events.jsonl"
    proc = _child(
        result,
        "while True:\n    out.write(json.dumps({'event': 'phase', 'name': 'p', 'expect_s': 60}) + '\\n'); out.flush(); time.sleep(0.1)",
    )
    _, killed = watch(proc, result, timeout_s=1.0)
    assert killed and "limit" in killed


def test_watchdog_reads_a_finished_worker(tmp_path: Path):
    result = tmp_path / "events.jsonl"
    proc = _child(result, "out.write(json.dumps({'event': 'done'}) + '\\n'); out.flush()")
    events, killed = watch(proc, result, timeout_s=60)
    assert killed is None and events.done and proc.returncode == 0


# -- trial logic with Python stand-ins for kernels -------------------------------------------
def honest(t):
    t["out"].copy_(t["a"] + t["b"])


def off_by_one(t):
    t["out"][:-1] = (t["a"] + t["b"])[:-1]


def half_written(t):
    n = t["out"].numel() // 2
    t["out"][:n] = (t["a"] + t["b"])[:n]


def mutates_input(t):
    honest(t)
    t["a"].zero_()


def writes_zeros(t):
    t["out"].zero_()


class Memoiser:
    """Computes once, then replays the first answer (a cache keyed on nothing)."""

    def __init__(self):
        self.saved = None

    def __call__(self, t):
        if self.saved is None:
            honest(t)
            self.saved = t["out"].clone()
        else:
            t["out"].copy_(self.saved)


def test_trials_pass_an_honest_kernel_and_use_distinct_seeds():
    seeds = [trial_seed(0, 0, t) for t in range(5)]
    assert len(set(seeds)) == 5 and trial_seed(1, 0, 0) != seeds[0] and trial_seed(0, 1, 0) != seeds[0]
    for seed in seeds:
        result = run_trial(VECTOR_ADD, SMALL, seed, honest, "cpu")
        assert result.ok and result.mutated == [] and result.outputs["out"].max_abs_err == 0


@pytest.mark.parametrize(
    ("launch", "symptom"),
    [(off_by_one, "nonfinite"), (half_written, "nonfinite"), (writes_zeros, "mismatched"), (mutates_input, "mutated")],
)
def test_trials_catch_wrong_kernels(launch, symptom):
    result = run_trial(VECTOR_ADD, SMALL, 7, launch, "cpu")
    assert not result.ok
    if symptom == "mutated":
        assert result.mutated == ["a"]
    else:
        assert getattr(result.outputs["out"], symptom) > 0


def test_fresh_inputs_catch_a_memoising_kernel():
    memo = Memoiser()
    first = run_trial(VECTOR_ADD, SMALL, trial_seed(0, 0, 0), memo, "cpu")
    second = run_trial(VECTOR_ADD, SMALL, trial_seed(0, 0, 1), memo, "cpu")
    assert first.ok and not second.ok


def test_trials_on_a_two_launch_problem_with_scratch():
    mlp = get_problem("mlp2")
    dims = {"M": 8, "D": 16, "H": 12, "O": 4}

    def two_launches(t):
        t["h"].copy_((t["x"] @ t["W1"] + t["b1"]).relu())
        t["out"].copy_(t["h"] @ t["W2"] + t["b2"])

    def forgets_bias(t):
        t["h"].copy_((t["x"] @ t["W1"]).relu())
        t["out"].copy_(t["h"] @ t["W2"])

    assert run_trial(mlp, dims, 3, two_launches, "cpu").ok
    assert not run_trial(mlp, dims, 3, forgets_bias, "cpu").ok
    assert math.isfinite(run_trial(mlp, dims, 3, forgets_bias, "cpu").outputs["out"].max_abs_err)


def test_expectation_is_fixed_before_the_launch():
    # a kernel that overwrites every device tensor it can reach (inputs included) cannot
    # move the goalposts: expected outputs and input copies live in host memory
    def vandal(t):
        for tensor in t.values():
            tensor.zero_()

    result = run_trial(VECTOR_ADD, SMALL, 5, vandal, "cpu")
    assert not result.ok and result.mutated == ["a", "b"]


@pytest.mark.skipif(available(), reason="needs a machine without a usable GPU")
def test_worker_without_a_gpu_reports_a_harness_error(tmp_path: Path):
    # the whole subprocess path (compile, job, worker, events) on a machine whose torch has no CUDA
    from skillfoundry.kernels.gpu.probe import DeviceInfo

    fake = DeviceInfo(name="NVIDIA H100 80GB HBM3", compute_capability=(9, 0), cuda_driver_version="13.0", count=1)
    run = run_candidate(VECTOR_ADD, VECTOR_ADD.solution_source, device=fake, cache_dir=tmp_path, timeout_s=120)
    assert run.error_kind == "infrastructure" and run.arch == "sm_90" and not run.correct
    assert run.shapes == []


# -- launch guard, fault classification (pure logic, on CPU tensors) -----------------------------
def test_launch_guard_repoisons_outputs_and_sees_written_inputs():
    from skillfoundry.kernels.gpu.harness import LaunchGuard, prepare

    inputs, buffers, _ = prepare(VECTOR_ADD, SMALL, seed=3, device="cpu")
    guard = LaunchGuard(VECTOR_ADD, SMALL, inputs, buffers)
    seen_before: list[bool] = []

    def honest() -> None:
        seen_before.append(bool(torch.isnan(buffers["out"]).all()))
        buffers["out"].copy_(inputs["a"] + inputs["b"])

    for _ in range(3):
        guard.before()
        honest()
        guard.after()
    assert seen_before == [True, True, True]  # poisoned again before every launch, not only the first
    assert guard.mutated() == [] and guard.launches == 3

    def writes_b_once() -> None:
        if guard.launches == 4:  # the second launch of this loop
            inputs["b"][0] += 1.0
        honest()

    for _ in range(3):
        guard.before()
        writes_b_once()
        guard.after()
    assert guard.mutated() == ["b"]


def test_worker_exceptions_are_classified_by_whose_fault_they_are():
    from skillfoundry.kernels.gpu.launch import CandidateError
    from skillfoundry.kernels.gpu.worker import LoadError, classify_exception

    assert classify_exception(LoadError("entry vector_add: CUDA_ERROR_NOT_FOUND"), True) == "load"
    assert classify_exception(CandidateError("launch: CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"), True) == "fault"
    illegal = RuntimeError("CUDA error: an illegal memory access was encountered")
    assert classify_exception(illegal, True) == "fault"
    assert classify_exception(illegal, False) == "infrastructure"
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert classify_exception(oom, True) == "fault"
    assert classify_exception(oom, False) == "infrastructure"
    assert classify_exception(KeyError("shape"), True) == "infrastructure"  # a harness bug stays the harness's


def test_finished_workers_are_classified_by_how_far_they_got():
    from skillfoundry.kernels.gpu.protocol import Events
    from skillfoundry.kernels.gpu.runner import classify

    gpu = GpuInfo(name="NVIDIA H100", compute_capability=(9, 0))
    reached = Events(gpu=gpu)
    assert classify(Events(), None, "no progress for 130 s during start-up")[0] == "infrastructure"
    assert classify(reached, None, "no progress for 40 s during correctness[0] (hung kernel?)")[0] == "timeout"
    assert classify(Events(), 1, None)[0] == "infrastructure"  # died before the GPU: torch/driver missing
    assert classify(reached, -11, None)[0] == "crash"
    assert classify(Events(gpu=gpu, error_kind="fault", error="illegal address"), 3, None) == (
        "fault",
        "illegal address",
    )
    assert classify(Events(gpu=gpu, done=True), 0, None) == (None, None)


def test_worker_without_torch_reports_an_infrastructure_error(tmp_path: Path):
    result = tmp_path / "events.jsonl"
    job = {
        "problem_id": "vector_add",
        "cubin_path": str(tmp_path / "k.cubin"),
        "result_path": str(result),
        "shape_indices": [0],
    }
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "torch.py").write_text("raise ImportError('no torch here')\n")
    env = {"PYTHONPATH": f"{blocker}:{Path(__file__).resolve().parents[2] / 'src'}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "skillfoundry.kernels.gpu.worker"],
        input=json.dumps(job).encode(),
        env=env,
        capture_output=True,
        timeout=120,
    )
    events = parse_events(result.read_text().splitlines())
    assert proc.returncode == 4 and events.error_kind == "infrastructure" and "no torch here" in (events.error or "")
