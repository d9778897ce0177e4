"""ModelSpec parsing: round trips and one-line errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.llm.spec import LOCAL_MODEL_NAME, ModelSpec, ModelSpecError

models = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/:-]{0,30}", fullmatch=True)
urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}:{port}{path}",
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,18}[a-z0-9])?", fullmatch=True),
    st.integers(1, 65535),
    st.sampled_from(["", "/v1", "/api/v1"]),
)
spec_strings = st.one_of(
    st.just("local"),
    models.map(lambda m: f"anthropic:{m}"),
    models.map(lambda m: f"vllm:{m}"),
    st.builds(lambda m, u: f"openai:{m}@{u}", models, urls),
)


@settings(max_examples=50, deadline=None)
@given(spec_strings)
def test_canonical_strings_round_trip(text: str) -> None:
    assert str(ModelSpec.parse(text)) == text


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=40))
def test_any_text_parses_to_a_stable_spec_or_fails_on_one_line(text: str) -> None:
    try:
        spec = ModelSpec.parse(text)
    except ModelSpecError as err:
        assert "\n" not in str(err) and "model spec" in str(err)
    else:
        assert ModelSpec.parse(str(spec)) == spec


def test_parts_of_each_provider() -> None:
    assert ModelSpec.parse("local") == ModelSpec(provider="local", model=LOCAL_MODEL_NAME)
    assert ModelSpec.parse("anthropic:claude-sonnet-4-5").model == "claude-sonnet-4-5"
    vllm = ModelSpec.parse("vllm:HuggingFaceTB/SmolLM2-135M-Instruct")
    assert (vllm.provider, vllm.model) == ("vllm", "HuggingFaceTB/SmolLM2-135M-Instruct")
    openai = ModelSpec.parse("openai:my-model@http://10.0.0.2:8000/v1/")
    assert (openai.model, openai.base_url) == ("my-model", "http://10.0.0.2:8000/v1")


@pytest.mark.parametrize("text", ["", "claude", "anthropic:", "openai:m", "openai:m@ftp://x", "gpt:4"])
def test_bad_specs_raise(text: str) -> None:
    with pytest.raises(ModelSpecError, match="model spec"):
        ModelSpec.parse(text)
