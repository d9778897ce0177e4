"""Read what matters from PTX: entry points and their parameter types, globals, timer registers."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ENTRY = re.compile(r"^\s*(?:\.visible\s+|\.weak\s+)?\.entry\s+([\w$]+)\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_GLOBAL_VAR = re.compile(
    r"^\s*(?:\.visible\s+|\.extern\s+|\.weak\s+)?\.global\s+[^\n;]*?([\w$]+)\s*(?:\[[^\]]*\])?\s*(?:=[^;]*)?;",
    re.MULTILINE,
)
_TIMER = re.compile(r"%(clock64|clock|globaltimer(?:_lo|_hi)?)\b")


@dataclass(frozen=True)
class PtxEntry:
    """An entry point and the PTX type of each parameter, e.g. ('u64', 'u64', 'u32')."""

    name: str
    param_types: tuple[str, ...]


def entries(ptx: str) -> list[PtxEntry]:
    """Every ``.entry`` in the module with its parameter types (``b8[12]`` for by-value structs)."""
    found = []
    for m in _ENTRY.finditer(ptx):
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
    """Names of ``.global`` variables (printf's ``$str`` literals excluded)."""
    return [m.group(1) for m in _GLOBAL_VAR.finditer(ptx) if not m.group(1).startswith("$str")]


def written_globals(ptx: str) -> list[str]:
    """``.global`` variables the code stores to, or whose address it takes (so it may store
    through a pointer). Header constants that are never touched, or only loaded, are left out."""
    found = []
    for name in global_variables(ptx):
        n = re.escape(name)
        store = re.search(rf"^\s*(?:st|atom|red)\.[\w.]*\s+\[{n}\b", ptx, re.MULTILINE)
        address = re.search(rf"^\s*(?:mov|cvta)\.[\w.]*\s+%\w+,\s*{n}\b", ptx, re.MULTILINE)
        if store or address:
            found.append(name)
    return found


def timer_reads(ptx: str) -> list[str]:
    """Special timer registers the code reads (%clock, %clock64, %globaltimer...)."""
    return sorted({m.group(1) for m in _TIMER.finditer(ptx)})
