"""Grade a KernelBench answer (``ModelNew`` + ``load_inline`` CUDA): static checks, then on a GPU the run.

First the answer is checked without running it: its Python is analysed (``answer_ast``); each inline
CUDA source is split into its device part, compiled with NVRTC for every arch with the PTX checks of
``skillfoundry.kernels`` (timer reads, writable globals), and its torch host part is checked as text
(``cuda_split``). An answer that passes, where a GPU answers, is run against the reference in a killable
worker (``gpu_stage``): audited correctness trials, timing, and the checks after timing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from skillfoundry.grading.kernel import gpu_outcome, kernel_level, kernel_outcome
from skillfoundry.grading.outcome import GradeBundle, GradingLevel
from skillfoundry.kernelbench.answer_ast import Finding, analyze_answer
from skillfoundry.kernelbench.cuda_split import DEVICE_MARKER, escape_findings, host_findings, split_device_host
from skillfoundry.kernelbench.gpu_stage import problem_dims, run_answer
from skillfoundry.kernelbench.problems import KBProblem
from skillfoundry.kernels import ptx as ptx_info
from skillfoundry.kernels.compile import BuildResult, compile_cuda, source_sha, validate_arch
from skillfoundry.kernels.extract import fenced_blocks
from skillfoundry.kernels.gpu.probe import probe
from skillfoundry.kernels.gpu.runner import benchmark_records
from skillfoundry.skills.model import KernelCheck

GRADER = "kernelbench"


def answer_module(answer: str) -> str | None:
    """The Python module in the answer: the fenced python block defining ModelNew, else the whole text
    when it does; None when there is none."""
    blocks = [body for info, body in fenced_blocks(answer) if "class ModelNew" in body]
    if blocks:
        return blocks[-1]
    return answer if "class ModelNew" in answer and "```" not in answer else None


def ptx_findings(ptx: str) -> list[Finding]:
    findings = [
        Finding(rule="timer", message=f"compiled code reads timer registers {t}") for t in ptx_info.timer_reads(ptx)
    ]
    findings += [
        Finding(rule="device_global", message=f"compiled code has a writable global variable {name!r}")
        for name in ptx_info.written_globals(ptx)
    ]
    return findings


def static_findings(
    module: str, archs: Sequence[str], cache_dir: Path | None
) -> tuple[list[Finding], list[BuildResult], list[str]]:
    """The answer module's findings (Python, host wrapper, compiled device code), its builds and source shas."""
    analysis = analyze_answer(module)
    findings = list(analysis.findings)
    builds: list[BuildResult] = []
    for ext in analysis.extensions:
        cuda = "\n".join(ext.cuda_sources)
        device, host = split_device_host(cuda)
        findings += host_findings(host, ext.cpp_sources) + escape_findings(cuda, host, ext.cpp_sources)
        if not DEVICE_MARKER.search(device):
            findings.append(Finding(rule="no_kernel", message=f"extension {ext.name!r} defines no __global__ kernel"))
            continue
        for arch in archs:
            build = compile_cuda(device, arch=arch, cache_dir=cache_dir)
            builds.append(build)
            if not build.ok:
                first = next((d for d in build.diagnostics if d.severity in ("error", "catastrophic error")), None)
                where = f"line {first.line}: {first.message}" if first else build.log.strip()[-300:]
                findings.append(Finding(rule="compile", message=f"{ext.name} does not compile for {arch}: {where}"))
            elif build.ptx:
                findings += ptx_findings(build.ptx)
    return findings, builds, [source_sha(b) for e in analysis.extensions for b in e.cuda_sources]


def grade_kernelbench(
    check: KernelCheck,
    problem: KBProblem,
    answer: str,
    *,
    cache_dir: Path | None = None,
    archs: Sequence[str] = ("sm_90",),
    gpu_slot: Callable[[], AbstractContextManager[object]] | None = None,
) -> GradeBundle:
    """One outcome (grader 'kernelbench') plus one build record per source and arch, and on a GPU one
    benchmark record. The static checks come first; only an answer that passes them is run, and only
    where a GPU answers (level ``kernel-gpu``); elsewhere the grade stops there (``kernel-static``)."""
    for arch in archs:
        validate_arch(arch)
    level = kernel_level()
    detail: dict[str, Any] = {"problem_id": problem.id, "gpu": False, "correctness": "not checked (compile level)"}
    module = answer_module(answer)
    if module is None:
        detail.update(stage="extract", reason="no Python module with class ModelNew in the answer")
        return GradeBundle(outcomes=[kernel_outcome(False, level, detail, GRADER)])
    findings, builds, shas = static_findings(module, archs, cache_dir)
    detail["builds"] = [{k: v for k, v in b.summary().items() if k != "log"} for b in builds]
    detail["source_shas"] = shas
    detail["findings"] = [f.model_dump() for f in findings]
    records = [b.record() for b in builds]
    if findings or level is not GradingLevel.KERNEL_GPU:
        reason = "; ".join(f"{f.rule}: {f.message}" for f in findings[:5]) if findings else None
        detail.update(stage="static", reason=reason)
        return GradeBundle(outcomes=[kernel_outcome(not findings, level, detail, GRADER)], kernel_builds=records)
    with (gpu_slot or nullcontext)(), _build_dir(cache_dir) as build_dir:
        run = run_answer(problem, module, build_dir=build_dir, device=probe())  # cached: what kernel_level saw
    return GradeBundle(
        outcomes=[gpu_outcome(check, run, detail, grader=GRADER)],
        kernel_builds=records,
        kernel_benchmarks=benchmark_records(run, [problem_dims(problem)]),
    )


@contextmanager
def _build_dir(cache_dir: Path | None) -> Iterator[Path]:
    """Where torch builds answers' extensions: kept under the cache folder, else a throwaway folder."""
    if cache_dir is not None:
        yield Path(cache_dir) / "torch-extensions"
        return
    with tempfile.TemporaryDirectory(prefix="sf-kb-build-") as tmp:
        yield Path(tmp)
