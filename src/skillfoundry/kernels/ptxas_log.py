"""Parse NVRTC/ptxas logs: per-kernel resource usage and compiler diagnostics with line numbers."""

from __future__ import annotations

import re

from pydantic import BaseModel

_ENTRY = re.compile(r"Compiling entry function '([^']+)'")
_PROPS = re.compile(r"Function properties for (\S+)")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"Used (\d+) registers")
_MEM = re.compile(r"(\d+) bytes (smem|lmem)")
_DIAG = re.compile(
    r"^(?P<file>[^\s()][^()\n]*)\((?P<line>\d+)\): (?P<severity>catastrophic error|error|warning|remark)"
    r"(?: #[\w-]+)?: (?P<message>.*)$",
    re.MULTILINE,
)


class KernelResources(BaseModel):
    """What ptxas reported for one entry point."""

    name: str
    registers: int = 0
    spill_stores: int = 0
    spill_loads: int = 0
    smem_bytes: int = 0
    local_bytes: int = 0


class Diagnostic(BaseModel):
    """One compiler message tied to a source line."""

    line: int
    severity: str
    message: str


def parse_resources(log: str) -> list[KernelResources]:
    """Resource usage per entry function, in the order ptxas compiled them."""
    entries: dict[str, KernelResources] = {}
    current_entry: str | None = None
    props_for: str | None = None
    for line in log.splitlines():
        if m := _ENTRY.search(line):
            current_entry = m.group(1)
            entries.setdefault(current_entry, KernelResources(name=current_entry))
        elif m := _PROPS.search(line):
            props_for = m.group(1)
        elif (m := _FRAME.search(line)) and props_for in entries:
            res = entries[props_for]
            res.local_bytes, res.spill_stores, res.spill_loads = (int(g) for g in m.groups())
        elif (m := _USED.search(line)) and current_entry is not None:
            res = entries[current_entry]
            res.registers = int(m.group(1))
            for amount, kind in _MEM.findall(line):
                if kind == "smem":
                    res.smem_bytes = int(amount)
                else:
                    res.local_bytes = max(res.local_bytes, int(amount))
    return list(entries.values())


def parse_diagnostics(log: str) -> list[Diagnostic]:
    """Errors and warnings with their source line numbers."""
    return [
        Diagnostic(line=int(m["line"]), severity=m["severity"], message=m["message"].strip())
        for m in _DIAG.finditer(log)
    ]
