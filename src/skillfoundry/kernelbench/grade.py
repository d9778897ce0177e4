"""Grade a KernelBench answer (``ModelNew`` + ``load_inline`` CUDA) at compile level.

The answer's Python is analysed, never run (``answer_ast``); each inline CUDA source is split into its
device part, compiled with NVRTC for every arch with the PTX checks of ``skillfoundry.kernels`` (timer
reads, writable globals), and its torch host part is checked as text (``cuda_split``). The level is
``kernel-static`` in every environment: this grader has no GPU stage yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skillfoundry.grading.outcome import CheckOutcome, GradeBundle, GradingLevel
from skillfoundry.kernelbench.answer_ast import Finding, analyze_answer
from skillfoundry.kernelbench.cuda_split import DEVICE_MARKER, host_findings, split_device_host
from skillfoundry.kernels import ptx as ptx_info
from skillfoundry.kernels.compile import BuildResult, compile_cuda, source_sha, validate_arch
from skillfoundry.kernels.extract import fenced_blocks

GRADER = "kernelbench"
LEVEL = GradingLevel.KERNEL_STATIC


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


def _outcome(passed: bool, detail: dict[str, Any]) -> CheckOutcome:
    return CheckOutcome(grader=GRADER, passed=passed, score=float(passed), level=LEVEL, detail=detail)


def grade_kernelbench(
    problem_id: str, answer: str, *, cache_dir: Path | None = None, archs: Sequence[str] = ("sm_90",)
) -> GradeBundle:
    """One outcome (grader 'kernelbench', level kernel-static) plus one build record per source and arch.

    Compile level needs only the answer: the reference (``problem_id``) is named in the detail; the GPU stage
    that would run it against the reference is not built yet."""
    for arch in archs:
        validate_arch(arch)
    detail: dict[str, Any] = {"problem_id": problem_id, "gpu": False, "correctness": "not checked (compile level)"}
    module = answer_module(answer)
    if module is None:
        detail.update(stage="extract", reason="no Python module with class ModelNew in the answer")
        return GradeBundle(outcomes=[_outcome(False, detail)])
    analysis = analyze_answer(module)
    findings = list(analysis.findings)
    builds: list[BuildResult] = []
    for ext in analysis.extensions:
        device, host = split_device_host("\n".join(ext.cuda_sources))
        findings += host_findings(host, ext.cpp_sources)
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
    detail["builds"] = [{k: v for k, v in b.summary().items() if k != "log"} for b in builds]
    detail["source_shas"] = [source_sha(b) for e in analysis.extensions for b in e.cuda_sources]
    detail["findings"] = [f.model_dump() for f in findings]
    passed = not findings
    detail.update(
        stage="static",
        reason=None if passed else "; ".join(f"{f.rule}: {f.message}" for f in findings[:5]),
    )
    return GradeBundle(outcomes=[_outcome(passed, detail)], kernel_builds=[b.record() for b in builds])
