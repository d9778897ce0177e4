"""Light lexing of CUDA C++ source, linear in its length: line ends and line splices normalised,
comments and literals blanked (line numbers kept), kernel declarations and parameter lists found.

This is the fast early reject and the source of messages; decisions rest on the compiled PTX.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property

# One token the scanner must not misread: a comment, a raw string, a string or char literal (with
# any encoding prefix), or a pp-number (whose digit separators ' must not open a char literal).
_TOKEN = re.compile(
    r"""//[^\n]*"""
    r"""|/\*.*?(?:\*/|\Z)"""
    r"""|(?<![\w])(?:u8|u|U|L)?R"(?P<delim>[^()\\\s"]{0,16})\(.*?(?:\)(?P=delim)"|\Z)"""
    r"""|(?<![\w])(?:u8|u|U|L)?"(?:\\.|[^"\\\n])*"?"""
    r"""|(?<![\w])(?:u8|u|U|L)?'(?:\\.|[^'\\\n])*'?"""
    r"""|(?<![\w.])\.?[0-9](?:[0-9A-Za-z_.]|'[0-9A-Za-z_]|[eEpP][+-])*""",
    re.DOTALL,
)
_SPLICE_END = re.compile(r"\\[ \t]*$")
_BLANK = re.compile(r"[^\n]")


def normalize(source: str) -> str:
    """``source`` as the compiler reads it before tokenising: CRLF and lone CR become LF, and
    backslash-newline splices are joined; each joined line's newlines move to the end of its
    logical line, so every later line keeps its number."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if "\\" not in text:
        return text
    lines = text.split("\n")
    pieces: list[str] = []
    pending = 0
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        m = _SPLICE_END.search(line)
        if m and not last:
            pieces.append(line[: m.start()])
            pending += 1
            continue
        pieces.append(line + "\n" * pending + ("" if last else "\n"))
        pending = 0
    return "".join(pieces)


def _blank(text: str) -> str:
    return _BLANK.sub(" ", text)


def _lex(source: str, keep_strings: bool) -> str:
    def repl(m: re.Match[str]) -> str:
        tok = m.group()
        if tok.startswith("/"):
            return _blank(tok)
        if tok[0].isdigit() or tok[0] == ".":
            return tok.replace("'", " ")  # digit separators
        if keep_strings:
            return tok
        quote = min(i for i in (tok.find('"'), tok.find("'")) if i >= 0)
        return tok[: quote + 1] + _blank(tok[quote + 1 : -1]) + tok[-1] if len(tok) > quote + 1 else tok

    return _TOKEN.sub(repl, normalize(source))


def strip_comments(source: str) -> str:
    """Normalised ``source`` with comments replaced by spaces (newlines kept); literals untouched."""
    return _lex(source, keep_strings=True)


def code_only(source: str) -> str:
    """Normalised ``source`` with comments and the insides of string/char literals blanked."""
    return _lex(source, keep_strings=False)


class LineIndex:
    """Offset -> 1-based line number, by bisection over the newline offsets (linear to build)."""

    def __init__(self, text: str):
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1


def line_of(text: str, offset: int) -> int:
    """1-based line number of ``offset`` (one lookup; use LineIndex for many)."""
    return text.count("\n", 0, offset) + 1


class Brackets:
    """Every matching (), [] and {} pair of a text, found in one pass."""

    def __init__(self, text: str):
        self.text = text
        self.close: dict[int, int] = {}
        self.open: dict[int, int] = {}
        stacks: dict[str, list[int]] = {"(": [], "[": [], "{": []}
        closers = {")": "(", "]": "[", "}": "{"}
        for m in re.finditer(r"[()\[\]{}]", text):
            ch = m.group()
            if ch in stacks:
                stacks[ch].append(m.start())
            elif stacks[closers[ch]]:
                start = stacks[closers[ch]].pop()
                self.close[start] = m.start()
                self.open[m.start()] = start

    def matching(self, open_at: int) -> int:
        """Index of the bracket closing the one at ``open_at`` (or len(text) if unbalanced)."""
        return self.close.get(open_at, len(self.text))


def matching(text: str, open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at`` (or len(text) if unbalanced)."""
    return Brackets(text).matching(open_at)


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
    """A ``__global__`` function found in the source (parameters parsed when asked for)."""

    name: str
    params_text: str
    extern_c: bool
    line: int
    templated: bool

    @property
    def params(self) -> tuple[Param, ...]:
        return tuple(parse_param(p) for p in _split_params(self.params_text))


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


