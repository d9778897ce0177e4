"""Compile CUDA C++ to PTX and cubin with NVRTC, with a content-addressed disk cache.

Sources are untrusted: before compiling, a preflight refuses bytes NVRTC would read differently
from the checks (NUL, invalid UTF-8) and includes outside the CUDA headers; each compile then runs
in its own subprocess (``nvrtc_child``) with CPU-time, memory and wall-clock limits, in an empty
directory, and its log is scrubbed of anything from outside the program. Batches run in parallel
(``compile_many``: a pool of threads, each waiting on its compile subprocess). Results are cached by
(source, options, arch, toolkit version); failures are cached too, since they are just as
deterministic, except a compile stopped by a limit (limits are not part of the key).
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from skillfoundry.ids import content_id
from skillfoundry.kernels import cache as disk_cache
from skillfoundry.kernels.errors import ArchError
from skillfoundry.kernels.nvrtc_child import CompileJob, CompileLimits, CompileReply
from skillfoundry.kernels.preflight import directive_problems, encoding_problem, scrub_log
from skillfoundry.kernels.ptxas_log import Diagnostic, KernelResources, parse_diagnostics, parse_resources

DEFAULT_ARCHS: tuple[str, ...] = ("sm_80", "sm_90")
BASE_OPTIONS: tuple[str, ...] = ("-std=c++17", "-lineinfo", "-Xptxas=-v")
PROGRAM_NAME = "kernel.cu"
SIGNATURE_NAME = "expected_signature.h"  # the name the grader's signature declarations are compiled under
_ARCH = re.compile(r"^(sm|compute)_(\d+)([a-z]?)$")


class BuildResult(BaseModel):
    """One NVRTC compile of one source for one architecture."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    source_sha: str
    arch: str
    options: list[str]
    toolkit_version: str
    ok: bool
    log: str
    diagnostics: list[Diagnostic] = []
    kernels: list[KernelResources] = []
    ptx: str | None = None
    cubin: bytes | None = None
    compile_s: float
    cached: bool = False

    @property
    def build_id(self) -> str:
        """The cache key: same source, options, arch and toolkit give the same id."""
        return build_key(self.source_sha, self.arch, self.options, self.toolkit_version)

    def _max(self, field: str) -> int | None:
        return max((getattr(k, field) for k in self.kernels), default=None) if self.ok else None

    @property
    def registers(self) -> int | None:
        return self._max("registers")

    @property
    def spills(self) -> int | None:
        """Bytes of spill stores plus loads of the worst kernel."""
        if not self.ok:
            return None
        return max((k.spill_stores + k.spill_loads for k in self.kernels), default=None)

    @property
    def smem_bytes(self) -> int | None:
        return self._max("smem_bytes")

    @property
    def local_bytes(self) -> int | None:
        return self._max("local_bytes")

    def record(self) -> dict[str, Any]:
        """A dict shaped like ``KernelBuildRecord`` without ``run_id``."""
        return {
            "build_id": self.build_id,
            "source_sha": self.source_sha,
            "arch": self.arch,
            "options": " ".join(self.options),
            "toolkit_version": self.toolkit_version,
            "ok": self.ok,
            "log": self.log,
            "registers": self.registers,
            "spills": self.spills,
            "smem_bytes": self.smem_bytes,
            "local_bytes": self.local_bytes,
            "compile_s": self.compile_s,
            "cached": self.cached,
        }

    def summary(self) -> dict[str, Any]:
        """The short JSON a person reads: ok, log, resources."""
        return {
            "ok": self.ok,
            "arch": self.arch,
            "log": self.log,
            "registers": self.registers,
            "spills": self.spills,
            "smem": self.smem_bytes,
            "local": self.local_bytes,
            "kernels": [k.model_dump() for k in self.kernels],
            "diagnostics": [d.model_dump() for d in self.diagnostics],
            "cached": self.cached,
            "compile_s": round(self.compile_s, 4),
        }


def source_sha(source: str) -> str:
    """sha256 hex of the UTF-8 source text (lone surrogates kept as escapes, so any str has one)."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def build_key(sha: str, arch: str, options: Sequence[str], toolkit: str) -> str:
    return content_id("nvrtc", sha, arch, list(options), toolkit, length=32)


def default_cache_dir() -> Path:
    from skillfoundry.config import Settings

    return Settings().cache_dir / "kernels"


@cache
def include_dirs() -> tuple[Path, ...]:
    """CUDA and CCCL header directories shipped in the installed ``nvidia-*`` wheels."""
    spec = importlib.util.find_spec("nvidia")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    found: list[Path] = []
    for root in roots:
        for rel in (
            "cu13/include",
            "cu13/include/cccl",
            "cuda_runtime/include",
            "cuda_cccl/include",
            "cuda_nvrtc/include",
            "cu12/include",
            "cu12/include/cccl",
        ):
            path = root / rel
            if path.is_dir() and path not in found:
                found.append(path)
    return tuple(found)


def _nvrtc():
    from cuda.bindings import nvrtc

    return nvrtc


def _check(result: Any, what: str) -> Any:
    nvrtc = _nvrtc()
    err, *rest = result if isinstance(result, tuple) else (result,)
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise RuntimeError(f"NVRTC {what} failed: {err.name}")
    return rest[0] if len(rest) == 1 else rest


@cache
def toolkit_version() -> str:
    """NVRTC's version, e.g. '13.5' (part of every cache key)."""
    major, minor = _check(_nvrtc().nvrtcVersion(), "version")
    return f"{major}.{minor}"


