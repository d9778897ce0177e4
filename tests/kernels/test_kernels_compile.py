"""NVRTC compilation: PTX + cubin, logs with line numbers, resource usage, the disk cache, the pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.kernels import cache as disk_cache
from skillfoundry.kernels import compile_cuda, compile_many
from skillfoundry.kernels.compile import build_key, include_dirs, source_sha, toolkit_version
from skillfoundry.kernels.errors import ArchError
from skillfoundry.kernels.ptxas_log import parse_diagnostics, parse_resources
from skillfoundry.storage.records import KernelBuildRecord

ADD = 'extern "C" __global__ void add(const float* a, float* b, int n) { int i = threadIdx.x; if (i < n) b[i] = a[i] + 1.0f; }\n'

SHARED = """
extern "C" __global__ void staged(const float* x, float* y, int n) {
    __shared__ float tile[512];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x] = i < n ? x[i] : 0.0f;
    __syncthreads();
    if (i < n) y[i] = tile[(threadIdx.x + 1) % blockDim.x];
}
"""

LOCAL = """
extern "C" __global__ void spill(const int* idx, float* y) {
    float buf[64];
    for (int k = 0; k < 64; ++k) buf[k] = k * 0.5f;
    y[threadIdx.x] = buf[idx[threadIdx.x] & 63];
}
"""

BROKEN = """extern "C" __global__ void broken(float* y) {
    int i = threadIdx.x;
    y[i] = undefined_name + 1;
}
"""


def test_compiles_to_ptx_and_cubin(tmp_path: Path):
    result = compile_cuda(ADD, arch="sm_90", cache_dir=tmp_path)
    assert result.ok and not result.cached
    assert ".entry add(" in result.ptx and ".target sm_90" in result.ptx
    assert result.cubin[:4] == b"\x7fELF"
    assert result.toolkit_version == toolkit_version()
    assert result.source_sha == source_sha(ADD)
    assert "-lineinfo" not in result.options  # base options are implicit; options lists the caller's
    assert ".loc" in result.ptx  # -lineinfo is on
    assert [k.name for k in result.kernels] == ["add"] and result.registers > 0


def test_compile_error_returns_log_with_line_numbers(tmp_path: Path):
    result = compile_cuda(BROKEN, arch="sm_90", cache_dir=tmp_path)
    assert not result.ok and result.ptx is None and result.cubin is None
    assert "kernel.cu(3): error" in result.log
    assert result.diagnostics[0].line == 3 and result.diagnostics[0].severity == "error"
    assert "undefined_name" in result.diagnostics[0].message
    assert result.registers is None


def test_reports_shared_memory_and_local_memory(tmp_path: Path):
    shared = compile_cuda(SHARED, arch="sm_80", cache_dir=tmp_path)
    assert shared.ok and shared.smem_bytes == 512 * 4
    local = compile_cuda(LOCAL, arch="sm_90", cache_dir=tmp_path)
    assert local.ok and local.local_bytes >= 64 * 4
    record = KernelBuildRecord(run_id="r", **local.record())
    assert record.local_bytes == local.local_bytes and record.options == ""


def test_cache_returns_identical_result_without_recompiling(tmp_path: Path):
    first = compile_cuda(ADD, arch="sm_90", cache_dir=tmp_path)
    entry = disk_cache.entry_path(tmp_path, first.build_id)
    assert entry.exists() and not list(entry.parent.glob("*.tmp"))
    stamp = entry.stat().st_mtime_ns
    second = compile_cuda(ADD, arch="sm_90", cache_dir=tmp_path)
    assert second.cached
    assert entry.stat().st_mtime_ns == stamp  # nothing was rewritten
    same = {"cached", "compile_s"}
    assert second.model_dump(exclude=same) == first.model_dump(exclude=same)
    assert second.build_id == first.build_id


def test_cache_key_covers_arch_options_and_source(tmp_path: Path):
    sha = source_sha(ADD)
    keys = {
        build_key(sha, "sm_90", [], "13.5"),
        build_key(sha, "sm_80", [], "13.5"),
        build_key(sha, "sm_90", ["-DX=1"], "13.5"),
        build_key(sha, "sm_90", [], "13.6"),
        build_key(source_sha(ADD + " "), "sm_90", [], "13.5"),
    }
    assert len(keys) == 5
    a = compile_cuda(ADD, arch="sm_90", cache_dir=tmp_path)
    b = compile_cuda(ADD, arch="sm_90", options=["-DUNUSED=1"], cache_dir=tmp_path)
    assert not b.cached and a.build_id != b.build_id


def test_damaged_cache_entry_is_a_miss_and_is_repaired(tmp_path: Path):
    first = compile_cuda(ADD, arch="sm_90", cache_dir=tmp_path)
    entry = disk_cache.entry_path(tmp_path, first.build_id)
    entry.write_text('{"truncated": ')
    again = compile_cuda(ADD, arch="sm_90", cache_dir=tmp_path)
    assert again.ok and not again.cached
    assert json.loads(entry.read_text())["ok"] is True
    assert compile_cuda(ADD, arch="sm_90", cache_dir=tmp_path).cached


def test_options_reach_the_compiler(tmp_path: Path):
    source = '#if WANT\nextern "C" __global__ void k(float* y) { y[0] = 1.0f; }\n#else\n#error WANT not set\n#endif\n'
    assert not compile_cuda(source, arch="sm_90", cache_dir=tmp_path).ok
    assert compile_cuda(source, arch="sm_90", options=["-DWANT=1"], cache_dir=tmp_path).ok


def test_cuda_and_cccl_headers_are_found(tmp_path: Path):
    dirs = include_dirs()
    assert any((d / "cuda_fp16.h").exists() for d in dirs)
    assert any((d / "cub" / "block" / "block_reduce.cuh").exists() for d in dirs)
    source = """
