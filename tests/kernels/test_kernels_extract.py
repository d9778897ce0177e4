"""Pulling CUDA code out of model answers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.kernels import extract_cuda_source

KERNEL = 'extern "C" __global__ void relu(const float* x, float* out, int n) {\n  out[0] = x[0];\n}\n'


def test_fenced_languages():
    for lang in ("cuda", "cpp", "c++", "c", "cu", ""):
        assert extract_cuda_source(f"Sure.\n```{lang}\n{KERNEL}```\nThanks") == KERNEL


def test_prefers_block_with_global_then_entry_point_then_last():
    helper = "__device__ float sq(float v) { return v * v; }\n"
    other = 'extern "C" __global__ void other(float* y) { y[0] = 0; }\n'
    answer = f"```cpp\n{helper}```\n```cuda\n{KERNEL}```\n```cuda\n{other}```\n"
    assert extract_cuda_source(answer) == other
    assert extract_cuda_source(answer, ["relu"]) == KERNEL


def test_code_block_without_kernel_is_still_returned():
    assert extract_cuda_source("```cpp\nint main() { return 0; }\n```") == "int main() { return 0; }\n"


def test_other_languages_and_prose_give_none():
    assert extract_cuda_source("```python\nprint('__global__')\n```") is None
    assert extract_cuda_source("I cannot write that kernel.") is None
    assert extract_cuda_source("") is None
    assert extract_cuda_source("```cuda\n\n```") is None


def test_raw_text_and_unclosed_fence():
    assert extract_cuda_source(KERNEL) == KERNEL
    assert extract_cuda_source(f"Here:\n```cuda\n{KERNEL}") == KERNEL  # answer cut off by max_tokens


def test_tilde_fences_and_longer_fences():
    assert extract_cuda_source(f"~~~cuda\n{KERNEL}~~~\n") == KERNEL
    assert extract_cuda_source(f"````cuda\n{KERNEL}```\nstill code\n````\n") == KERNEL + "```\nstill code\n"


prose = st.text(alphabet=st.characters(blacklist_characters="`~_", blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=50, deadline=None)
@given(before=prose, after=prose, lang=st.sampled_from(["cuda", "cpp", "c++", "c", ""]))
def test_code_is_recovered_from_any_surrounding_prose(before: str, after: str, lang: str):
    answer = f"{before}\n```{lang}\n{KERNEL}```\n{after}"
    assert extract_cuda_source(answer) == KERNEL


@settings(max_examples=50, deadline=None)
@given(prose)
def test_prose_without_code_gives_none(text: str):
    assert extract_cuda_source(text) is None
