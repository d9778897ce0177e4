"""Checks on a candidate before anything runs: on the PTX NVRTC made of it (what runs, with macros,
splices and comments resolved) and, as a fast early reject and for messages, on its source.

Each problem is a named Finding; any finding rejects the candidate. Decisions rest on the PTX:
entry points (exactly the problem's), parameter ABI, special registers that tell time, writable
global state (module-scope and function-scope statics), calls outside the module (device-side
launches, malloc/free, the device runtime), traps. The exact prototype, const-ness of inputs
included, is checked by compiling the candidate after the problem's own declarations
(``signature_program``): a different parameter list does not compile.
"""

from __future__ import annotations

import bisect
import re
from typing import Literal

from pydantic import BaseModel

from skillfoundry.kernels import ptx as ptx_info
from skillfoundry.kernels.preflight import directive_problems
from skillfoundry.kernels.problems.model import HOST_LIBRARIES, Launch, Problem
from skillfoundry.kernels.source import KernelDecl, Param, Scan, find_kernels

Rule = Literal[
    "missing_entry",
    "not_extern_c",
    "extra_entry",
    "signature_mismatch",
    "host_fallback",
    "stream_or_device_management",
    "timer",
    "infinite_loop",
    "device_global",
    "forbidden_include",
    "device_launch",
    "device_allocation",
    "trap",
    "external_call",
]
#: Rules the source scan may reject on before compiling: no honest kernel, however written, trips them.
EARLY_RULES: frozenset[str] = frozenset(
    {"forbidden_include", "host_fallback", "stream_or_device_management", "device_launch", "timer", "infinite_loop"}
)


class Finding(BaseModel):
    """One reason to reject a candidate: the rule broken, what was seen, and where (1-based line)."""

    rule: Rule
    message: str
    line: int | None = None


_TYPE_ALIASES: dict[str, set[str]] = {
    "float32": {"float"},
    "float16": {"__half", "half"},
    "bfloat16": {"__nv_bfloat16", "nv_bfloat16"},
    "int32": {"int", "int32_t", "std::int32_t", "signed int", "signed"},
}
_OTHER_TYPES = {
    "double",
    "long",
    "long int",
    "long long",
    "long long int",
    "unsigned",
    "unsigned int",
    "unsigned long",
    "unsigned long long",
    "short",
    "unsigned short",
    "char",
    "unsigned char",
    "signed char",
    "bool",
    "void",
    "int8_t",
    "uint8_t",
    "int16_t",
    "uint16_t",
    "uint32_t",
    "int64_t",
    "uint64_t",
    "size_t",
    "ptrdiff_t",
    "float2",
    "float4",
    "int2",
    "int4",
    "double2",
    "__half2",
    "half2",
    "__nv_bfloat162",
    "uint",
    "uint4",
}
_KNOWN_TYPES = set().union(*_TYPE_ALIASES.values(), _OTHER_TYPES)
_PTX_CLASSES = {"pointer": {"u64", "b64", "s64"}, "int32": {"u32", "s32", "b32"}, "float32": {"f32", "b32"}}

