"""Static checks: a corpus of cheating or broken kernels is rejected with the right finding; honest
kernels (including tricky-looking ones) are not. (The larger hostile/honest corpus is in
tests/reliability/test_kernel_corpus.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.kernels import compile_cuda, get_problem, run_static_checks
from skillfoundry.kernels.candidate import check_candidate
from skillfoundry.kernels.source import code_only, find_kernels, normalize, parse_param, strip_comments

VECTOR_ADD = get_problem("vector_add")
SIG = 'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, int n)'
BODY = "{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) out[i] = a[i] + b[i]; }"

# name -> (source, rule it must trigger)
CHEATS: dict[str, tuple[str, str]] = {
    "stream_creation": (
        f"""{SIG} {BODY}
void host_side(float* a, float* b, float* out, int n) {{
    cudaStream_t s; cudaStreamCreate(&s);
    cudaDeviceSynchronize();
}}
""",
        "stream_or_device_management",
    ),
    "driver_api": (
        f"{SIG} {BODY}\nvoid h(void* p) {{ cuMemcpy(0, 0, 4); cuCtxSynchronize(); }}",
        "stream_or_device_management",
    ),
    "set_device": (f"{SIG} {{ cudaSetDevice(1); {BODY} }}", "stream_or_device_management"),
    "device_side_launch": (
        f"""extern "C" __global__ void helper(float* out) {{ out[0] = 0; }}
{SIG} {{ helper<<<1, 1>>>(out); }}""",
        "device_launch",
    ),
    "torch_fallback": (
        f"""#include <torch/extension.h>
torch::Tensor add(torch::Tensor a, torch::Tensor b) {{ return a + b; }}
{SIG} {BODY}""",
        "host_fallback",
    ),
    "aten_fallback": (f"{SIG} {BODY}\nvoid f() {{ at::Tensor t; }}", "host_fallback"),
    "cublas_call": (
        f"""#include <cublas_v2.h>
{SIG} {BODY}
void host(cublasHandle_t h) {{ cublasSaxpy(h, 0, 0, 0, 0, 0, 0); }}""",
        "host_fallback",
    ),
    "missing_entry_point": (
        'extern "C" __global__ void vec_add(const float* a, const float* b, float* out, int n) ' + BODY,
        "missing_entry",
    ),
    "wrong_signature_long_n": (
        'extern "C" __global__ void vector_add(const float* a, const float* b, float* out, long n) ' + BODY,
        "signature_mismatch",
    ),
    "wrong_signature_double": (
        'extern "C" __global__ void vector_add(const double* a, const double* b, double* out, int n) ' + BODY,
        "signature_mismatch",
    ),
    "wrong_signature_arity": (
        'extern "C" __global__ void vector_add(const float* a, float* out, int n) { out[0] = a[0]; }',
        "signature_mismatch",
    ),
    "const_output": (
        'extern "C" __global__ void vector_add(const float* a, const float* b, const float* out, int n) {}',
        "signature_mismatch",
    ),
    "not_extern_c": (
        "template <typename T> __global__ void vector_add(const T* a, const T* b, T* out, int n) "
        + BODY
        + "\ntemplate __global__ void vector_add<float>(const float*, const float*, float*, int);",
        "not_extern_c",
    ),
    "extra_kernel": (f'{SIG} {BODY}\nextern "C" __global__ void warm(float* out) {{ out[0] = 1; }}', "extra_entry"),
    "timer_asm": (
        f"""{SIG} {{
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    {BODY} }}""",
        "timer",
    ),
    "clock_asm": (f'{SIG} {{ unsigned int c; asm("mov.u32 %0, %%clock;" : "=r"(c)); {BODY} }}', "timer"),
    "clock64_call": (f"{SIG} {{ long long t = clock64(); if (t < 0) return; {BODY} }}", "timer"),
    "infinite_while": (f"{SIG} {{ {BODY} while (1) {{ __threadfence(); }} }}", "infinite_loop"),
    "infinite_for": (f"{SIG} {{ {BODY} for (;;) ; }}", "infinite_loop"),
    "infinite_do_while": (f"{SIG} {{ {BODY} do {{ __nanosleep(100); }} while (true); }}", "infinite_loop"),
    "device_global_cache": (
        f"""__device__ float cache[1 << 20];
