"""Deterministic text graders: contains, not_contains, regex, json (with optional JSON Schema).

Every grader takes any string (empty, binary garbage, megabytes) and returns a CheckOutcome; a check
that is itself broken (bad pattern, bad schema) fails with ``detail["check_error"] = True``.
Case-insensitive matching uses ``str.casefold``. Regexes run in the ``regex`` module in its
``re``-compatible mode (VERSION0) with a time limit, so a catastrophic pattern cannot hang grading.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import jsonschema
import regex

from skillfoundry.grading.outcome import CheckOutcome, GradingLevel
from skillfoundry.skills.model import ContainsCheck, JsonCheck, NotContainsCheck, RegexCheck

REGEX_TIMEOUT_S = 2.0
_FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL, "x": regex.VERBOSE, "a": regex.ASCII}
_SHOWN = 200  # characters of a value or message kept in details
LEVEL = GradingLevel.DETERMINISTIC


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.casefold()


def grade_contains(check: ContainsCheck, answer: str) -> CheckOutcome:
    """Pass when every value occurs; score = fraction found."""
    haystack = _fold(answer, check.case_sensitive)
    missing = [v for v in check.values if _fold(v, check.case_sensitive) not in haystack]
    found = len(check.values) - len(missing)
    reason = (
        "all values found"
        if not missing
        else f"missing {len(missing)} of {len(check.values)}: " + ", ".join(repr(_clip(v)) for v in missing)
    )
    return CheckOutcome(
        level=LEVEL,
        grader="contains",
        passed=not missing,
        score=found / len(check.values),
        detail={"reason": reason, "missing": [_clip(v) for v in missing]},
    )


def grade_not_contains(check: NotContainsCheck, answer: str) -> CheckOutcome:
    """Pass when no value occurs; score = fraction absent."""
    haystack = _fold(answer, check.case_sensitive)
    present = [v for v in check.values if _fold(v, check.case_sensitive) in haystack]
    reason = (
        "no forbidden value found" if not present else "found forbidden " + ", ".join(repr(_clip(v)) for v in present)
    )
    return CheckOutcome(
        level=LEVEL,
        grader="not_contains",
        passed=not present,
        score=1 - len(present) / len(check.values),
        detail={"reason": reason, "found": [_clip(v) for v in present]},
    )


def _fail(grader: str, reason: str, **detail: Any) -> CheckOutcome:
    return CheckOutcome(level=LEVEL, grader=grader, passed=False, score=0.0, detail={"reason": reason, **detail})


def grade_regex(check: RegexCheck, answer: str) -> CheckOutcome:
    """Pass when the pattern matches somewhere (``search``)."""
    flags = regex.VERSION0
    for letter in check.flags:
        if letter not in _FLAGS:
            return _fail("regex", f"unknown regex flag {letter!r} (use i, m, s, x, a)", check_error=True)
        flags |= _FLAGS[letter]
    try:
        compiled = regex.compile(check.pattern, flags)
    except (regex.error, ValueError, OverflowError) as exc:
        return _fail("regex", f"invalid pattern: {exc}", check_error=True)
    try:
        match = compiled.search(answer, timeout=REGEX_TIMEOUT_S)
    except TimeoutError:
        return _fail("regex", f"pattern took longer than {REGEX_TIMEOUT_S} s on this answer")
    if match is None:
        return _fail("regex", "no match")
    return CheckOutcome(
        level=LEVEL,
        grader="regex", passed=True, score=1.0, detail={"reason": "matched", "match": _clip(match.group(0))}
    )


def _fenced_blocks(answer: str):
    """Bodies of Markdown fenced blocks tagged json (or untagged), in order; linear time."""
    pos = 0
    while (start := answer.find("```", pos)) >= 0:
        line_end = answer.find("\n", start)
        if line_end < 0:
            return
        close = answer.find("```", line_end + 1)
        if close < 0:
            return
        if answer[start + 3 : line_end].strip().lower() in ("", "json", "jsonc", "json5"):
            yield answer[line_end + 1 : close]
        pos = close + 3


def _parse_json(answer: str) -> tuple[bool, Any, str]:
    """(ok, value, where it was found) or (False, None, why not): the whole answer, else the first
    fenced block that parses."""
    candidates = itertools.chain([("whole answer", answer)], (("fenced block", b) for b in _fenced_blocks(answer)))
    first_error = "empty answer" if not answer.strip() else ""
    for where, text in candidates:
        if not text.strip():
            continue
        try:
            return True, json.loads(text), where
        except RecursionError:
            first_error = first_error or "JSON nested too deeply"
        except ValueError as exc:
            first_error = first_error or f"not JSON ({exc})"
    return False, None, first_error or "no JSON found"


def grade_json(check: JsonCheck, answer: str) -> CheckOutcome:
    """Pass when the answer (or its first parseable fenced json block) is JSON that fits the schema."""
    ok, value, where = _parse_json(answer)
    if not ok:
        return _fail("json", _clip(where))
    if check.json_schema is None:
        return CheckOutcome(level=LEVEL, grader="json", passed=True, score=1.0, detail={"reason": f"valid JSON ({where})"})
    try:
        validator_cls = jsonschema.validators.validator_for(check.json_schema)
        validator_cls.check_schema(check.json_schema)
        error = jsonschema.exceptions.best_match(validator_cls(check.json_schema).iter_errors(value))
    except jsonschema.exceptions.SchemaError as exc:
        return _fail("json", f"invalid JSON Schema: {_clip(exc.message)}", check_error=True)
    except RecursionError:
        return _fail("json", "JSON nested too deeply to validate")
    if error is not None:
        return _fail("json", f"schema violation at {error.json_path}: {_clip(error.message)}")
    return CheckOutcome(
        level=LEVEL,
        grader="json", passed=True, score=1.0, detail={"reason": f"valid JSON fitting the schema ({where})"}
    )
