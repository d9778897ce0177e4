"""Token estimate: the documented piece rule, and the skill total."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.skills.folder import load_skill
from skillfoundry.skills.model import Skill
from skillfoundry.skills.render import render_skill_md
from skillfoundry.skills.tokens import count_tokens, skill_tokens

CORPUS = Path(__file__).parent / "corpus" / "valid"


def test_piece_rule() -> None:
    assert count_tokens("") == count_tokens(" \n\t ") == 0
    assert count_tokens("the") == 1 and count_tokens("internationalization") == 1 + 19 // 8
    assert count_tokens("2026") == 2  # digits in groups of three
    assert count_tokens("a, b.") == 4 and count_tokens("->") == 1
    assert count_tokens("这个技能用于处理") == 6  # 8 wide letters at 0.7 each, rounded up
    assert count_tokens("__global__ void k") == 5  # __, global, __, void, k: one each


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_counts_add_up_across_whitespace(a: str, b: str) -> None:
    assert count_tokens(a + " " + b) == count_tokens(a) + count_tokens(b)
    assert count_tokens(a) <= 2 * len(a)


def test_real_skill_text_is_near_a_quarter_of_its_characters() -> None:
    text = (CORPUS / "pdf-processing" / "SKILL.md").read_text() + (CORPUS / "bundled-files" / "SKILL.md").read_text()
    assert 0.5 < count_tokens(text) / (len(text) / 4) < 1.5


def test_skill_tokens_count_the_rendered_file_and_bundled_files() -> None:
    skill = load_skill(CORPUS / "bundled-files")
    assert skill_tokens(skill) == count_tokens(render_skill_md(skill)) + sum(
        count_tokens(t) for t in skill.files.values()
    )
    bare = Skill(name="a", description="d", body="")
    assert skill_tokens(bare.model_copy(update={"body": "more words here"})) == skill_tokens(bare) + 3