_GLOBAL = re.compile(r"\b__global__\b")
_DECL_START = re.compile(r"[;{}]|^[ \t]*#[^\n]*$", re.MULTILINE)
_NAME_WORD = re.compile(r"\s*([A-Za-z_]\w*|\()")
_OPEN_PAREN = re.compile(r"\s*\(")
_EXTERN_C = re.compile(r'extern\s+"C"')


class Scan:
    """One normalised source and the indexes every check shares (built once, linear)."""

    def __init__(self, source: str):
        self.raw = source
        self.stripped = strip_comments(source)
        self.code = code_only(source)
        self.lines = LineIndex(self.code)

    @cached_property
    def brackets(self) -> Brackets:
        return Brackets(self.code)

    @cached_property
    def decl_starts(self) -> list[int]:
        return [d.end() for d in _DECL_START.finditer(self.code)]

    def decl_start_before(self, offset: int) -> int:
        """Where the declaration holding ``offset`` begins: after the last ';', '{', '}' or directive."""
        i = bisect.bisect_right(self.decl_starts, offset) - 1
        while i >= 0 and self.decl_starts[i] > offset:
            i -= 1
        return self.decl_starts[i] if i >= 0 else 0

    @cached_property
    def extern_c_blocks(self) -> list[tuple[int, int]]:
        ranges = []
        for m in re.finditer(r'extern\s+"C"\s*\{', self.stripped):
            ranges.append((m.end() - 1, self.brackets.matching(m.end() - 1)))
        return ranges

    @cached_property
    def _block_index(self) -> tuple[list[int], list[int]]:
        starts, reach, furthest = [], [], -1
        for a, b in sorted(self.extern_c_blocks):
            furthest = max(furthest, b)
            starts.append(a)
            reach.append(furthest)
        return starts, reach

    def in_extern_c_block(self, offset: int) -> bool:
        """Whether ``offset`` lies inside an ``extern "C" { ... }`` block."""
        starts, reach = self._block_index
        i = bisect.bisect_left(starts, offset) - 1
        return i >= 0 and reach[i] > offset


def find_kernels(source: str | Scan) -> list[KernelDecl]:
    """Every ``__global__`` function declared or defined in ``source``."""
    scan = source if isinstance(source, Scan) else Scan(source)
    text = scan.code
    kernels = []
    for m in _GLOBAL.finditer(text):
        head = scan.stripped[max(scan.decl_start_before(m.start()), m.start() - 300) : m.start()]
        pos = m.end()
        name = None
        for _ in range(16):  # words between __global__ and the name: void, __launch_bounds__(..), ...
            w = _NAME_WORD.match(text, pos)
            if not w or w.group(1) == "(":
                break
            word = w.group(1)
            pos = w.end()
            after = _OPEN_PAREN.match(text, pos)
            if after and word.startswith("__") and word.endswith("__") and word != "__global__":
                pos = scan.brackets.matching(after.end() - 1) + 1  # __launch_bounds__(...), __cluster_dims__(...)
                continue
            name = word
        paren = _OPEN_PAREN.match(text, pos)
        if name is None or paren is None:
            continue
        open_at = paren.end() - 1
        close_at = scan.brackets.matching(open_at)
        kernels.append(
            KernelDecl(
                name=name,
                params_text=text[open_at + 1 : close_at][:4000],
                extern_c=bool(_EXTERN_C.search(head)) or scan.in_extern_c_block(m.start()),
                line=scan.lines.line(m.start()),
                templated=bool(re.search(r"\btemplate\s*<", head)),
            )
        )
    return kernels
