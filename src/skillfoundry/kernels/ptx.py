"""Read what matters from PTX, the program as it runs (macros, splices and comments resolved):
entry points and their parameter types, special-register reads, writable global state, calls to
functions outside the module, and traps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)", re.DOTALL)
_ENTRY = re.compile(r"^\s*(?:\.visible\s+|\.weak\s+)?\.entry\s+([\w$]+)\s*\(([^)]*)\)", re.MULTILINE)
_GLOBAL_DECL = re.compile(
    r"^[ \t]*(?:\.(?:visible|extern|weak|common)\s+)*\.global\s+(?P<decl>[^;]*?)(?P<name>[\w$]+)\s*"
    r"(?P<dims>(?:\[[^\]\n]*\]\s*)*)(?:=(?P<init>[^;]*))?;",
    re.MULTILINE,
)
_FUNC_HEAD = re.compile(r"^[ \t]*(?:\.(?:visible|weak|extern)\s+)*\.(?:entry|func)\b", re.MULTILINE)
_EXTERN_FUNC = re.compile(r"^[ \t]*\.extern\s+\.func\s+(?:\([^)]*\)\s*)?([\w$]+)", re.MULTILINE)
_SPECIAL = re.compile(r"%(clock64|clock_hi|clock|globaltimer_lo|globaltimer_hi|globaltimer|pm[0-7](?:_64)?)\b")
_LABEL = re.compile(r"^\s*(?:[\w$]+:\s*)+")
_PRED = re.compile(r"^@!?%\w+\s+")
_REG = re.compile(r"%[\w$]+")
_ADDRESS = re.compile(r"\[[^\]]*\]")

#: Instructions that write memory at an address operand in brackets.
_WRITES = ("st", "red", "atom", "sust", "sured", "suatom", "stmatrix", "multimem", "cp", "tensormap")
#: Copies that only read global memory (their global operand is the source).
_READ_COPIES = re.compile(r"^cp\.(?:async\.)?(?:bulk\.)?(?:tensor\.)?(?:[\w:]*\.)?shared(?:::\w+)?\.global\b")


@dataclass(frozen=True)
class PtxEntry:
    """An entry point and the PTX type of each parameter, e.g. ('u64', 'u64', 'u32')."""

    name: str
    param_types: tuple[str, ...]


def strip_comments(ptx: str) -> str:
    """PTX without comments (an inline asm comment cannot fake or hide an instruction)."""
    return _COMMENT.sub(" ", ptx)


def entries(ptx: str) -> list[PtxEntry]:
    """Every ``.entry`` in the module with its parameter types (``b8[12]`` for by-value structs)."""
    found = []
    for m in _ENTRY.finditer(strip_comments(ptx)):
        types = []
        for raw in m.group(2).split(","):
            raw = raw.strip()
            if not raw:
                continue
            words = re.findall(r"\.(\w+)", raw)
            kinds = [w for w in words if re.fullmatch(r"[usbf]\d+|pred", w)]
            array = re.search(r"\[(\d+)\]\s*$", raw)
            kind = kinds[0] if kinds else "?"
            types.append(f"{kind}[{array.group(1)}]" if array else kind)
        found.append(PtxEntry(name=m.group(1), param_types=tuple(types)))
    return found


def global_variables(ptx: str) -> list[str]:
    """Names of module-scope ``.global`` variables, function-scope statics included (``_ZZ...``);
    printf's ``$str`` literals excluded."""
    return [m["name"] for m in _GLOBAL_DECL.finditer(strip_comments(ptx)) if not m["name"].startswith("$str")]


def timer_reads(ptx: str) -> list[str]:
    """Special registers that tell time the code reads: %clock, %clock_hi, %clock64, %globaltimer
    (and its _lo/_hi halves), the %pm performance counters."""
    return sorted({m.group(1) for m in _SPECIAL.finditer(strip_comments(ptx))})


def extern_functions(ptx: str) -> list[str]:
    """Functions the module calls but does not define (``.extern .func``): the device runtime,
    malloc/free, vprintf, __assertfail..."""
    return sorted(set(_EXTERN_FUNC.findall(strip_comments(ptx))))


