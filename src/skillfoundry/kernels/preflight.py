"""What a source may ask of the compiler before it is compiled: bytes NVRTC reads the same way the
checks do, preprocessor directives that reach only the CUDA headers, and compiler logs that echo
nothing from outside the program.

NVRTC reads ``#include "..."`` relative to its working directory and echoes the offending line of
any file it reads into the log, so an include of a host file would leak it. The allow-list is on
the include's name, after line splices and comments are resolved; anything the preprocessor could
compute (a macro-built name, ``__has_include``, ``#include_next``, an unknown directive or pragma)
is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from skillfoundry.kernels.source import LineIndex, strip_comments

#: Headers a kernel may include by exact name.
ALLOWED_HEADERS = frozenset(
    {
        "cuda_fp16.h",
        "cuda_fp16.hpp",
        "cuda_bf16.h",
        "cuda_bf16.hpp",
        "cuda_fp8.h",
        "cuda_fp6.h",
        "cuda_fp4.h",
        "cuda_runtime.h",
        "cuda_runtime_api.h",
        "device_launch_parameters.h",
        "device_functions.h",
        "vector_types.h",
        "vector_functions.h",
        "math_constants.h",
        "mma.h",
        "cooperative_groups.h",
        "cuda_pipeline.h",
        "cuda_pipeline_primitives.h",
        "cuda_awbarrier.h",
        "cuda_awbarrier_primitives.h",
        "cuda_texture_types.h",
        "sm_60_atomic_functions.h",
        "sm_61_intrinsics.h",
        "stdint.h",
        "stddef.h",
        "limits.h",
        "float.h",
        "cstdint",
        "cstddef",
        "climits",
        "cfloat",
        "type_traits",
        "utility",
        "limits",
    }
)
#: Header trees a kernel may include from (libcu++, CUB, cooperative groups, nv/target).
ALLOWED_PREFIXES = ("cuda/", "cub/", "cooperative_groups/", "nv/")
#: Pragmas a kernel may use (first word).
ALLOWED_PRAGMAS = frozenset(
    {
        "unroll",
        "nounroll",
        "once",
        "pack",
        "message",
        "push_macro",
        "pop_macro",
        "nv_diag_suppress",
        "nv_diag_warning",
        "nv_diag_error",
        "nv_diag_default",
        "nv_diag_once",
        "diag_suppress",
        "diag_warning",
        "diag_error",
        "diag_default",
    }
)
_DIRECTIVES = frozenset(
    {"define", "undef", "if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif", "pragma", "include"}
    | {"error", "warning", "line"}
)
_HEADER_NAME = re.compile(r"[A-Za-z0-9_]+(?:[./+-][A-Za-z0-9_]+)*")
_DIRECTIVE = re.compile(r"^[ \t]*(?:#|%:)[ \t]*(?P<name>\w*)(?P<rest>[^\n]*)$", re.MULTILINE)
_HAS_INCLUDE = re.compile(r"__has_include\w*")
_PRAGMA_OP = re.compile(r'\b_Pragma\s*\(\s*(?:u8|u|U|L)?"(?P<text>(?:\\.|[^"\\\n])*)"')
_BAD_CHARS = re.compile("[\x00\ud800-\udfff\ufffd]")


def encoding_problem(text: str) -> str | None:
    """Why ``text`` cannot be compiled as it reads, or None: a NUL byte (NVRTC stops reading there;
    everything after it would be invisible to the compiler and visible to the checks), a lone
    surrogate or U+FFFD (bytes that were not UTF-8)."""
    m = _BAD_CHARS.search(text)
    if m is None:
        return None
    char = m.group()
    line = text.count("\n", 0, m.start()) + 1
    what = "a NUL byte" if char == "\x00" else "U+FFFD (invalid UTF-8)" if char == "\ufffd" else "a lone surrogate"
    return f"line {line} holds {what}; the source must be valid UTF-8 text without NUL"


def header_allowed(name: str) -> bool:
    """Whether ``#include <name>`` (or ``"name"``) may be compiled."""
    if not _HEADER_NAME.fullmatch(name) or ".." in name:
        return False
    return name in ALLOWED_HEADERS or name.startswith(ALLOWED_PREFIXES)


def _pragma_problem(text: str) -> str | None:
    words = text.split()
    if not words or words[0] in ALLOWED_PRAGMAS:
        return None
    return f"`#pragma {words[0]}` is not allowed (allowed: {', '.join(sorted(ALLOWED_PRAGMAS))})"


def directive_problems(source: str, *, stripped: str | None = None) -> list[tuple[int, str]]:
    """(line, message) for every directive or operator that could reach beyond the CUDA headers
    (``stripped``: ``strip_comments(source)`` when the caller has it already)."""
    text = stripped if stripped is not None else strip_comments(source)
    lines = LineIndex(text)
    problems: list[tuple[int, str]] = []
    for m in _DIRECTIVE.finditer(text):
        name, rest = m["name"], m["rest"].strip()
        line = lines.line(m.start())
        if name == "" and not rest:
            continue  # the null directive
        if name not in _DIRECTIVES:
            problems.append((line, f"preprocessor directive `#{name or rest[:20]}` is not allowed"))
        elif name == "include":
            literal = re.fullmatch(r'<([^<>\n]*)>|"([^"\n]*)"', rest)
            if literal is None:
                problems.append((line, '`#include` must name a header literally (<...> or "..."), not a macro'))
            elif not header_allowed(header := literal.group(1) or literal.group(2) or ""):
                problems.append(
                    (line, f"`#include` of {header[:80]!r} is not allowed: only CUDA headers may be included")
                )
        elif name == "pragma" and (issue := _pragma_problem(rest)):
            problems.append((line, issue))
    for m in _HAS_INCLUDE.finditer(text):
        problems.append((lines.line(m.start()), f"`{m.group()}` is not allowed (it probes files on the host)"))
    for m in _PRAGMA_OP.finditer(text):
        if issue := _pragma_problem(m["text"]):
            problems.append((lines.line(m.start()), issue))
    return sorted(problems)


_LOG_HEAD = re.compile(r"^(?P<file>[^\n()]+?)\((?P<line>\d+)\): (?P<rest>[^\n]*)$")


def scrub_log(log: str, program_names: Sequence[str], include_dirs: Sequence[Path]) -> str:
    """The compiler log with nothing from outside the program: a diagnostic located in any file
    other than the program (or a CUDA header) keeps only its position, never the file's text; CUDA
    header paths are shortened to ``<cuda>/...``."""
    roots = sorted((str(d) for d in include_dirs), key=len, reverse=True)
    out: list[str] = []
    hiding = False
    for line in log.splitlines():
        head = _LOG_HEAD.match(line)
        if head:
            where = head["file"].strip()
            inside = where in program_names or any(where.startswith(r + "/") for r in roots)
            hiding = not inside
            if hiding:
                out.append(f"<file outside the program>({head['line']}): (diagnostic withheld)")
                continue
        elif hiding and line.strip() and not line.startswith((" ", "\t")):
            hiding = False  # a line of its own (a summary), not the quoted source of a hidden diagnostic
        if hiding:
            continue
        for root in roots:
            line = line.replace(root + "/", "<cuda>/")
        out.append(line)
    return "\n".join(out)