@cache
def supported_archs() -> tuple[int, ...]:
    """Compute capabilities this NVRTC can target, e.g. (75, 80, 86, ..., 120)."""
    return tuple(_check(_nvrtc().nvrtcGetSupportedArchs(), "supported archs"))


def validate_arch(arch: str) -> str:
    """``arch`` if NVRTC can target it, else ArchError naming the supported ones."""
    m = _ARCH.match(arch)
    if not m or int(m.group(2)) not in supported_archs():
        names = ", ".join(f"sm_{a}" for a in supported_archs())
        raise ArchError(f"arch {arch!r} is not supported by NVRTC {toolkit_version()}; expected one of: {names}")
    return arch


def _read(prog: Any, size_fn: Any, get_fn: Any) -> bytes:
    size = _check(size_fn(prog), size_fn.__name__)
    buf = b" " * size
    _check(get_fn(prog, buf), get_fn.__name__)
    return buf.rstrip(b"\x00")


def nvrtc_compile_here(
    source: str, arch: str, options: Sequence[str], includes: Sequence[str]
) -> tuple[bool, str, str | None, bytes | None]:
    """Compile in this process (the compile subprocess calls this): (ok, log, ptx, cubin)."""
    nvrtc = _nvrtc()
    prog = _check(nvrtc.nvrtcCreateProgram(source.encode("utf-8"), PROGRAM_NAME.encode(), 0, [], []), "create")
    try:
        opts = [f"--gpu-architecture={arch}", *BASE_OPTIONS, *options, *(f"-I{d}" for d in includes)]
        (status,) = nvrtc.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts])
        log = _read(prog, nvrtc.nvrtcGetProgramLogSize, nvrtc.nvrtcGetProgramLog).decode("utf-8", "replace").strip()
        if status != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            return False, f"{log}\n{status.name}".strip(), None, None
        ptx = _read(prog, nvrtc.nvrtcGetPTXSize, nvrtc.nvrtcGetPTX).decode("utf-8")
        cubin = _read(prog, nvrtc.nvrtcGetCUBINSize, nvrtc.nvrtcGetCUBIN) if arch.startswith("sm_") else None
        return True, log, ptx, cubin
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def preflight_problem(source: str) -> str | None:
    """Why ``source`` must not reach the compiler, or None (see ``skillfoundry.kernels.preflight``)."""
    if issue := encoding_problem(source):
        return issue
    problems = directive_problems(source)
    if problems:
        line, message = problems[0]
        return f"line {line}: {message}"
    return None


def _child_env() -> dict[str, str]:
    import skillfoundry

    src = str(Path(skillfoundry.__file__).resolve().parent.parent)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH")}
    return keep | {"PYTHONPATH": src, "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/nonexistent"}