def _statements(body: str) -> list[tuple[str, str]]:
    """(opcode, operands) of every instruction in a function body. Directives without a ``;``
    (``.loc``, ``.file``) may precede an instruction in the same ``;``-separated piece: they are
    dropped line by line, so they cannot hide the instruction after them."""
    out = []
    for raw in body.split(";"):
        lines = raw.replace("{", " ").replace("}", " ").split("\n")
        while lines and (_LABEL.sub("", lines[0]).strip() == "" or _LABEL.sub("", lines[0]).lstrip().startswith(".")):
            lines.pop(0)
        stmt = _LABEL.sub("", " ".join(lines)).strip()
        stmt = _PRED.sub("", stmt)
        if not stmt or not stmt[0].isalpha():
            continue
        parts = stmt.split(None, 1)
        opcode, operands = parts[0], parts[1] if len(parts) > 1 else ""
        out.append((opcode, operands.strip()))
    return out


def _split_operands(operands: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in operands:
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _functions(ptx: str) -> list[str]:
    heads = [m.start() for m in _FUNC_HEAD.finditer(ptx)]
    return [ptx[a:b] for a, b in zip(heads, [*heads[1:], len(ptx)])]


def _names(text: str, symbols: set[str]) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z_$][\w$]*", text) if w in symbols}


def _writes_in(body: str, symbols: set[str]) -> set[str]:
    """Globals of ``symbols`` this function stores to, directly or through an address derived
    from theirs, or whose address it stores or passes on (so someone may store through it)."""
    statements = _statements(body)
    origin: dict[str, set[str]] = {}  # register -> globals whose address it may hold
    written: set[str] = set()
    for _ in range(64):  # flow-insensitive taint: iterate to a fixed point
        changed = False
        for opcode, operands in statements:
            base = opcode.split(".")[0]
            ops = _split_operands(operands)
            if not ops:
                continue
            sources: set[str] = set()
            for reg in _REG.findall(operands):
                sources |= origin.get(reg, set())
            direct = _names(operands, symbols)
            if base in ("ld", "ldu", "prefetch", "prefetchu", "applypriority", "discard", "createpolicy"):
                continue  # reading through an address: fine
            if base in _WRITES and not _READ_COPIES.match(opcode):
                addressed: set[str] = set()
                for addr in _ADDRESS.findall(operands):
                    addressed |= _names(addr, symbols)
                    for reg in _REG.findall(addr):
                        addressed |= origin.get(reg, set())
                outside = _ADDRESS.sub(" ", operands)
                stored: set[str] = _names(outside, symbols)
                for reg in _REG.findall(outside):
                    stored |= origin.get(reg, set())
                if base == "atom" and ops:  # the first operand is the old value it returns
                    stored -= {g for reg in _REG.findall(ops[0]) for g in origin.get(reg, set())}
                new = (addressed | stored) - written
                if new:
                    written |= new
                    changed = True
                continue
            taint = sources | direct
            if not taint or base in ("setp", "bra", "call", "ret", "exit", "bar", "membar", "fence"):
                if base == "call" and taint:  # a call taking an address
                    if taint - written:
                        written |= taint
                        changed = True
                continue
            for reg in _REG.findall(ops[0]):
                have = origin.setdefault(reg, set())
                if not taint <= have:
                    have |= taint
                    changed = True
        if not changed:
            break
    return written


def written_globals(ptx: str) -> list[str]:
    """``.global`` variables (function-scope statics included) the code may write: stored to, written
    by an atomic, or whose address is stored, passed to a call or used to initialise another global.
    Variables only ever loaded (a ``__device__ const`` table, even indexed through a pointer) are not."""
    text = strip_comments(ptx)
    symbols = set(global_variables(text))
    if not symbols:
        return []
    written: set[str] = set()
    for m in _GLOBAL_DECL.finditer(text):
        if m["init"]:
            written |= _names(m["init"], symbols)  # another global holds its address
    for body in _functions(text):
        written |= _writes_in(body, symbols)
    return sorted(written)


def traps(ptx: str) -> list[str]:
    """Instructions and calls that abort the kernel on purpose: ``trap``, ``brkpt``, a failed assert."""
    found = set()
    for body in _functions(strip_comments(ptx)):
        for opcode, operands in _statements(body):
            base = opcode.split(".")[0]
            if base in ("trap", "brkpt"):
                found.add(base)
            elif base == "call" and "__assertfail" in operands:
                found.add("__assertfail")
    return sorted(found)