_LIBRARY_PATTERNS: dict[str, re.Pattern[str]] = {
    "torch": re.compile(r"\btorch\b|\bat::|\bATen\b|\bc10::|\bTORCH_\w+|\bpybind11\b"),
    "cublas": re.compile(r"\bcublas\w*", re.IGNORECASE),
    "cudnn": re.compile(r"\bcudnn\w*", re.IGNORECASE),
    "cufft": re.compile(r"\bcufft\w*", re.IGNORECASE),
    "cusparse": re.compile(r"\bcusparse\w*", re.IGNORECASE),
    "cusolver": re.compile(r"\bcusolver\w*", re.IGNORECASE),
}
_MANAGEMENT = re.compile(
    r"\bcuda(?:Stream\w*|SetDevice\w*|GetDevice\w*|Device\w*|Malloc\w*|Free\w*|Memcpy\w*|Memset\w*|Event\w*"
    r"|Graph\w*|HostAlloc|HostRegister\w*|Ctx\w*|ThreadSynchronize|Profiler\w*|MemPrefetch\w*)\b"
    r"|\bcu(?:Stream|Ctx|Device|Mem|Launch|Event|Graph|Module|Init|Func|Library)\w*(?=\s*\()"
)
_DEVICE_LAUNCH_SOURCE = re.compile(r"<<<|\bcuda(?:Launch\w*|GetParameterBuffer\w*)\b")
_LAUNCH_FUNCS = re.compile(r"^cuda(?:LaunchDevice|GetParameterBuffer|GraphLaunch|StreamTailLaunch|StreamFireAndForget)")
_ALLOC_FUNCS = {"malloc", "free", "__nv_aligned_device_malloc", "cudaMalloc", "cudaFree"}
_ALLOWED_FUNCS = {"vprintf"}
_TIMER_SOURCE = re.compile(r"%{1,2}(?:clock64|clock|globaltimer\w*)\b|\b(?:clock64|clock|__globaltimer)\s*\(")
_EXITS = re.compile(r"\b(?:break|return|goto|__trap|exit)\b")
_DEVICE_VAR = re.compile(r"\b(__device__|__managed__)\b")


def _expected_param(problem: Problem, launch: Launch, name: str) -> tuple[str, int, bool]:
    """(dtype, pointer depth, written) the contract requires for argument ``name``."""
    scalar = problem.scalar(name)
    if scalar is not None:
        return scalar.dtype, 0, False
    return problem.tensor(name).dtype, 1, name in problem.written_by(launch)


def _type_aliases(text: str) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for m in re.finditer(r"\btypedef\s+([\w:\s]{1,200}?)\s+(\w+)\s*;", text):
        aliases[m.group(2)] = " ".join(m.group(1).split())
    for m in re.finditer(r"\busing\s+(\w+)\s*=\s*([\w:\s]{1,200}?)\s*;", text):
        aliases[m.group(1)] = " ".join(m.group(2).split())
    for m in re.finditer(
        r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+([A-Za-z_][\w:]*(?:[ \t]+[A-Za-z_]\w*)?)[ \t]*$", text, re.M
    ):
        aliases[m.group(1)] = m.group(2)
    return aliases


def _resolve(base: str, aliases: dict[str, str]) -> str:
    for _ in range(8):
        if base not in aliases:
            break
        base = aliases[base]
    return base.removeprefix("::")


def _param_problem(param: Param, dtype: str, pointers: int, written: bool, aliases: dict[str, str]) -> str | None:
    base = _resolve(param.base, aliases)
    if param.pointers != pointers:
        want = "a pointer" if pointers else "a value (not a pointer)"
        return f"`{param.text}` should be {want}"
    if base in _KNOWN_TYPES and base not in _TYPE_ALIASES[dtype]:
        return f"`{param.text}` has element type {base!r}, expected {sorted(_TYPE_ALIASES[dtype])[0]!r} ({dtype})"
    if written and param.const:
        return f"`{param.text}` is const but the kernel must write it"
    if pointers and not written and not param.const and base in _KNOWN_TYPES:
        return f"`{param.text}` is an input: it must be a pointer to const"
    return None


def _signature(problem: Problem, launch: Launch) -> str:
    return problem.signatures[problem.launches.index(launch)]


def _check_signature(problem: Problem, launch: Launch, decl: KernelDecl, aliases: dict[str, str]) -> list[Finding]:
    expected = f"expected `{_signature(problem, launch)}`"
    params = decl.params
    if len(params) != len(launch.args):
        return [
            Finding(
                rule="signature_mismatch",
                message=f"{decl.name} takes {len(params)} parameters, {expected}",
                line=decl.line,
            )
        ]
    findings = []
    for param, name in zip(params, launch.args):
        issue = _param_problem(param, *_expected_param(problem, launch, name), aliases)
        if issue:
            findings.append(
                Finding(rule="signature_mismatch", message=f"{decl.name}: {issue}; {expected}", line=decl.line)
            )
    return findings


