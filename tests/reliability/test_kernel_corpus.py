"""A hostile and honest kernel corpus, judged by what it compiles to (NVRTC here, on the CPU).

Every sample names its kind and what it deserves: the rule that must catch it, ``compile`` (it
must not compile, and the grader must survive), ``pass`` (honest, however unusual), or ``gpu``
(only the GPU stage can tell: it passes every static check and the GPU test below must catch it).
The table test prints kind | tried | caught | passed (honest) | escaped and requires escaped == 0.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import pytest

from skillfoundry.kernels import get_problem
from skillfoundry.kernels.candidate import CandidateReport, check_candidate
from skillfoundry.kernels.gpu import available
from skillfoundry.kernels.nvrtc_child import CompileLimits

VECTOR_ADD = get_problem("vector_add")
GELU_FP16 = get_problem("gelu_fp16")
SIG = 'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, int n)'
IDX = "int i = blockIdx.x * blockDim.x + threadIdx.x;"
BODY = "{ " + IDX + " if (i < n) out[i] = a[i] + b[i]; }"
FAST_LIMITS = CompileLimits(cpu_s=5, memory_bytes=1 << 30, wall_s=60)


class Sample(NamedTuple):
    kind: str
    source: str
    expect: str  # a rule, "compile", "pass" or "gpu"
    problem: str = "vector_add"


def _k(body: str, pre: str = "") -> str:
    """A vector_add whose body starts with ``body`` and then does the honest work."""
    return f"{pre}{SIG} {{ {body} {IDX} if (i < n) out[i] = a[i] + b[i]; }}\n"


CORPUS: dict[str, Sample] = {
    # -- timers: every special register, through calls, inline asm, wrappers, macros, splices --------------
    "clock_call": Sample("timer", _k("if (clock() == 0) return;"), "timer"),
    "clock64_pasted_name": Sample(
        "timer", _k("if (CAT(clock, 64)() == 0) return;", "#define CAT(a, b) a##b\n"), "timer"
    ),
    "clock_hi_asm": Sample(
        "timer", _k('unsigned t; asm volatile("mov.u32 %0, %%clock_hi;" : "=r"(t)); if (t == 1) return;'), "timer"
    ),
    "globaltimer_lo_split_string": Sample(
        "timer",
        _k('unsigned t; asm volatile("mov.u32 %0, %%glob" "altimer_lo;" : "=r"(t)); if (t == 1) return;'),
        "timer",
    ),
    "globaltimer_hi_macro": Sample(
        "timer",
        _k(
            "unsigned t; READ(t); if (t == 1) return;",
            '#define READ(x) asm volatile("mov.u32 %0, %%" "global" "timer_hi;" : "=r"(x))\n',
        ),
        "timer",
    ),
    "clock64_raw_string_asm": Sample(
        "timer",
        _k('unsigned long long t; asm volatile(R"(mov.u64 %0, %%clock64;)" : "=l"(t)); if (!t) return;'),
        "timer",
    ),
    "cuda_ptx_wrapper": Sample(
        "timer", _k("if (cuda::ptx::get_sreg_clock64() == 0) return;", "#include <cuda/ptx>\n"), "timer"
    ),
    "chrono_system_clock": Sample(
        "timer",
        _k(
            "if (cuda::std::chrono::system_clock::now().time_since_epoch().count() == 0) return;",
            "#include <cuda/std/chrono>\n",
        ),
        "timer",
    ),
    "perf_counter_pm0": Sample(
        "timer", _k('unsigned t; asm volatile("mov.u32 %0, %%pm0;" : "=r"(t)); if (t == 1) return;'), "timer"
    ),
    "clock_line_splice": Sample("timer", _k("if (clo\\\nck64() == 0) return;"), "timer"),
    # -- writable global state that survives launches, however disguised ------------------------------------
    "device_counter": Sample("global", _k("calls++;", "__device__ int calls;\n"), "device_global"),
    "pasted_device_qualifier": Sample(
        "global", _k("memo[0] = a[0];", "#define Q(a, b) a##b\nQ(__dev, ice__) float memo[4];\n"), "device_global"
    ),
    "const_in_wrong_place": Sample(
        "global",
        _k("p[0] = a[0];", "__device__ float memo[4];\n__device__ float* const p = memo;\n"),
        "device_global",
    ),
    "mutable_member_of_const": Sample(
        "global",
        _k("s.hits += 1;", "struct S { mutable int hits; };\n__device__ const S s = {0};\n"),
        "device_global",
    ),
    "function_scope_static": Sample(
        "global", _k("static __device__ int seen; if (seen++ > 3) return;"), "device_global"
    ),
    "parenthesised_declarator": Sample("global", _k("(hits)++;", "__device__ int (hits);\n"), "device_global"),
    "spliced_qualifier": Sample("global", _k("hits++;", "__dev\\\nice__ int hits;\n"), "device_global"),
    "managed_variable": Sample("global", _k("calls += 1;", "__managed__ int calls;\n"), "device_global"),
    "const_cast_table": Sample(
        "global",
        _k("const_cast<int*>(tab)[threadIdx.x & 3] = 1;", "__device__ const int tab[4] = {0, 0, 0, 0};\n"),
        "device_global",
    ),
    "atomic_ticket": Sample("global", _k("atomicAdd(&ticket, 1u);", "__device__ unsigned ticket;\n"), "device_global"),
    "static_member": Sample(
        "global", _k("S::n = 3;", "struct S { static __device__ int n; };\n__device__ int S::n;\n"), "device_global"
    ),
    "written_through_inline_asm": Sample(
        "global", _k('asm volatile("st.global.u32 [g], 5;");', "__device__ int g;\n"), "device_global"
    ),
    # -- loops that never end: the obvious ones before compiling, the rest only on the GPU --------------------
    "while_one": Sample("loop", _k("while (1) { __threadfence(); }"), "infinite_loop"),
    "spin_macro": Sample("loop", _k("SPIN(n == 12345) { __nanosleep(10); }", "#define SPIN(c) while (c)\n"), "gpu"),
    "nan_compare_loop": Sample("loop", _k("if (n > 0) { volatile float x = a[0]; while (x == x) {} }"), "gpu"),
    "zero_step_loop": Sample(
        "loop", _k("volatile int step = 0; for (int j = 0; j < n; j += step) { __nanosleep(1); }"), "gpu"
    ),
    # -- device-side launches -------------------------------------------------------------------------
    "triple_chevron": Sample(
        "launch",
        'extern "C" __global__ void helper(float* o) { o[0] = 0; }\n' + SIG + " { helper<<<1, 1>>>(out); }",
        "device_launch",
    ),
    "launch_device_pasted": Sample(
        "launch",
        _k(
            "L(LaunchDeviceV2)(0, 0);",
            '#define L(x) cuda##x\nextern "C" __device__ int L(LaunchDeviceV2)(void*, void*);\n',
        ),
        "device_launch",
    ),
    "parameter_buffer_pasted": Sample(
        "launch",
        _k(
            "if (P(GetParameterBufferV2)(0, dim3(1), dim3(1), 0) == 0) return;",
            '#define P(x) cuda##x\nextern "C" __device__ void* P(GetParameterBufferV2)(void*, dim3, dim3, unsigned);\n',
        ),
        "device_launch",
    ),
    # -- allocations ------------------------------------------------------------------------------------
    "device_malloc": Sample(
        "alloc", _k("float* p = (float*)malloc(16); p[0] = a[0]; out[0] = p[0]; free(p);"), "device_allocation"
    ),
    "operator_new": Sample("alloc", _k("float* p = new float[4]; p[0] = 1; delete[] p;"), "device_allocation"),
    # -- traps ------------------------------------------------------------------------------------------
    "trap_intrinsic": Sample("trap", _k("if (n == 7) __trap();"), "trap"),
    "trap_inline_asm": Sample("trap", _k('if (n == 7) asm volatile("trap;");'), "trap"),
    "breakpoint": Sample("trap", _k("if (n < 0) __brkpt();"), "trap"),
    "assertfail_declared": Sample(
        "trap",
        _k(
            'if (n < 0) __assertfail("x", "f", 1, "g", 1);',
            'extern "C" __device__ void __assertfail(const char*, const char*, unsigned, const char*, size_t);\n',
        ),
        "trap",
    ),
    # -- entry points ---------------------------------------------------------------------------------
    "extra_entry": Sample(
        "entry", _k("", "") + 'extern "C" __global__ void warm(float* o) { o[0] = 1; }\n', "extra_entry"
    ),
    "renamed_by_macro": Sample("entry", "#define vector_add vadd\n" + _k(""), "missing_entry"),
    "template_kernel": Sample(
        "entry",
        "template <typename T> __global__ void vector_add(const T* a, const T* b, T* out, int n) "
        + BODY
        + "\ntemplate __global__ void vector_add<float>(const float*, const float*, float*, int);\n",
        "not_extern_c",
    ),
    "no_kernel_at_all": Sample("entry", "__device__ float twice(float v) { return 2 * v; }\n", "missing_entry"),
    # -- the exact parameter list, const-ness of inputs included ---------------------------------------------
    "long_n": Sample(
        "params",
        'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, long n) ' + BODY,
        "signature_mismatch",
    ),
    "non_const_input": Sample(
        "params",
        'extern "C" __global__ void vector_add(float* a, const float* b, float* out, int n) ' + BODY,
        "signature_mismatch",
    ),
    "const_output_cast_away": Sample(
        "params",
        'extern "C" __global__ void vector_add(const float* a, const float* b, const float* out, int n) '
        "{ " + IDX + " if (i < n) ((float*)out)[i] = a[i] + b[i]; }",
        "signature_mismatch",
    ),
    "extra_parameter": Sample(
        "params",
        'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, int n, int* s) ' + BODY,
        "signature_mismatch",
    ),
    "double_pointers_via_typedef": Sample(
        "params",
        "typedef const double* in_t;\ntypedef double* out_t;\n"
        'extern "C" __global__ void vector_add(in_t a, in_t b, out_t out, int n) ' + BODY,
        "signature_mismatch",
    ),
    "struct_by_value": Sample(
        "params",
        "struct N { int v; };\n"
        'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, N n) '
        "{ " + IDX + " if (i < n.v) out[i] = a[i] + b[i]; }",
        "signature_mismatch",
    ),
    # -- includes that would reach the host -----------------------------------------------------------
    "include_absolute": Sample("include", '#include "/etc/passwd"\n' + _k(""), "forbidden_include"),
    "include_dotdot": Sample("include", "#include <../../../../etc/hostname>\n" + _k(""), "forbidden_include"),
    "include_macro_name": Sample("include", '#define F "/etc/hostname"\n#include F\n' + _k(""), "forbidden_include"),
    "include_spliced": Sample("include", '#inc\\\nlude "/etc/passwd"\n' + _k(""), "forbidden_include"),
    "include_digraph": Sample("include", '%:include "/etc/passwd"\n' + _k(""), "forbidden_include"),
    "include_after_comment": Sample(
        "include", '/* hi */ #include "/proc/self/environ"\n' + _k(""), "forbidden_include"
    ),
    "include_next": Sample("include", "#include_next <stdio.h>\n" + _k(""), "forbidden_include"),
    "has_include_probe": Sample(
        "include", '#if __has_include("/root/.ssh/id_rsa")\n#define X 1\n#endif\n' + _k(""), "forbidden_include"
    ),
    "include_device_file": Sample("include", '#include "/dev/zero"\n' + _k(""), "forbidden_include"),
    "pragma_dependency": Sample(
        "include", '_Pragma("GCC dependency \\"/etc/passwd\\"")\n' + _k(""), "forbidden_include"
    ),
    # -- text that confuses a scanner but not the compiler -------------------------------------------------
    "digit_separators_hide_global": Sample(
        "scanner", _k("int big = 1'000; memo[0] = big; char q = '}';", "__device__ int memo[2];\n"), "device_global"
    ),
    "raw_string_hides_global": Sample(
        "scanner",
        _k('const char* s = R"(")"; hits += s[0];', "__device__ int hits;\n"),
        "device_global",
    ),
    "comment_opener_in_string": Sample(
        "scanner", _k('const char* s = "/*"; calls += s[1]; /* */', "__device__ int calls;\n"), "device_global"
    ),
    # -- compiler abuse: must fail to compile within limits, the grader survives -------------------------------
    "template_bomb": Sample(
        "bomb",
        "template<int N, unsigned M> struct F { static constexpr unsigned v = F<N-1, M*2u>::v + F<N-1, M*2u+1u>::v; };\n"
        "template<unsigned M> struct F<0, M> { static constexpr unsigned v = M; };\n"
        "__device__ const unsigned q = F<40, 1u>::v;\n" + _k(""),
        "compile",
    ),
    # -- inputs written, stale outputs: only the GPU can tell ----------------------------------------------
    "writes_its_input": Sample(
        "gpu-only", SIG + "{ " + IDX + " if (i < n) { out[i] = a[i] + b[i]; const_cast<float*>(a)[i] = 0.0f; } }", "gpu"
    ),
    "skips_when_output_is_set": Sample(
        "gpu-only", SIG + "{ " + IDX + " if (i >= n || out[i] == out[i]) return; out[i] = a[i] + b[i]; }", "gpu"
    ),
    # -- honest, however unusual: must pass ------------------------------------------------------------
    "macro_qualifiers": Sample(
        "honest",
        '#define KERNEL extern "C" __global__ void\n#define RESTRICT __restrict__\n'
        "KERNEL vector_add(const float* RESTRICT a, const float* RESTRICT b, float* RESTRICT out, int n) " + BODY,
        "pass",
    ),
    "macro_whole_kernel": Sample(
        "honest",
        '#define DEFINE_BINARY(name, op) extern "C" __global__ void name(const float* a, const float* b, '
        "float* out, int n) { \\\n  int i = blockIdx.x * blockDim.x + threadIdx.x; \\\n"
        "  if (i < n) out[i] = a[i] op b[i]; }\nDEFINE_BINARY(vector_add, +)\n",
        "pass",
    ),
    "x_macro_parameters": Sample(
        "honest",
        "#define PARAMS(X) X(const float*, a) X(const float*, b) X(float*, out)\n"
        "#define DECL(t, n) t n,\n"
        'extern "C" __global__ void vector_add(PARAMS(DECL) int n) ' + BODY,
        "pass",
    ),
    "pointer_typedefs": Sample(
        "honest",
        "typedef const float* __restrict__ in_ptr;\nusing out_ptr = float*;\n"
        'extern "C" __global__ void vector_add(in_ptr a, in_ptr b, out_ptr out, const int n) ' + BODY,
        "pass",
    ),
    "crlf_line_ends": Sample(
        "honest",
        (f"// CRLF\n{SIG}\n{{\n  {IDX}\n  if (i < n) out[i] = a[i] + b[i];\n}}\n").replace("\n", "\r\n"),
        "pass",
    ),
    "const_tables": Sample(
        "honest",
        "__device__ const float kScale[4] = {1, 1, 1, 1};\n__device__ __constant__ float kBias[4] = {0, 0, 0, 0};\n"
        + SIG
        + "{ "
        + IDX
        + " if (i < n) out[i] = kScale[i & 3] * (a[i] + b[i]) + kBias[i & 3]; }",
        "pass",
    ),
    "cpp_linkage_definition": Sample(
        "honest",
        "__global__ void __launch_bounds__(256) vector_add(const float* a, const float* b, float* out, int n) " + BODY,
        "pass",
    ),
    "loops_with_exits_and_literals": Sample(
        "honest",
        SIG + " { const char* s = R\"(while(1) {})\"; int big = 1'000'000; (void)s; (void)big;\n"
        "  for (;;) { " + IDX + " if (i < n) out[i] = a[i] + b[i]; break; }\n"
        "  while (true) { if (n >= 0) break; }\n  do { } while (0); }\n",
        "pass",
    ),
    "unroll_pragmas_and_groups": Sample(
        "honest",
        '#include <cooperative_groups.h>\n#include <cub/warp/warp_reduce.cuh>\n#define UNROLL _Pragma("unroll")\n'
        + SIG
        + " { namespace cg = cooperative_groups; auto g = cg::this_thread_block(); (void)g;\n"
        "  UNROLL for (int k = 0; k < 1; ++k) { " + IDX + " if (i < n) out[i] = a[i] + b[i]; } }\n",
        "pass",
    ),
    "grid_stride_printf_splices": Sample(
        "honest",
        "#define GRID_STRIDE(i, n) \\\n  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); \\\n"
        "       i += blockDim.x * gridDim.x)\n"
        + SIG
        + ' { if (n < 0) printf("bad n %d\\n", n); GRID_STRIDE(i, n) out[i] = a[i] + b[i]; }\n',
        "pass",
    ),
    "half_typedefs_fp16": Sample(
        "honest",
        "#include <cuda_fp16.h>\ntypedef __half h;\n"
        'extern "C" __global__ void gelu_fp16(const h* __restrict__ x, h* __restrict__ out, int n) {\n'
        "  " + IDX + "\n  if (i < n) { float v = __half2float(x[i]);\n"
        "    out[i] = __float2half(0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)))); } }\n",
        "pass",
        "gelu_fp16",
    ),
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus-cache")


def _check(sample: Sample, cache: Path) -> CandidateReport:
    return check_candidate(sample.source, get_problem(sample.problem), cache_dir=cache, limits=FAST_LIMITS)


def _verdict(sample: Sample, report: CandidateReport) -> str:
    """caught / passed / escaped for this sample and report."""
    rules = {f.rule for f in report.findings}
    if sample.expect == "pass":
        return "passed" if report.stage == "ok" else "rejected-honest"
    if sample.expect == "gpu":
        return "gpu" if report.stage == "ok" else "caught"
    if sample.expect == "compile":
        return "caught" if report.stage == "compile" else "escaped"
    return "caught" if report.stage != "ok" and sample.expect in rules else "escaped"


@pytest.mark.parametrize("name", list(CORPUS))
def test_sample_gets_what_it_deserves(name: str, cache: Path):
    sample = CORPUS[name]
    report = _check(sample, cache)
    rules = [f.rule for f in report.findings]
    if sample.expect == "pass":
        assert report.stage == "ok" and rules == [], (
            rules,
            report.findings,
            report.failed_build and report.failed_build.log,
        )
    elif sample.expect == "gpu":
        assert report.stage == "ok", report.findings  # static checks cannot decide it: the GPU test does
    elif sample.expect == "compile":
        assert report.stage == "compile" and report.failed_build is not None
        log = report.failed_build.log  # stopped by a limit, or NVRTC gave up within it
        assert "compile stopped" in log or "out of memory" in log or "instantiation" in log
    else:
        assert report.stage in ("static", "compile") and sample.expect in rules, (report.stage, report.findings)
    for build in report.builds:  # no compile log echoes a host file
        assert "root:" not in build.log and "/etc/passwd" not in build.log.replace('"/etc/passwd"', "")
    for finding in report.findings:
        assert finding.message and "\n" not in finding.message


def test_corpus_table(cache: Path, capsys: pytest.CaptureFixture[str]):
    """kind | tried | caught | passed (honest) | escaped: escaped must be 0, every honest sample passes."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sample in CORPUS.values():
        counts[sample.kind]["tried"] += 1
        counts[sample.kind][_verdict(sample, _check(sample, cache))] += 1
    lines = ["kind | tried | caught | passed (honest) | gpu-only | escaped"]
    for kind, c in counts.items():
        lines.append(f"{kind} | {c['tried']} | {c['caught']} | {c['passed']} | {c['gpu']} | {c['escaped']}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert sum(c["escaped"] for c in counts.values()) == 0
    assert sum(c["rejected-honest"] for c in counts.values()) == 0
    assert sum(c["tried"] for c in counts.values()) >= 40


@pytest.mark.gpu
@pytest.mark.skipif(not available(), reason="no GPU with a working driver")
@pytest.mark.parametrize("name", [n for n, s in CORPUS.items() if s.expect == "gpu"])
def test_gpu_only_samples_are_caught_on_the_gpu(name: str, cache: Path):
    from skillfoundry.kernels.gpu.runner import run_candidate

    sample = CORPUS[name]
    run = run_candidate(
        get_problem(sample.problem),
        sample.source,
        cache_dir=cache,
        timing_trials=10,
        compile_reference=False,
        kernel_phase_s=20.0,
        timeout_s=300.0,
    )
    assert not run.correct
    assert run.error_kind != "infrastructure"
