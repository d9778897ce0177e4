"""Judge a candidate's source by what it compiles to: early reject on the source scan, compile
(after the problem's own declarations) for every arch, then the PTX checks on every arch's PTX.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from skillfoundry.kernels.compile import BuildResult, compile_cuda
from skillfoundry.kernels.nvrtc_child import CompileLimits
from skillfoundry.kernels.problems.model import Problem
from skillfoundry.kernels.source import Scan
from skillfoundry.kernels.static_checks import (
    EARLY_RULES,
    Finding,
    ptx_findings,
    run_static_checks,
    signature_program,
    source_findings,
)


class CandidateReport(BaseModel):
    """Where a candidate stopped and why: ``stage`` is 'static' (a finding rejected it, before or
    after compiling), 'compile' (it does not compile) or 'ok' (compiled, no finding)."""

    stage: Literal["static", "compile", "ok"]
    findings: list[Finding]
    builds: list[BuildResult]

    @property
    def failed_build(self) -> BuildResult | None:
        return next((b for b in self.builds if not b.ok), None)


def _first_error_line(build: BuildResult) -> str:
    errors = [d for d in build.diagnostics if d.severity in ("error", "catastrophic error")]
    if errors:
        return f"line {errors[0].line}: {errors[0].message}"
    return build.log.strip().splitlines()[-1] if build.log.strip() else "unknown compiler error"


#: Rules worth reporting from PTX that never became a cubin (ptxas refused it, e.g. an unresolved
#: device-runtime call): they name what the candidate tried.
_VIRTUAL_RULES = ("device_launch", "device_allocation", "external_call", "stream_or_device_management", "timer", "trap")


def _virtual_findings(
    program: str, arch: str, problem: Problem, cache_dir: Path | None, limits: CompileLimits | None
) -> list[Finding]:
    """PTX-level findings of a program that compiles to PTX but not to a cubin (``compute_XX``)."""
    virtual = compile_cuda(program, arch=arch.replace("sm_", "compute_"), cache_dir=cache_dir, limits=limits)
    if not virtual.ok or not virtual.ptx:
        return []
    return [f for f in ptx_findings(problem, virtual.ptx) if f.rule in _VIRTUAL_RULES]


def check_candidate(
    source: str,
    problem: Problem,
    *,
    archs: Sequence[str] = ("sm_90",),
    cache_dir: Path | None = None,
    limits: CompileLimits | None = None,
) -> CandidateReport:
    """Every check on ``source`` for ``problem``; compiles only what survives the early reject."""
    early = [f for f in source_findings(problem, Scan(source)) if f.rule in EARLY_RULES]
    if early:
        return CandidateReport(stage="static", findings=early, builds=[])
    program = signature_program(problem, source)
    builds: list[BuildResult] = []
    for arch in archs:
        build = compile_cuda(program, arch=arch, cache_dir=cache_dir, limits=limits)
        if build.ok:
            builds.append(build)
            continue
        plain = compile_cuda(source, arch=arch, cache_dir=cache_dir, limits=limits)
        if not plain.ok:  # it does not compile at all: the plain log has the candidate's own errors
            findings = run_static_checks(source, problem)
            if "ptxas" in plain.log:  # the front end made PTX; ptxas refused it: read that PTX
                findings += _virtual_findings(program, arch, problem, cache_dir, limits)
            return CandidateReport(stage="compile", findings=findings, builds=[*builds, plain])
        findings = [f for f in ptx_findings(problem, plain.ptx or "") if f.rule in ("missing_entry", "not_extern_c")]
        if not findings:
            findings = [
                Finding(
                    rule="signature_mismatch",
                    message=f"the kernel's parameters differ from the required declaration ({_first_error_line(build)}); "
                    f"expected {'; '.join(f'`{s}`' for s in problem.signatures)}",
                )
            ]
        return CandidateReport(stage="static", findings=findings, builds=[*builds, plain])
    findings: list[Finding] = []
    for build in builds:
        for finding in run_static_checks(source, problem, ptx=build.ptx):
            if finding not in findings:
                findings.append(finding)
    return CandidateReport(stage="static" if findings else "ok", findings=findings, builds=builds)