def _source_entry_findings(problem: Problem, scan: Scan) -> list[Finding]:
    """Entry points and signatures as the source reads (for messages when there is no PTX)."""
    findings: list[Finding] = []
    kernels: dict[str, KernelDecl] = {decl.name: decl for decl in find_kernels(scan)}
    aliases = _type_aliases(scan.stripped)
    for launch in problem.launches:
        decl = kernels.get(launch.entry)
        if decl is None:
            findings.append(
                Finding(
                    rule="missing_entry",
                    message=f"no `__global__` kernel named {launch.entry!r}; expected `{_signature(problem, launch)}`",
                )
            )
        elif not decl.extern_c or decl.templated:
            findings.append(
                Finding(
                    rule="not_extern_c",
                    message=f'kernel {launch.entry!r} must be a non-template `extern "C"` function '
                    "(its name would be mangled)",
                    line=decl.line,
                )
            )
        else:
            findings += _check_signature(problem, launch, decl, aliases)
    for name in sorted(set(kernels) - set(problem.entry_points)):
        findings.append(_extra_entry(problem, name, kernels[name].line))
    return findings


def _extra_entry(problem: Problem, name: str, line: int | None = None) -> Finding:
    return Finding(
        rule="extra_entry",
        message=f"kernel {name!r} is not a required entry point (required: {', '.join(problem.entry_points)}); "
        "make helpers `__device__` functions",
        line=line,
    )


def _check_ptx_signature(problem: Problem, launch: Launch, entry: ptx_info.PtxEntry) -> list[Finding]:
    want = []
    for name in launch.args:
        dtype, pointers, _ = _expected_param(problem, launch, name)
        want.append("pointer" if pointers else dtype)
    got = entry.param_types
    if len(got) != len(want) or any(g not in _PTX_CLASSES[w] for g, w in zip(got, want)):
        return [
            Finding(
                rule="signature_mismatch",
                message=f"compiled entry {entry.name} has parameters ({', '.join(got)}), expected ABI "
                f"({', '.join(want)}) for `{_signature(problem, launch)}`",
            )
        ]
    return []


def _mangled(name: str, symbol: str) -> bool:
    return symbol != name and f"{len(name)}{name}" in symbol


def ptx_findings(problem: Problem, ptx: str) -> list[Finding]:
    """Every finding on the compiled module: the decisions."""
    findings: list[Finding] = []
    compiled = {e.name: e for e in ptx_info.entries(ptx)}
    mangled: set[str] = set()
    for launch in problem.launches:
        if launch.entry in compiled:
            findings += _check_ptx_signature(problem, launch, compiled[launch.entry])
            continue
        hidden = [n for n in compiled if _mangled(launch.entry, n)]
        mangled.update(hidden)
        if hidden:
            findings.append(
                Finding(
                    rule="not_extern_c",
                    message=f"kernel {launch.entry!r} compiled as {hidden[0]!r}: it must be a non-template "
                    f'`extern "C"` function; expected `{_signature(problem, launch)}`',
                )
            )
        else:
            findings.append(
                Finding(
                    rule="missing_entry",
                    message=f"the compiled code has no entry {launch.entry!r}; expected `{_signature(problem, launch)}`",
                )
            )
    for name in sorted(set(compiled) - set(problem.entry_points) - mangled):
        findings.append(_extra_entry(problem, name))
    if timers := ptx_info.timer_reads(ptx):
        findings.append(
            Finding(rule="timer", message=f"compiled code reads timer registers {['%' + t for t in timers]}")
        )
    for name in ptx_info.written_globals(ptx):
        findings.append(
            Finding(
                rule="device_global",
                message=f"compiled code writes global variable {name!r}, state that survives between launches "
                "(use const, __constant__, shared memory or registers)",
            )
        )
    for func in ptx_info.extern_functions(ptx):
        if func in _ALLOWED_FUNCS:
            continue
        if _LAUNCH_FUNCS.match(func):
            rule: Rule = "device_launch"
            what = "launches work from the device"
        elif func in _ALLOC_FUNCS:
            rule, what = "device_allocation", "allocates memory on the device"
        elif func == "__assertfail":
            continue  # reported with the traps
        elif func.startswith("cuda"):
            rule, what = "stream_or_device_management", "calls the device runtime"
        else:
            rule, what = "external_call", "calls a function outside the program"
        findings.append(Finding(rule=rule, message=f"compiled code {what}: `{func}`"))
    if traps := ptx_info.traps(ptx):
        findings.append(
            Finding(
                rule="trap", message=f"compiled code aborts the kernel on purpose ({', '.join(traps)}); return instead"
            )
        )
    return findings


