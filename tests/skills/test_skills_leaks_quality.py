"""Leak check (skill carries a case's answer), non-discriminating and duplicate cases."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.skills.leaks import find_leaks, ngrams, normalize
from skillfoundry.skills.model import ContainsCheck, JudgeCheck, RegexCheck, Skill, TestCase
from skillfoundry.skills.quality import duplicate_cases, non_discriminating

ANSWER = (
    "The kernel loads each tile into shared memory, synchronises the block, and then every thread "
    "accumulates sixteen partial products before writing the result back to global memory."
)
CLEAN = Skill(
    name="tiled-matmul",
    description="Write tiled CUDA matrix multiplication. Use when a kernel multiplies matrices.",
    body="# Tiled matmul\n\n1. Pick a tile size that fits shared memory.\n2. Use __syncthreads between load and compute.\n3. Check bounds on the last tile.\n",
)
CASES = {
    "c1": TestCase(
        id="1",
        prompt="Multiply two 1024x1024 matrices.",
        expected_output=ANSWER,
        checks=[ContainsCheck(values=["__syncthreads", "tile of 32 by 32 floats per block"])],
    ),
    "c2": TestCase(id="2", prompt="Explain tiling.", checks=[JudgeCheck(rubric=ANSWER)]),
    "c3": TestCase(id="3", prompt="Regex case", checks=[RegexCheck(pattern=r"__global__\s+void")]),
}


def test_a_clean_skill_passes_even_though_it_names_the_checked_keyword() -> None:
    assert find_leaks(CLEAN, CASES) == []


def test_a_planted_expected_output_is_caught_verbatim_despite_case_and_spacing() -> None:
    planted = CLEAN.model_copy(
        update={"body": CLEAN.body + "\nExample answer:\n" + ANSWER.upper().replace(" ", "  \n ")}
    )
    kinds = {(f.kind, f.case_id) for f in find_leaks(planted, CASES)}
    assert ("leak-expected-output", "c1") in kinds and ("leak-rubric", "c2") in kinds


def test_a_paraphrased_leak_in_a_bundled_file_is_caught_by_ngram_overlap() -> None:
    edited = ANSWER.replace("The kernel", "Your kernel").replace("global memory.", "global memory, done.")
    planted = CLEAN.model_copy(update={"files": {"references/answers.md": f"Notes\n{edited}\n"}})
    found = find_leaks(planted, CASES)
    leak = next(f for f in found if f.case_id == "c1")
    assert leak.kind == "leak-expected-output" and "references/answers.md" in leak.detail and "8-word" in leak.detail


def test_a_long_check_literal_is_a_leak_but_short_keywords_are_not() -> None:
    planted = CLEAN.model_copy(update={"body": CLEAN.body + "Use a Tile of 32 by 32 floats per block.\n"})
    found = find_leaks(planted, CASES)
    assert [(f.kind, f.case_id) for f in found] == [("leak-check-literal", "c1")]


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_ngrams_and_normalize_are_total(a: str, b: str) -> None:
    assert normalize(normalize(a)) == normalize(a)
    assert all(len(g) == 8 for g in ngrams(a))
    assert ngrams(a) <= ngrams(a + " " + b)


def test_non_discriminating_cases() -> None:
    rows = [
        ("always-yes", "baseline", True),
        ("always-yes", "with_skill", True),
        ("always-yes", "with_skill", True),
        ("always-no", "baseline", False),
        ("always-no", "with_skill", False),
        ("lifted", "baseline", False),
        ("lifted", "with_skill", True),
        ("one-condition", "with_skill", True),
        ("mixed", "baseline", True),
        ("mixed", "baseline", False),
        ("mixed", "with_skill", True),
    ]
    found = non_discriminating(rows)
    assert [(f.kind, f.case_id) for f in found] == [("always-fails", "always-no"), ("always-passes", "always-yes")]
    assert found[1].detail == "passed all 3 answers under baseline, with_skill"
    assert non_discriminating([]) == []


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["baseline", "with_skill"]), st.booleans()), max_size=20)
)
def test_non_discriminating_is_exactly_the_uniform_cases(rows: list[tuple[str, str, bool]]) -> None:
    flagged = {f.case_id for f in non_discriminating(rows)}
    for case_id in "abc":
        mine = [r for r in rows if r[0] == case_id]
        uniform = len({r[1] for r in mine}) >= 2 and len({r[2] for r in mine}) == 1
        assert (case_id in flagged) == uniform


def test_duplicate_prompts_after_normalisation() -> None:
    check = [ContainsCheck(values=["x"])]
    cases = {
        "b": TestCase(id="b", prompt="Write a  Softmax kernel.\n", checks=check),
        "a": TestCase(id="a", prompt="write a softmax KERNEL.", checks=check),
        "c": TestCase(id="c", prompt="Write a softmax kernel!", checks=check),
    }
    found = duplicate_cases(cases)
    assert [(f.kind, f.case_id, f.detail) for f in found] == [("duplicate-prompt", "b", "same prompt as case a")]
