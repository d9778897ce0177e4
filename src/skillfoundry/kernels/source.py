"""Light lexing of CUDA C++ source: comments and literals blanked (line numbers kept), kernel
declarations and their parameter lists found."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""//[^\n]*|/\*.*?(?:\*/|\Z)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?""",
    re.DOTALL,
)


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def strip_comments(source: str) -> str:
    """``source`` with comments replaced by spaces (newlines kept); string literals untouched."""
    return _TOKEN.sub(lambda m: _blank(m.group()) if m.group().startswith("/") else m.group(), source)


def code_only(source: str) -> str:
    """``source`` with comments and the insides of string/char literals blanked (quotes kept)."""

    def repl(m: re.Match[str]) -> str:
        tok = m.group()
        if tok.startswith("/"):
            return _blank(tok)
        return tok[0] + _blank(tok[1:-1]) + tok[-1] if len(tok) >= 2 else tok

    return _TOKEN.sub(repl, source)


def line_of(text: str, offset: int) -> int:
    """1-based line number of ``offset``."""
    return text.count("\n", 0, offset) + 1


def matching(text: str, open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at`` (or len(text) if unbalanced)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener = text[open_at]
    closer = pairs[opener]
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == opener:
            depth += 1
        elif text[i] == closer:
            depth -= 1
            if depth == 0:
                return i
    return len(text)


@dataclass(frozen=True)
class Param:
    """One declared parameter: base type (qualifiers dropped), pointer depth, const pointee, name."""

    base: str
    pointers: int
    const: bool
    name: str
    text: str


@dataclass(frozen=True)
class KernelDecl:
    """A ``__global__`` function found in the source."""

    name: str
    params: tuple[Param, ...]
    extern_c: bool
    line: int
    templated: bool


_QUALIFIERS = {"__restrict__", "__restrict", "restrict", "volatile", "register", "__grid_constant__"}
_WORD = re.compile(r"[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*|\*|&|\[|\]")


def parse_param(text: str) -> Param:
    """Split ``const float* __restrict__ x`` into base 'float', 1 pointer, const, name 'x'."""
    tokens = _WORD.findall(re.sub(r"\[[^\]]*\]", "[]", text))
    pointers = tokens.count("*") + tokens.count("[")
    const = False
    seen_star = False
    words: list[str] = []
    for tok in tokens:
        if tok in ("*", "&"):
            seen_star = True
        elif tok == "const":
            const = const or not seen_star
        elif tok not in _QUALIFIERS and tok not in ("[", "]"):
            words.append(tok)
    name = ""
    if len(words) >= 2:
        name = words.pop()
    return Param(base=" ".join(words), pointers=pointers, const=const, name=name, text=" ".join(text.split()))


def _split_params(inner: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in inner:
        if ch in "(<[{":
            depth += 1
        elif ch in ")>]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    parts = [p.strip() for p in parts]
    return [] if parts == [""] or parts == ["void"] else parts


def _extern_c_ranges(text: str) -> list[tuple[int, int]]:
    ranges = []
    for m in re.finditer(r'extern\s+"C"\s*\{', text):
        ranges.append((m.end() - 1, matching(text, m.end() - 1)))
    return ranges


_GLOBAL = re.compile(r"\b__global__\b")
_DECL_START = re.compile(r"[;{}]|^\s*#[^\n]*$", re.MULTILINE)


def find_kernels(source: str) -> list[KernelDecl]:
    """Every ``__global__`` function declared or defined in ``source``."""
    text = strip_comments(source)
    blocks = _extern_c_ranges(text)
    kernels = []
    for m in _GLOBAL.finditer(text):
        # the declaration begins after the previous ';', '{', '}' or preprocessor line
        starts = [d.end() for d in _DECL_START.finditer(text, 0, m.start())]
        head = text[starts[-1] if starts else 0 : m.start()]
        pos = m.end()
        name = None
        while pos < len(text):
            w = re.compile(r"\s*([A-Za-z_]\w*|\()").match(text, pos)
            if not w:
                break
            if w.group(1) == "(":
                break
            word = w.group(1)
            pos = w.end()
            after = re.compile(r"\s*\(").match(text, pos)
            if after and word.startswith("__") and word.endswith("__") and word not in ("__global__",):
                pos = matching(text, after.end() - 1) + 1  # __launch_bounds__(...), __cluster_dims__(...)
                continue
            name = word
        paren = re.compile(r"\s*\(").match(text, pos)
        if name is None or paren is None:
            continue
        open_at = paren.end() - 1
        close_at = matching(text, open_at)
        params = tuple(parse_param(p) for p in _split_params(text[open_at + 1 : close_at]))
        extern_c = bool(re.search(r'extern\s+"C"', head)) or any(a < m.start() < b for a, b in blocks)
        kernels.append(
            KernelDecl(
                name=name,
                params=params,
                extern_c=extern_c,
                line=line_of(text, m.start()),
                templated=bool(re.search(r"\btemplate\s*<", head)),
            )
        )
    return kernels
