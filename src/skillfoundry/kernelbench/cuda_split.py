"""Split a ``load_inline`` CUDA source into its device part (compiled by NVRTC) and its torch host part
(checked as text, never compiled or run here), and check the host part for fallbacks and every source for
ways out of the process (system calls, files, the Python runtime) that a GPU run would execute."""

from __future__ import annotations

import re

from skillfoundry.kernelbench.answer_ast import Finding
from skillfoundry.kernels.source import code_only, matching, strip_comments

HOST_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*[<\"](?:torch|ATen|c10|pybind11|THC)/[^\n]*$", re.MULTILINE)
HOST_MARKER = re.compile(r"\b(?:torch|at|c10|pybind11|py)::|\bPYBIND11_MODULE\b|\bTORCH_CHECK\b|\bTensor\b")
DEVICE_MARKER = re.compile(r"\b__global__\b|\b__device__\b")
#: torch/ATen names a host wrapper may use: types, allocation, options, streams
HOST_ALLOWED = {
    "Tensor", "empty", "empty_like", "zeros", "zeros_like", "ones", "ones_like", "full", "empty_strided",
    "TensorOptions", "ScalarType", "kFloat", "kFloat32", "kHalf", "kFloat16", "kBFloat16", "kInt", "kInt32",
    "kLong", "kInt64", "kCUDA", "Device", "DeviceType", "IntArrayRef", "Half", "BFloat16", "cuda", "dtype",
    "device", "Scalar", "getCurrentCUDAStream", "CUDAGuard", "OptionalCUDAGuard", "RestrictPtrTraits",
    "PackedTensorAccessor32", "PackedTensorAccessor64", "DefaultPtrTraits", "MemoryFormat", "module_", "arg",
}  # fmt: skip
HOST_NAME = re.compile(r"\b(?:torch|at|c10)::(?:cuda::)?(\w+)")
HOST_METHOD = re.compile(
    r"\.\s*(matmul|mm|bmm|addmm|baddbmm|conv\w*|relu_?|gelu|softmax|log_softmax|sum|mean|max|min|amax|exp|log|"
    r"tanh|sigmoid|add_?|mul_?|sub_?|div_?|pow|sqrt|rsqrt|clamp\w*|norm|copy_|leaky_relu|linear|cumsum|sort|topk|"
    r"argmax|argmin|index_select|gather|scatter\w*|where|masked_fill_?|abs|neg|reciprocal)\s*\("
)
LIBRARY = re.compile(
    r"\b(?:cublas\w*|cudnn\w*|cutlass|thrust|cub)\s*(?:::|\()|#\s*include\s*[<\"](?:cublas|cudnn|thrust|cutlass)"
)


#: Calls and types that reach outside the process or into Python; none belongs in a kernel or its wrapper.
ESCAPE_NAME = re.compile(
    r"\b(?:syscall|system|popen|v?fork|exec\w*|posix_spawn\w*|dlopen|dlsym|fopen|freopen|fwrite|fputs|open|"
    r"openat|creat|write|pwrite\w*|writev|socket|connect|mmap|mprotect|ptrace|unlink\w*|rename\w*|[gs]etenv|"
    r"putenv|chdir|kill|_exit|ofstream|ifstream|fstream|filebuf|FILE|fdopen|dup[23]?|sendfile|filesystem|"
    r"Py[A-Z_]\w*|eval|import|builtins|globals|getpid|(?:py|pybind11)::\w+|PYBIND11_\w+)\b"
)
#: x86 system-call instructions, in inline assembly or anywhere else (strings included)
ESCAPE_INSTRUCTION = re.compile(r"\bsyscall\b|\bsysenter\b|\bint\s*\$?0x80\b")
INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]", re.MULTILINE)
#: headers a wrapper (cpp_sources, the host part) may include; the device part is NVRTC's to resolve
HOST_HEADERS = re.compile(
    r"^(?:torch|ATen|c10)/[\w/.]+|cuda_runtime(?:_api)?\.h|cuda\.h|cuda_fp16\.h|cuda_bf16\.h|vector|cstdint|"
    r"stdint\.h|cmath|math\.h|algorithm|limits|tuple|utility|type_traits|cfloat|climits|cstddef|array$"
)
EXTERN = re.compile(r"\bextern\b(?!\s+__shared__)(?!\s*\"C\"\s*(?:__global__|__device__))")


