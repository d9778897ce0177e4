"""Hypothesis strategies for valid skills and test cases, shared by the skills tests."""

from __future__ import annotations

from hypothesis import strategies as st

from skillfoundry.skills.model import (
    CaseSet,
    ContainsCheck,
    JsonCheck,
    JudgeCheck,
    KernelCheck,
    NotContainsCheck,
    PythonCheck,
    RegexCheck,
    Skill,
    TestCase,
)

# Any character a str may hold in a file (no lone surrogates); control characters and line breaks included.
CHARS = st.characters(exclude_categories=["Cs"])
TEXT = st.text(CHARS, max_size=60)
LINE = st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1, max_size=40)

ascii_names = st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,12}){0,3}", fullmatch=True)
unicode_names = st.text(st.characters(categories=["Ll", "Nd"]), min_size=1, max_size=20).filter(
    lambda s: all(c.isalnum() and c == c.lower() for c in s)
)
NAMES = st.one_of(ascii_names, unicode_names)

tricky_pieces = st.sampled_from(
    [
        "---",
        "---\n",
        "\n---\n",
        "...",
        ": ",
        "'",
        '"',
        "#",
        "- ",
        "|-",
        ">",
        "\t",
        "\r\n",
        "\n\n",
        "{x: 1}",
        "[a]",
        "yes",
        "1.0",
        "0o17",
        "1e3",
        "~",
        "null",
        "&a",
        "*a",
        "!!python/object",
        "%YAML",
        "@",
        "`",
        "\ufeff",
        "\u2028",
        "\x85",
    ]
)
TRICKY = st.lists(st.one_of(tricky_pieces, TEXT), max_size=6).map("".join)
DESCRIPTIONS = st.one_of(TRICKY, LINE, TEXT).filter(lambda s: s.strip() and len(s) <= 1024)
BODIES = st.lists(st.one_of(tricky_pieces, TEXT, st.just("# Title\n"), st.just("\n")), max_size=10).map("".join)
METADATA = st.dictionaries(
    st.one_of(LINE, TRICKY, st.sampled_from(["license", "compatibility", "version", "author"])),
    st.one_of(TEXT, TRICKY),
    max_size=4,
)
FILE_PATHS = st.from_regex(r"(scripts|references|assets)/[a-zA-Z0-9_][a-zA-Z0-9_. -]{0,12}", fullmatch=True).filter(
    lambda p: not p.endswith((" ", ".")) and "/." not in p
)


@st.composite
def skills(draw, with_files: bool = False) -> Skill:
    """A Skill that passes validation (errors only; warnings allowed)."""
    return Skill(
        name=draw(NAMES),
        description=draw(DESCRIPTIONS),
        body=draw(BODIES),
        license=draw(st.none() | TRICKY),
        compatibility=draw(st.none() | DESCRIPTIONS.filter(lambda s: len(s) <= 500)),
        metadata=draw(METADATA),
        allowed_tools=draw(st.none() | TRICKY),
        files=draw(st.dictionaries(FILE_PATHS, TEXT, max_size=3)) if with_files else {},
    )


FINITE = st.floats(allow_nan=False, allow_infinity=False)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | FINITE | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
CHECKS = st.one_of(
    st.builds(ContainsCheck, values=st.lists(TEXT, min_size=1, max_size=3), case_sensitive=st.booleans()),
    st.builds(NotContainsCheck, values=st.lists(TEXT, min_size=1, max_size=3), case_sensitive=st.booleans()),
    st.builds(RegexCheck, pattern=TEXT, flags=st.sampled_from(["", "i", "ms"])),
    st.builds(JsonCheck, json_schema=st.none() | st.dictionaries(TEXT, JSONISH, max_size=3)),
    st.builds(PythonCheck, code=TEXT, timeout_s=st.floats(0.01, 600), memory_mb=st.integers(1, 65536)),
    st.builds(KernelCheck, problem_id=LINE, require_correct=st.booleans()),
    st.builds(JudgeCheck, rubric=TEXT, model=st.none() | LINE, threshold=st.floats(0, 1) | st.just(0.5)),
)
NONBLANK = st.one_of(LINE, TRICKY).filter(lambda s: bool(s.strip()))
CASE_IDS = st.one_of(st.integers(0, 10**6).map(str), st.from_regex(r"0[0-9]{1,3}", fullmatch=True), NONBLANK)


@st.composite
def case_strategy(draw, contains_only: bool = False) -> TestCase:
    if contains_only:
        return TestCase(
            id="0",
            prompt=draw(NONBLANK),
            files=draw(st.dictionaries(NONBLANK, TEXT, max_size=2)),
            checks=[ContainsCheck(values=draw(st.lists(TEXT, min_size=1, max_size=4)))],
        )
    kind = draw(st.sampled_from(["text", "kernel"]))
    return TestCase(
        id=draw(CASE_IDS),
        split=draw(st.sampled_from(["train", "test"])),
        prompt=draw(NONBLANK),
        files=draw(
            st.dictionaries(
                st.from_regex(r"evals/files/[a-z0-9_]{1,8}\.(csv|txt|cu)", fullmatch=True), TEXT, max_size=2
            )
        ),
        checks=draw(st.lists(CHECKS, min_size=1, max_size=3)),
        expected_output=draw(st.none() | TEXT),
        kind=kind,
        problem_id=draw(st.none() | LINE),
    )


@st.composite
def case_sets(draw) -> CaseSet:
    cases = draw(st.lists(case_strategy(), max_size=4, unique_by=lambda c: c.id))
    return CaseSet(skill_name=draw(ascii_names), cases=cases)
