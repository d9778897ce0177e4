"""Checks on a candidate before anything runs: on its source and on the PTX NVRTC made of it.

Each problem is a named Finding; any finding rejects the candidate.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from skillfoundry.kernels import ptx as ptx_info
from skillfoundry.kernels.problems.model import HOST_LIBRARIES, Launch, Problem
from skillfoundry.kernels.source import KernelDecl, Param, code_only, find_kernels, line_of, matching, strip_comments

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
]


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
    r"|Graph\w*|Launch\w*|HostAlloc|HostRegister\w*|Ctx\w*|ThreadSynchronize|Profiler\w*|MemPrefetch\w*)\b"
    r"|\bcu(?:Stream|Ctx|Device|Mem|Launch|Event|Graph|Module|Init|Func|Library)\w*(?=\s*\()"
    r"|<<<"
)
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
    for m in re.finditer(r"\btypedef\s+([\w:\s]+?)\s+(\w+)\s*;", text):
        aliases[m.group(2)] = " ".join(m.group(1).split())
    for m in re.finditer(r"\busing\s+(\w+)\s*=\s*([\w:\s]+?)\s*;", text):
        aliases[m.group(1)] = " ".join(m.group(2).split())
    for m in re.finditer(r"^\s*#\s*define\s+(\w+)\s+([A-Za-z_][\w:]*(?:\s+[A-Za-z_]\w*)?)\s*$", text, re.MULTILINE):
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
    return None


def _check_signature(problem: Problem, launch: Launch, decl: KernelDecl, aliases: dict[str, str]) -> list[Finding]:
    expected = f"expected `{problem.signatures[problem.launches.index(launch)]}`"
    if len(decl.params) != len(launch.args):
        return [
            Finding(
                rule="signature_mismatch",
                message=f"{decl.name} takes {len(decl.params)} parameters, {expected}",
                line=decl.line,
            )
        ]
    findings = []
    for param, name in zip(decl.params, launch.args):
        issue = _param_problem(param, *_expected_param(problem, launch, name), aliases)
        if issue:
            findings.append(
                Finding(rule="signature_mismatch", message=f"{decl.name}: {issue}; {expected}", line=decl.line)
            )
    return findings


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
                f"({', '.join(want)}) for "
                f"`{problem.signatures[problem.launches.index(launch)]}`",
            )
        ]
    return []


def _entry_checks(problem: Problem, source: str, ptx: str | None) -> list[Finding]:
    findings: list[Finding] = []
    kernels: dict[str, KernelDecl] = {decl.name: decl for decl in find_kernels(source)}
    aliases = _type_aliases(strip_comments(source))
    required = problem.entry_points
    ptx_entries = {e.name: e for e in ptx_info.entries(ptx)} if ptx is not None else {}
    for launch in problem.launches:
        decl = kernels.get(launch.entry)
        if decl is None:
            findings.append(
                Finding(
                    rule="missing_entry",
                    message=f"no `__global__` kernel named {launch.entry!r}; expected "
                    f"`{problem.signatures[problem.launches.index(launch)]}`",
                )
            )
            continue
        if not decl.extern_c or decl.templated:
            findings.append(
                Finding(
                    rule="not_extern_c",
                    message=f'kernel {launch.entry!r} must be a non-template `extern "C"` function '
                    "(its name would be mangled)",
                    line=decl.line,
                )
            )
            continue
        findings += _check_signature(problem, launch, decl, aliases)
        if ptx is not None:
            if launch.entry not in ptx_entries:
                findings.append(
                    Finding(
                        rule="missing_entry", message=f"the compiled PTX has no entry {launch.entry!r}", line=decl.line
                    )
                )
            else:
                findings += _check_ptx_signature(problem, launch, ptx_entries[launch.entry])
    extras = sorted((set(kernels) | set(ptx_entries)) - set(required))
    for name in extras:
        decl = kernels.get(name)
        findings.append(
            Finding(
                rule="extra_entry",
                message=f"kernel {name!r} is not a required entry point (required: {', '.join(required)}); "
                "make helpers `__device__` functions",
                line=decl.line if decl else None,
            )
        )
    return findings


def _pattern_findings(text: str, pattern: re.Pattern[str], rule: Rule, what: str) -> list[Finding]:
    seen: set[tuple[str, int]] = set()
    findings = []
    for m in pattern.finditer(text):
        key = (m.group().strip(), line_of(text, m.start()))
        if key not in seen:
            seen.add(key)
            findings.append(Finding(rule=rule, message=f"{what}: `{key[0]}`", line=key[1]))
    return findings


def _library_checks(problem: Problem, stripped: str, code: str) -> list[Finding]:
    includes = "\n".join(
        line if line.lstrip().startswith("#") else "" for line in stripped.split("\n")
    )  # keep line numbers; #include "torch/..." survives here though strings are blanked in `code`
    findings = []
    for lib in HOST_LIBRARIES:
        if lib in problem.allowed_libraries:
            continue
        pattern = _LIBRARY_PATTERNS[lib]
        hits = _pattern_findings(code, pattern, "host_fallback", f"uses {lib}, which this problem does not allow")
        lines = {f.line for f in hits}
        hits += [
            f for f in _pattern_findings(includes, pattern, "host_fallback", f"includes {lib}") if f.line not in lines
        ]
        findings += hits
    return findings


def _loop_body(code: str, after: int) -> str:
    """The statement following a loop header that ends at ``after``."""
    rest = code[after:]
    stripped = rest.lstrip()
    start = after + len(rest) - len(stripped)
    if stripped.startswith("{"):
        return code[start : matching(code, start) + 1]
    end = code.find(";", start)
    return code[start : end + 1 if end >= 0 else len(code)]


def _do_body(code: str, while_at: int) -> str | None:
    """If the ``while`` at ``while_at`` closes a do-while, the do's body."""
    before = code[:while_at].rstrip()
    if not before.endswith("}"):
        return None
    depth = 0
    for i in range(len(before) - 1, -1, -1):
        if before[i] == "}":
            depth += 1
        elif before[i] == "{":
            depth -= 1
            if depth == 0:
                if re.search(r"\bdo\s*$", before[:i]):
                    return before[i:]
                return None
    return None