def _pattern_findings(scan: Scan, text: str, pattern: re.Pattern[str], rule: Rule, what: str) -> list[Finding]:
    seen: set[tuple[str, int]] = set()
    findings = []
    for m in pattern.finditer(text):
        key = (m.group().strip()[:80], scan.lines.line(m.start()))
        if key not in seen and len(findings) < 50:
            seen.add(key)
            findings.append(Finding(rule=rule, message=f"{what}: `{key[0]}`", line=key[1]))
    return findings


def _library_checks(problem: Problem, scan: Scan) -> list[Finding]:
    includes = "\n".join(
        line if line.lstrip().startswith("#") else "" for line in scan.stripped.split("\n")
    )  # keep line numbers; #include "torch/..." survives here though strings are blanked in `code`
    findings = []
    for lib in HOST_LIBRARIES:
        if lib in problem.allowed_libraries:
            continue
        pattern = _LIBRARY_PATTERNS[lib]
        hits = _pattern_findings(
            scan, scan.code, pattern, "host_fallback", f"uses {lib}, which this problem does not allow"
        )
        lines = {f.line for f in hits}
        hits += [
            f
            for f in _pattern_findings(scan, includes, pattern, "host_fallback", f"includes {lib}")
            if f.line not in lines
        ]
        findings += hits
    return findings


def _loop_body(scan: Scan, after: int) -> str:
    """The statement following a loop header that ends at ``after``."""
    code = scan.code
    m = re.compile(r"\s*").match(code, after)
    start = m.end() if m else after
    if code.startswith("{", start):
        return code[start : scan.brackets.matching(start) + 1]
    end = code.find(";", start)
    return code[start : end + 1 if end >= 0 else len(code)]


def _do_body(scan: Scan, while_at: int) -> str | None:
    """If the ``while`` at ``while_at`` closes a do-while, the do's body."""
    code = scan.code
    close = while_at - 1
    while close >= 0 and code[close].isspace():
        close -= 1
    if close < 0 or code[close] != "}" or close not in scan.brackets.open:
        return None
    open_at = scan.brackets.open[close]
    if re.search(r"\bdo\s*$", code[max(0, open_at - 40) : open_at]):
        return code[open_at : close + 1]
    return None


_FOREVER = re.compile(r"\s*(?:1|1u|true|!0|\(\s*1\s*\)|\(\s*true\s*\))\s*")


def _infinite_loops(scan: Scan) -> list[Finding]:
    findings = []
    code = scan.code
    for m in re.finditer(r"\b(while|for)\s*\(", code):
        open_at = m.end() - 1
        close_at = scan.brackets.matching(open_at)
        header = code[open_at + 1 : close_at]
        if m.group(1) == "while":
            if not _FOREVER.fullmatch(header[:64]) or len(header) > 64:
                continue
            body = _do_body(scan, m.start())
            if body is None:
                body = _loop_body(scan, close_at + 1)
        else:
            parts = header[:256].split(";")
            if len(header) > 256 or len(parts) != 3 or parts[1].strip() not in ("", "1", "true"):
                continue
            body = _loop_body(scan, close_at + 1)
        if not _EXITS.search(body):
            findings.append(
                Finding(
                    rule="infinite_loop",
                    message=f"`{m.group(1)}({' '.join(header.split())})` loop has no break, return or goto",
                    line=scan.lines.line(m.start()),
                )
            )
    return findings


