"""One NVRTC compile in its own process: ``python -m skillfoundry.kernels.nvrtc_child`` with a
CompileJob as JSON on stdin, a CompileReply as JSON on stdout.

The process limits itself (CPU seconds, address space, no core files, no file writes) before NVRTC
is loaded, and runs in an empty working directory, so a template bomb or a pathological include
ends this process and nothing else.
"""

from __future__ import annotations

import base64
import resource
import sys

from pydantic import BaseModel


class CompileLimits(BaseModel):
    """Resources one compile may use; past them the compile fails as the candidate's fault."""

    cpu_s: int = 60
    memory_bytes: int = 4 * 2**30
    wall_s: float = 120.0


class CompileJob(BaseModel):
    source: str
    arch: str
    options: list[str]
    include_dirs: list[str]
    limits: CompileLimits


class CompileReply(BaseModel):
    ok: bool
    log: str
    ptx: str | None = None
    cubin_b64: str | None = None


def limit_self(limits: CompileLimits) -> None:
    """Apply ``limits`` to this process (inherited by nothing: NVRTC starts no children)."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def main() -> None:
    job = CompileJob.model_validate_json(sys.stdin.buffer.read())
    limit_self(job.limits)
    from skillfoundry.kernels.compile import nvrtc_compile_here

    ok, log, ptx, cubin = nvrtc_compile_here(job.source, job.arch, job.options, job.include_dirs)
    reply = CompileReply(ok=ok, log=log, ptx=ptx, cubin_b64=base64.b64encode(cubin).decode() if cubin else None)
    sys.stdout.write(reply.model_dump_json())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
