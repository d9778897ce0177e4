"""What a sandboxed check may leave in a stored grade: text clipped to a size and scrubbed of secrets."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

REDACTED = "[redacted]"
#: Shapes of credentials, wherever they came from (the answer, the check's prints, an exception message).
SECRET_SHAPES = re.compile(
    "|".join(
        [
            r"sk-ant-[A-Za-z0-9_\-]{8,}",  # Anthropic
            r"\bsk-[A-Za-z0-9_\-]{16,}",  # OpenAI and look-alikes
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key id
            r"(?i:aws_secret_access_key)\s*[=:]\s*\S+",
            r"(?i:bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*",
            r"\bgh[pousr]_[A-Za-z0-9]{20,}",  # GitHub
            r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face
            r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack
            r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWT
        ]
    )
)
#: Environment variables whose values are secrets by name.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL", re.IGNORECASE)
MIN_SECRET_CHARS = 6


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of the variables in ``environ`` named like secrets, longest first (so none hides another)."""
    values = {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_CHARS}
    return sorted(values, key=len, reverse=True)


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every credential-shaped string and every secret value of ``environ`` (default: this
    process's environment) replaced by ``[redacted]``."""
    for value in secret_values(os.environ if environ is None else environ):
        text = text.replace(value, REDACTED)
    return SECRET_SHAPES.sub(REDACTED, text)


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters: the end of ``text`` (where errors are), marked when cut."""
    return text if len(text) <= limit else "[...] " + text[-(limit - 6) :]


def stored(text: str, limit: int, environ: Mapping[str, str] | None = None) -> str:
    """Text fit to store: scrubbed first (so clipping cannot cut a secret into an unrecognisable piece),
    then clipped."""
    return clip(scrub(text, environ), limit)