_VAR_STOP = re.compile(r"[(;={\[]")


def _device_globals(scan: Scan) -> list[Finding]:
    """Writable ``__device__``/``__managed__`` variables as the source reads (messages only)."""
    code = scan.code
    stops = [m.start() for m in _VAR_STOP.finditer(code)]
    findings = []
    for m in _DEVICE_VAR.finditer(code):
        i = bisect.bisect_left(stops, m.end())
        if i == len(stops) or code[stops[i]] == "(":
            continue  # a function
        decl = code[max(scan.decl_start_before(m.start()), m.start() - 500) : stops[i]]
        names = re.findall(r"[A-Za-z_]\w*", decl)
        name = names[-1] if names else "?"
        if re.search(r"\b(?:const|constexpr|__constant__|__shared__)\b", decl) and m.group(1) == "__device__":
            continue
        findings.append(
            Finding(
                rule="device_global",
                message=f"global {m.group(1)} variable {name!r} can keep state between launches (use const, "
                "__constant__ or shared memory)",
                line=scan.lines.line(m.start()),
            )
        )
        if len(findings) >= 50:
            break
    return findings


def source_findings(problem: Problem, scan: Scan) -> list[Finding]:
    """What the source scan sees; the EARLY_RULES among them reject before compiling."""
    findings = [
        Finding(rule="forbidden_include", message=msg, line=line)
        for line, msg in directive_problems(scan.raw, stripped=scan.stripped)
    ]
    findings += _library_checks(problem, scan)
    findings += _pattern_findings(
        scan, scan.code, _DEVICE_LAUNCH_SOURCE, "device_launch", "launches work from the device"
    )
    findings += _pattern_findings(
        scan, scan.code, _MANAGEMENT, "stream_or_device_management", "stream/device/memory management"
    )
    findings += _pattern_findings(scan, scan.stripped, _TIMER_SOURCE, "timer", "reads a GPU timer")
    findings += _infinite_loops(scan)
    return findings


def run_static_checks(source: str, problem: Problem, ptx: str | None = None) -> list[Finding]:
    """Every finding against ``source`` for ``problem``; empty means clean.

    With the ``ptx`` NVRTC made of it, entry points, signatures, globals, timers, calls and traps
    are decided on the PTX; without it (it did not compile) the source scan stands in, for messages.
    """
    scan = Scan(source)
    findings = source_findings(problem, scan)
    if ptx is None:
        return findings + _source_entry_findings(problem, scan) + _device_globals(scan)
    flagged = {f.rule for f in findings}
    return findings + [f for f in ptx_findings(problem, ptx) if not (f.rule == "timer" and "timer" in flagged)]


def early_rejects(findings: list[Finding]) -> list[Finding]:
    """The findings that reject a candidate before it is compiled."""
    return [f for f in findings if f.rule in EARLY_RULES]


def expected_declarations(problem: Problem) -> str:
    """The problem's exact prototypes, to be compiled before the candidate (``signature_program``)."""
    from skillfoundry.kernels.compile import SIGNATURE_NAME

    dtypes = {t.dtype for t in problem.tensors}
    lines = [f'#line 1 "{SIGNATURE_NAME}"']
    if "float16" in dtypes:
        lines.append("#include <cuda_fp16.h>")
    if "bfloat16" in dtypes:
        lines.append("#include <cuda_bf16.h>")
    lines += problem.signatures
    return "\n".join(lines) + "\n"


def signature_program(problem: Problem, source: str) -> str:
    """The candidate compiled after the problem's own declarations of its entry points: a parameter
    list that differs in any type or const-ness (however spelled: macros, typedefs) does not compile."""
    from skillfoundry.kernels.compile import PROGRAM_NAME

    return f'{expected_declarations(problem)}#line 1 "{PROGRAM_NAME}"\n{source}'