#include <cub/block/block_reduce.cuh>
extern "C" __global__ void total(const float* x, float* out) {
    using Reduce = cub::BlockReduce<float, 128>;
    __shared__ typename Reduce::TempStorage temp;
    float s = Reduce(temp).Sum(x[threadIdx.x]);
    if (threadIdx.x == 0) out[0] = s;
}
"""
    result = compile_cuda(source, arch="sm_90", cache_dir=tmp_path)
    assert result.ok, result.log


def test_bad_arch_is_a_one_line_value_error(tmp_path: Path):
    for arch in ("sm_10", "gfx90a", "sm90"):
        with pytest.raises(ArchError) as err:
            compile_cuda(ADD, arch=arch, cache_dir=tmp_path)
        assert isinstance(err.value, ValueError) and "\n" not in str(err.value) and arch in str(err.value)


def _timeless(log: str) -> list[str]:
    return [line for line in log.splitlines() if "Compile time" not in line]


def test_compile_many_keeps_order_uses_cache_and_matches_serial(tmp_path: Path):
    sources = [ADD, SHARED, BROKEN, LOCAL]
    pooled = compile_many(sources, archs=("sm_80", "sm_90"), cache_dir=tmp_path / "pool", workers=2)
    serial = compile_many(sources, archs=("sm_80", "sm_90"), cache_dir=tmp_path / "serial", workers=1)
    assert [[b.arch for b in row] for row in pooled] == [["sm_80", "sm_90"]] * 4
    for src, prow, srow in zip(sources, pooled, serial):
        for p, s in zip(prow, srow):
            assert p.source_sha == source_sha(src)
            assert p.model_dump(exclude={"compile_s", "log"}) == s.model_dump(exclude={"compile_s", "log"})
            assert _timeless(p.log) == _timeless(s.log)
    assert [row[0].ok for row in pooled] == [True, True, False, True]
    again = compile_many(sources, archs=("sm_80", "sm_90"), cache_dir=tmp_path / "pool", workers=2)
    assert all(b.cached for row in again for b in row)


PTXAS_LOG = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '{name}' for 'sm_90'
ptxas info    : Function properties for {name}
ptxas         .     {stack} bytes stack frame, {stores} bytes spill stores, {loads} bytes spill loads
ptxas info    : Used {regs} registers, used 1 barriers, {smem} bytes smem
ptxas info    : Compile time = 1.0 ms"""