@cache
def _empty_dir() -> str:
    """An empty directory, one per process, where compiles run: NVRTC looks up quoted includes in
    its working directory, and the path ends up in the PTX's ``.file`` (so it stays the same)."""
    path = tempfile.mkdtemp(prefix="sf-nvrtc-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _compile_isolated(
    source: str, arch: str, options: Sequence[str], limits: CompileLimits
) -> tuple[bool, str, str | None, bytes | None, bool]:
    """Compile in a limited subprocess: (ok, log, ptx, cubin, deterministic)."""
    job = CompileJob(
        source=source, arch=arch, options=list(options), include_dirs=[str(d) for d in include_dirs()], limits=limits
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "skillfoundry.kernels.nvrtc_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=_empty_dir(),
        env=_child_env(),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(job.model_dump_json().encode(), timeout=limits.wall_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return False, f"compile stopped: over the {limits.wall_s:g} s wall-clock limit", None, None, False
    if proc.returncode == 0:
        try:
            reply = CompileReply.model_validate_json(out)
        except ValidationError:
            reply = None
        if reply is not None:
            cubin = base64.b64decode(reply.cubin_b64) if reply.cubin_b64 else None
            return reply.ok, reply.log, reply.ptx, cubin, True
    rc = proc.returncode
    text = err.decode("utf-8", "replace")
    if rc in (-signal.SIGXCPU, -signal.SIGKILL):
        why = f"over the {limits.cpu_s} s CPU-time limit"
    elif rc == -signal.SIGABRT or any(s in text for s in ("MemoryError", "bad_alloc", "OUT_OF_MEMORY")):
        why = f"over the {limits.memory_bytes // 2**20} MiB memory limit"
    elif rc is not None and rc < 0:
        why = f"the compiler died of signal {-rc}"
    else:  # a Python error in the compile process is the harness's, not the candidate's
        last = text.strip().splitlines()[-1] if text.strip() else f"exit code {rc}"
        raise RuntimeError(f"NVRTC compile subprocess failed: {last[:300]}")
    return False, f"compile stopped: {why}", None, None, False  # limits are not part of the cache key


def compile_cuda(
    source: str,
    *,
    arch: str = "sm_90",
    options: Sequence[str] = (),
    cache_dir: Path | None = None,
    limits: CompileLimits | None = None,
) -> BuildResult:
    """Compile ``source`` for ``arch`` (PTX and cubin), or return the cached result (``cached=True``).

    A source that does not compile, is refused by the preflight or exceeds ``limits`` gives
    ``ok=False`` with the (scrubbed) compiler log (lines numbered as ``kernel.cu(LINE): error: ...``);
    only a bad ``arch`` raises (ArchError).
    """
    start = time.perf_counter()
    validate_arch(arch)
    opts = list(options)
    sha = source_sha(source)
    toolkit = toolkit_version()
    key = build_key(sha, arch, opts, toolkit)
    root = cache_dir if cache_dir is not None else default_cache_dir()
    if (text := disk_cache.load(root, key)) is not None:
        try:
            hit = BuildResult.model_validate_json(text)
        except ValidationError:
            hit = None  # a damaged entry is a miss; the fresh result overwrites it
        if hit is not None:
            return hit.model_copy(update={"cached": True, "compile_s": time.perf_counter() - start})
    refused = preflight_problem(source)
    if refused is not None:
        ok, log, ptx, cubin, deterministic = (
            False,
            f"{PROGRAM_NAME}: refused before compiling: {refused}",
            None,
            None,
            True,
        )
    else:
        ok, log, ptx, cubin, deterministic = _compile_isolated(source, arch, opts, limits or CompileLimits())
        log = scrub_log(log, (PROGRAM_NAME, SIGNATURE_NAME), include_dirs())
    result = BuildResult(
        source_sha=sha,
        arch=arch,
        options=opts,
        toolkit_version=toolkit,
        ok=ok,
        log=log,
        diagnostics=parse_diagnostics(log),
        kernels=parse_resources(log) if ok else [],
        ptx=ptx,
        cubin=cubin,
        compile_s=time.perf_counter() - start,
    )
    if deterministic:
        disk_cache.store(root, key, result.model_dump_json())
    return result


def _compile_job(job: tuple[str, str, tuple[str, ...], Path]) -> BuildResult:
    source, arch, options, root = job
    return compile_cuda(source, arch=arch, options=options, cache_dir=root)


@cache
def _pool(workers: int) -> ThreadPoolExecutor:
    # threads suffice: each compile is a subprocess, the thread only waits for it
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nvrtc")


def compile_many(
    sources: Sequence[str],
    *,
    archs: Sequence[str] = DEFAULT_ARCHS,
    options: Sequence[str] = (),
    cache_dir: Path | None = None,
    workers: int | None = None,
) -> list[list[BuildResult]]:
    """Compile every source for every arch; result[i][j] is sources[i] on archs[j].

    Cache hits are answered at once; misses run ``workers`` (default: CPU count) compile
    subprocesses at a time, from a pool that stays up for later batches. ``workers=1`` compiles serially.
    """
    for arch in archs:
        validate_arch(arch)
    root = cache_dir if cache_dir is not None else default_cache_dir()
    opts = tuple(options)
    toolkit = toolkit_version()
    results: dict[tuple[int, int], BuildResult] = {}
    misses: list[tuple[int, int]] = []
    for i, source in enumerate(sources):
        sha = source_sha(source)
        for j, arch in enumerate(archs):
            if disk_cache.load(root, build_key(sha, arch, opts, toolkit)) is not None:
                results[i, j] = compile_cuda(source, arch=arch, options=opts, cache_dir=root)
            else:
                misses.append((i, j))
    jobs = [(sources[i], archs[j], opts, root) for i, j in misses]
    n_workers = min(workers or os.cpu_count() or 1, len(jobs))
    if n_workers <= 1:
        built = [_compile_job(job) for job in jobs]
    else:
        built = list(_pool(n_workers).map(_compile_job, jobs))
    results.update(zip(misses, built))
    return [[results[i, j] for j in range(len(archs))] for i in range(len(sources))]
