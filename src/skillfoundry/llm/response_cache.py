"""A content-addressed, on-disk cache of model answers, shared by runs.

The key hashes the endpoint's identity, the model, the messages, the sampling settings and the seed;
only seeded requests are cached (an unseeded request is a fresh sample every time). Entries are
single JSON files written atomically (temp file + rename), so concurrent runs never see half an entry;
an unreadable entry is a miss, never an error.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ValidationError

from skillfoundry.ids import content_id
from skillfoundry.llm.spec import Endpoint

CACHE_VERSION = "v1"


class CachedAnswer(BaseModel):
    """What a cache entry holds: a successful answer."""

    text: str
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


def request_key(endpoint: Endpoint, messages: list[dict[str, str]], sampling: dict[str, object]) -> str:
    """The cache key of one request (long enough that collisions are not a concern)."""
    return content_id(CACHE_VERSION, endpoint.identity(), endpoint.model, messages, sampling, length=40)


class ResponseCache:
    """Answers under ``root``, one file per key (``root/ab/abcdef....json``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedAnswer | None:
        """The stored answer, or None (absent or unreadable)."""
        try:
            return CachedAnswer.model_validate_json(self._path(key).read_bytes())
        except (OSError, ValidationError, ValueError):
            return None

    def put(self, key: str, answer: CachedAnswer) -> None:
        """Store an answer atomically (last writer wins; equal keys hold equal requests)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(answer.model_dump(mode="json"), out)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
