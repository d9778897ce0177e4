"""Pull the CUDA source out of a model's answer, whatever its line ends and fence style; say when
its characters are not text a compiler reads the way the checks do."""

from __future__ import annotations

import re
from collections.abc import Sequence

from skillfoundry.kernels.preflight import encoding_problem

_CODE_LANGS = {"", "cuda", "cu", "cpp", "c++", "cxx", "cc", "c", "h", "hpp", "cuh", "cuda-c", "cuda-cpp", "cuda-c++"}
_NON_TEXT = re.compile("[\x00\ud800-\udfff]")
# An opening fence at the start of a line: ``` or ~~~ (3+), then an optional info string.
_OPEN = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$", re.MULTILINE)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) for every fenced block; an unclosed last fence runs to the end of the text."""
    blocks: list[tuple[str, str]] = []
    pos = 0
    while m := _OPEN.search(text, pos):
        fence = m["fence"]
        info = m["info"].strip().strip("{}").lstrip(".")
        lang = info.split()[0].lower().rstrip(",;") if info.split() else ""
        body_start = m.end() + 1
        close = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = close.search(text, body_start)
        body = text[body_start : end.start() if end else len(text)]
        blocks.append((lang, body))
        if end is None:
            break
        pos = end.end()
    return blocks


def extract_cuda_source(answer_text: str, entry_points: Sequence[str] = ()) -> str | None:
    """The CUDA code in ``answer_text``, or None when there is none.

    Fenced blocks tagged cuda/cu/cpp/c++/c (or untagged) are candidates; one containing
    ``__global__`` is preferred, and among those one that names every entry point, then the
    last (models put the final version last); failing that, the last code block. Without any
    fence, the whole text is taken if it contains ``__global__``.
    """
    answer_text = answer_text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = fenced_blocks(answer_text)
    code = [body for lang, body in blocks if lang in _CODE_LANGS and body.strip()]
    kernels = [body for body in code if "__global__" in body]
    if kernels:
        complete = [b for b in kernels if all(re.search(rf"\b{re.escape(e)}\b", b) for e in entry_points)]
        return (complete or kernels)[-1].strip("\n") + "\n"
    if code:
        return code[-1].strip("\n") + "\n"
    if "__global__" in answer_text and not blocks:
        return answer_text.strip("\n") + "\n"
    return None


def answer_encoding_problem(text: str, *, code: bool = False) -> str | None:
    """Why ``text`` is not usable text, or None. Anywhere in an answer: a NUL byte or a lone
    surrogate (never text). In the extracted code (``code=True``) also U+FFFD, which is what
    invalid UTF-8 decodes to: the compiler would read something else than the model meant."""
    if code:
        return encoding_problem(text)
    m = _NON_TEXT.search(text)
    if m is None:
        return None
    what = "a NUL byte" if m.group() == "\x00" else "a lone surrogate (bytes that were not UTF-8)"
    return f"the answer holds {what} at character {m.start()}"