@settings(max_examples=50, deadline=None)
@given(
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
    nums=st.tuples(*[st.integers(0, 100_000)] * 5),
)
def test_ptxas_log_parsing(name: str, nums: tuple[int, ...]):
    stack, stores, loads, regs, smem = nums
    log = PTXAS_LOG.format(name=name, stack=stack, stores=stores, loads=loads, regs=regs, smem=smem)
    (res,) = parse_resources(log)
    assert (res.name, res.local_bytes, res.spill_stores, res.spill_loads, res.registers, res.smem_bytes) == (
        name,
        stack,
        stores,
        loads,
        regs,
        smem,
    )
    assert parse_diagnostics(log) == []


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_log_parsers_never_raise(text: str):
    parse_resources(text)
    parse_diagnostics(text)


# -- untrusted sources: preflight, isolation, scrubbed logs ---------------------------------------
def test_host_includes_are_refused_before_compiling_and_never_echoed(tmp_path: Path):
    secret = tmp_path / "secret.h"
    secret.write_text("TOP SECRET LINE\n")
    for source in (f'#include "{secret}"\n', f"#include <{secret}>\n", f'#define F "{secret}"\n#include F\n'):
        build = compile_cuda(source, arch="sm_90", cache_dir=tmp_path / "c")
        assert not build.ok and "refused before compiling" in build.log
        assert "TOP SECRET" not in build.log


def test_scrub_log_keeps_the_program_and_cuda_headers_and_withholds_other_files():
    from skillfoundry.kernels.compile import include_dirs
    from skillfoundry.kernels.preflight import scrub_log

    root = include_dirs()[0]
    log = (
        'kernel.cu(3): error: identifier "x" is undefined\n  x = 1;\n  ^\n\n'
        "/etc/passwd(1): error: expected a declaration\n  root:x:0:0:root:/root:/bin/bash\n  ^\n\n"
        f"{root}/cuda_fp16.h(10): warning: something\n  half h;\n\n"
        '2 errors detected in the compilation of "kernel.cu".'
    )
    clean = scrub_log(log, ["kernel.cu"], include_dirs())
    assert 'kernel.cu(3): error: identifier "x" is undefined' in clean and "  x = 1;" in clean
    assert "root:" not in clean and "/etc/passwd" not in clean and "<file outside the program>(1)" in clean
    assert "<cuda>/cuda_fp16.h(10)" in clean and str(root) not in clean
    assert clean.endswith('2 errors detected in the compilation of "kernel.cu".')


def test_nul_and_invalid_utf8_are_refused_not_truncated(tmp_path: Path):
    for source in (ADD + "\x00__device__ int hidden;\n", ADD + "// \ufffd\n", ADD + "// \udcff\n"):
        build = compile_cuda(source, arch="sm_90", cache_dir=tmp_path)
        assert not build.ok and "refused before compiling" in build.log


def test_a_compile_over_its_limits_fails_and_the_caller_survives(tmp_path: Path):
    from skillfoundry.kernels.nvrtc_child import CompileLimits

    bomb = (
        "template<int N, unsigned M> struct F { static constexpr unsigned v = F<N-1, M*2u>::v + F<N-1, M*2u+1u>::v; };\n"
        "template<unsigned M> struct F<0, M> { static constexpr unsigned v = M; };\n"
        "__device__ const unsigned q = F<40, 1u>::v;\n"
    )
    build = compile_cuda(bomb, arch="sm_90", cache_dir=tmp_path, limits=CompileLimits(cpu_s=2, wall_s=30))
    assert not build.ok and ("compile stopped" in build.log or "out of memory" in build.log)
    assert compile_cuda(ADD, arch="sm_90", cache_dir=tmp_path).ok  # and the next compile works