def _infinite_loops(code: str) -> list[Finding]:
    findings = []
    for m in re.finditer(r"\b(while|for)\s*\(", code):
        open_at = m.end() - 1
        close_at = matching(code, open_at)
        header = code[open_at + 1 : close_at]
        if m.group(1) == "while":
            if not re.fullmatch(r"\s*(?:1|1u|true|!0|\(\s*1\s*\)|\(\s*true\s*\))\s*", header):
                continue
            body = _do_body(code, m.start())
            if body is None:
                body = _loop_body(code, close_at + 1)
        else:
            parts = header.split(";")
            if len(parts) != 3 or parts[1].strip() not in ("", "1", "true"):
                continue
            body = _loop_body(code, close_at + 1)
        if not _EXITS.search(body):
            findings.append(
                Finding(
                    rule="infinite_loop",
                    message=f"`{m.group(1)}({' '.join(header.split())})` loop has no break, return or goto",
                    line=line_of(code, m.start()),
                )
            )
    return findings


def _device_globals(code: str) -> tuple[list[Finding], set[str]]:
    """Findings for writable ``__device__``/``__managed__`` variables, and the names of every
    global variable the source declares (const ones are allowed)."""
    findings, declared = [], set()
    for m in _DEVICE_VAR.finditer(code):
        stop = re.compile(r"[(;={\[]").search(code, m.end())
        if stop is None or stop.group() == "(":
            continue  # a function
        start = max(code.rfind(";", 0, m.start()), code.rfind("}", 0, m.start()), code.rfind("{", 0, m.start())) + 1
        decl = code[start : stop.start()]
        names = re.findall(r"[A-Za-z_]\w*", decl)
        name = names[-1] if names else "?"
        declared.add(name)
        if re.search(r"\b(?:const|constexpr)\b", decl) and m.group(1) == "__device__":
            continue
        findings.append(
            Finding(
                rule="device_global",
                message=f"global {m.group(1)} variable {name!r} can keep state between launches (use const, "
                "__constant__ or shared memory)",
                line=line_of(code, m.start()),
            )
        )
    return findings, declared


def _declared_in_source(ptx_name: str, declared: set[str]) -> bool:
    """True if a PTX symbol is one of the source's global variables (plain or C++-mangled name)."""
    return any(ptx_name == name or f"{len(name)}{name}" in ptx_name for name in declared)


def run_static_checks(source: str, problem: Problem, ptx: str | None = None) -> list[Finding]:
    """Every finding against ``source`` (and its PTX when given) for ``problem``; empty means clean."""
    stripped = strip_comments(source)
    code = code_only(source)
    findings = _entry_checks(problem, source, ptx)
    findings += _library_checks(problem, stripped, code)
    findings += _pattern_findings(code, _MANAGEMENT, "stream_or_device_management", "stream/device/memory management")
    findings += _pattern_findings(stripped, _TIMER_SOURCE, "timer", "reads a GPU timer")
    findings += _infinite_loops(code)
    global_findings, declared = _device_globals(code)
    findings += global_findings
    if ptx is not None:
        timers = ptx_info.timer_reads(ptx)
        if timers and not any(f.rule == "timer" for f in findings):
            findings.append(Finding(rule="timer", message=f"compiled code reads timer registers {timers}"))
        for name in ptx_info.written_globals(ptx):
            if not _declared_in_source(name, declared):  # hidden from the source scan (a macro, say)
                findings.append(
                    Finding(rule="device_global", message=f"compiled code has a writable global variable {name!r}")
                )
    return findings