__device__ int computed = 0;
{SIG} {{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {{ if (!computed) cache[i] = a[i] + b[i]; out[i] = cache[i]; }}
}}""",
        "device_global",
    ),
    "managed_global": (f"__managed__ int calls;\n{SIG} {{ calls++; {BODY} }}", "device_global"),
    "macro_hidden_global": (
        f"#define KEEP __device__\nKEEP float memo[16];\n{SIG} {{ memo[0] = 1; {BODY} }}",
        "device_global",
    ),
}

SYNTAX_ERROR = f"{SIG} {{ int i = ; out[i] = a[i] + b[i] }}"


@pytest.mark.parametrize("name", list(CHEATS))
def test_cheats_are_rejected_with_the_right_finding(name: str, kernel_cache: Path):
    source, rule = CHEATS[name]
    report = check_candidate(source, VECTOR_ADD, cache_dir=kernel_cache)
    assert report.stage != "ok"
    assert rule in {f.rule for f in report.findings}, report.findings
    for f in report.findings:
        assert f.message and "\n" not in f.message


def test_findings_point_at_lines():
    source, _ = CHEATS["timer_asm"]
    (finding,) = [f for f in run_static_checks(source, VECTOR_ADD) if f.rule == "timer"]
    assert finding.line == 3
    (finding,) = [
        f for f in run_static_checks(CHEATS["device_global_cache"][0], VECTOR_ADD) if f.rule == "device_global"
    ][:1]
    assert finding.line == 1
    crlf = source.replace("\n", "\r\n")
    assert [f.line for f in run_static_checks(crlf, VECTOR_ADD) if f.rule == "timer"] == [3]


def test_syntax_error_fails_compile_with_a_line_number(tmp_path: Path):
    build = compile_cuda(SYNTAX_ERROR, arch="sm_90", cache_dir=tmp_path)
    assert not build.ok and build.diagnostics and build.diagnostics[0].line == 1


def test_ptx_checks_catch_what_the_source_scan_misses(tmp_path: Path):
    # timer read hidden behind a macro; global hidden behind a macro
    source = f"""#define T(x) asm volatile("mov.u64 %0, %%glob" "altimer;" : "=l"(x))
{SIG} {{ unsigned long long t; T(t); if (t == 0) return; {BODY} }}"""
    build = compile_cuda(source, arch="sm_90", cache_dir=tmp_path)
    assert build.ok, build.log
    assert "timer" not in {f.rule for f in run_static_checks(source, VECTOR_ADD)}
    assert "timer" in {f.rule for f in run_static_checks(source, VECTOR_ADD, ptx=build.ptx)}


HONEST = {
    # compiled after the problem's extern "C" declaration, a C++ definition takes its C linkage
    "cpp_linkage_takes_the_declared_c_linkage": "__global__ void vector_add(const float* a, const float* b, "
    "float* out, int n) " + BODY,
    "break_out_of_loop": f"{SIG} {{ while (true) {{ if (n > 0) break; }} {BODY} }}",
    "return_in_for": f"{SIG} {{ for (;;) {{ {BODY} return; }} }}",
    "do_while_with_break": f"{SIG} {{ do {{ {BODY} break; }} while (1); }}",
    "const_table": f"__device__ const float kScale[2] = {{1.0f, 1.0f}};\n__constant__ float kBias[1] = {{0.0f}};\n"
    f"{SIG} {{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) out[i] = kScale[0] * (a[i] + b[i]) + kBias[0]; }}",
    "words_in_comments_and_strings": f"// torch would call cudaStreamCreate and cublasSgemm; while(1) {{}}\n"
    f'/* __device__ int cache; clock64() */\n{SIG} {{ if (n < 0) printf("torch at:: %d", n); {BODY} }}',
    "extern_c_block_and_launch_bounds": 'extern "C" {\n__global__ void __launch_bounds__(256) '
    "vector_add(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, int n) "
    + BODY
    + "\n}",
    "namespaced_const_table": "namespace tables { __device__ const float k[4] = {1, 1, 1, 1}; }\n"
    f"{SIG} {{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) out[i] = tables::k[i & 3] * (a[i] + b[i]); }}",
    "typedef_types": "typedef float real;\nusing index_t = int;\n"
    'extern "C" __global__ void vector_add(const real* a, const real* b, real* out, index_t n) ' + BODY,
    "helpers_and_cub": "#include <cub/warp/warp_reduce.cuh>\n__device__ __forceinline__ float add2(float x, float y) "
    "{ return x + y; }\n"
    + f"{SIG} {{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) out[i] = add2(a[i], b[i]); }}",
}


@pytest.mark.parametrize("name", list(HONEST))
def test_honest_kernels_are_clean(name: str, kernel_cache: Path):
    report = check_candidate(HONEST[name], VECTOR_ADD, cache_dir=kernel_cache)
    assert report.stage == "ok", (report.findings, report.failed_build and report.failed_build.log)
    assert report.findings == []


def test_allowed_library_is_not_flagged():
    source, _ = CHEATS["cublas_call"]
    allowed = VECTOR_ADD.model_copy(update={"allowed_libraries": ("cublas",)})
    assert "host_fallback" not in {f.rule for f in run_static_checks(source, allowed)}


def test_multi_entry_problem_needs_both_entries():
    mlp = get_problem("mlp2")
    only_first = mlp.solution_source.split('extern "C" __global__ void mlp_out')[0]
    rules = [(f.rule, f.message) for f in run_static_checks(only_first, mlp)]
    assert any(rule == "missing_entry" and "mlp_out" in msg for rule, msg in rules)


def test_source_helpers():
    assert strip_comments('a // x\n/* y\nz */ "//s"') == 'a     \n    \n     "//s"'
    p = parse_param("const float* __restrict__ x")
    assert (p.base, p.pointers, p.const, p.name) == ("float", 1, True, "x")
    p = parse_param("float * const out")
    assert (p.base, p.pointers, p.const, p.name) == ("float", 1, False, "out")
    p = parse_param("unsigned int n")
    assert (p.base, p.pointers, p.name) == ("unsigned int", 0, "n")
    (k,) = find_kernels("template <int N>\n__global__ void t(float* y) {}")
    assert k.templated and not k.extern_c and k.name == "t"


def test_lexer_reads_splices_digit_separators_and_raw_strings_as_the_compiler_does():
    assert normalize("a\\\r\nb\r\nc") == "ab\n\nc"  # joined, line count kept
    assert code_only("int x = 1'000'000; long t = clock64();").endswith("long t = clock64();")
    assert "while" not in code_only('auto s = R"x(while(1) ")x"; int y;')
    assert code_only('auto s = R"x(while(1) ")x"; int y;').endswith("int y;")
    assert code_only("char c = 'a'; int k;") == "char c = ' '; int k;"


CODE_TOKENS = ["{", "}", "(", ")", "while", "for", "do", "(1)", ";", "__device__", "__global__", '"', "'", "/*", "//"]
CODE_TOKENS += ["\n", " ", 'extern "C"', "x", 'R"(', ')"', "1'0", "\\\n", "clock64()", "int v;", "break;"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_findings_on_arbitrary_text_are_well_formed(text: str):
    findings = run_static_checks(text, VECTOR_ADD)
    lines = normalize(text).count("\n") + 1
    for f in findings:
        assert f.message and "\n" not in f.message
        assert f.line is None or 1 <= f.line <= lines
    blanked = code_only(text)
    assert len(blanked) == len(normalize(text)) and blanked.count("\n") == normalize(text).count("\n")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(CODE_TOKENS), max_size=60))
def test_findings_do_not_depend_on_line_ends(tokens: list[str]):
    text = " ".join(tokens)
    lf = [(f.rule, f.line) for f in run_static_checks(text, VECTOR_ADD)]
    assert [(f.rule, f.line) for f in run_static_checks(text.replace("\n", "\r\n"), VECTOR_ADD)] == lf
    # a comment between tokens changes nothing outside literals: check where the text has none
    if not any(q in text for q in ('"', "'", "/*", "//", 'R"')):
        spaced = " /**/ ".join(tokens)
        assert {f.rule for f in run_static_checks(spaced, VECTOR_ADD)} == {r for r, _ in lf}