def escape_findings(cuda: str, host: str, cpp_sources: list[str]) -> list[Finding]:
    """Ways out of the process in an extension's sources, which a GPU run would build and execute: system
    calls and file or Python access by name, system-call instructions, token pasting (which builds names
    the checks cannot read), extern declarations of host functions, inline assembly in the wrapper, and
    wrapper headers beyond torch, CUDA and a few standard ones. ``cuda`` is the whole CUDA source, ``host``
    its host part (``split_device_host``)."""
    findings: list[Finding] = []
    everything = "\n".join([cuda, *cpp_sources])
    code = code_only(everything)
    for name in sorted({m.group() for m in ESCAPE_NAME.finditer(code)}):
        findings.append(Finding(rule="escape", message=f"uses {name} (reaches outside the process)"))
    if ESCAPE_INSTRUCTION.search(strip_comments(everything)):
        findings.append(Finding(rule="escape", message="contains a system-call instruction"))
    if "##" in code:
        findings.append(Finding(rule="escape", message="pastes tokens with ## (names the checks cannot read)"))
    if m := EXTERN.search(code):
        findings.append(Finding(rule="escape", message=f"declares an extern host symbol: {m.group()}..."))
    if re.search(r"\b(?:asm|__asm__|__asm)\b", code_only("\n".join([host, *cpp_sources]))):
        findings.append(Finding(rule="escape", message="inline assembly in the host wrapper"))
    for header in sorted({m.group(1) for m in INCLUDE.finditer("\n".join(cpp_sources))}):
        if not HOST_HEADERS.fullmatch(header.strip()):
            findings.append(Finding(rule="escape", message=f"the wrapper includes <{header}>"))
    return findings


def split_device_host(source: str) -> tuple[str, str]:
    """``(device, host)``: host includes and top-level blocks/statements that use torch types go to host;
    kernels, device functions and the rest stay in the device part, at their original line numbers."""
    device = HOST_INCLUDE.sub(lambda m: " " * len(m.group()), source)
    host_parts = [m.group() for m in HOST_INCLUDE.finditer(source)]
    code = code_only(device)
    keep = list(device)
    start, i, depth_paren = 0, 0, 0
    while i < len(code):
        ch = code[i]
        if ch == "(":
            depth_paren += 1
        elif ch == ")":
            depth_paren -= 1
        elif ch == "#" and (i == 0 or code[i - 1] == "\n"):
            end = code.find("\n", i)
            i = len(code) if end < 0 else end
            start = i + 1
            continue
        elif ch in "{;" and depth_paren == 0:
            end = matching(code, i) if ch == "{" else i
            header = code[start:i]
            if ch == "{" and re.search(r"\bnamespace\b", header) and not HOST_MARKER.search(header):
                start = i + 1  # descend into a namespace: its members are judged one by one
            else:
                chunk = code[start : end + 1]
                if end + 1 < len(code) and code[end + 1 : end + 2] == ";":
                    end += 1
                if HOST_MARKER.search(chunk) and not DEVICE_MARKER.search(header):
                    host_parts.append(device[start : end + 1])
                    for k in range(start, end + 1):
                        if keep[k] != "\n":
                            keep[k] = " "
                start = end + 1
                i = end
        elif ch == "}" and depth_paren == 0:
            start = i + 1  # the end of a namespace we descended into
        i += 1
    return "".join(keep), "\n".join(host_parts)


def host_findings(host: str, cpp_sources: list[str]) -> list[Finding]:
    """Fallbacks in the torch host code: ATen compute calls, tensor compute methods, library calls, and
    no kernel launch at all."""
    findings: list[Finding] = []
    text = code_only("\n".join([host, *cpp_sources]))
    for m in HOST_NAME.finditer(text):
        if m.group(1) not in HOST_ALLOWED:
            findings.append(Finding(rule="host_torch_op", message=f"host code calls {m.group()} (ATen does the work)"))
    for m in HOST_METHOD.finditer(text):
        findings.append(Finding(rule="host_torch_op", message=f"host code calls tensor method .{m.group(1)}()"))
    if LIBRARY.search(text):
        findings.append(Finding(rule="library_call", message="host code calls a library (cuBLAS/cuDNN/thrust/...)"))
    if "<<<" not in text and "cudaLaunchKernel" not in text:
        findings.append(Finding(rule="no_kernel_launch", message="no kernel launch (<<<...>>>) in the host code"))
    return findings
