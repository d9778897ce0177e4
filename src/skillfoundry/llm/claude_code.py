"""Import a Claude Code session (its ``~/.claude/projects/.../SESSION.jsonl``) as a teacher trace.

Each line of the file is one event: ``user`` and ``assistant`` lines carry a Messages-API ``message``;
``summary``, ``system`` and other lines carry none and are skipped, as are sub-agent lines
(``isSidechain``). One API response may be written as several ``assistant`` lines sharing a message id
(one per content block): they are merged into one message and their usage counted once. The result is
the same conversation shape the agent loop records (``[{"role", "content": [blocks]}]``), so skill
extraction reads it like a captured trace; tokens and dollars come from the recorded usage.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from skillfoundry.ids import canonical_json, content_id
from skillfoundry.llm.pricing import cost_usd
from skillfoundry.llm.spec import ModelSpec
from skillfoundry.storage.records import TraceRecord


class SessionFormatError(ValueError):
    """A line of a session file that is not what Claude Code writes (names the file and line)."""


class _Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(b, dict) for b in content):
        return list(content)
    raise ValueError(f"message content: expected a string or a list of blocks, got {type(content).__name__}")


def read_session(path: Path) -> list[dict[str, Any]]:
    """The session's events that carry a message, in file order; SessionFormatError on a bad line."""
    events = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                if not isinstance(event, dict):
                    raise ValueError("expected a JSON object")
                if event.get("type") not in ("user", "assistant") or event.get("isSidechain"):
                    continue
                message = event.get("message")
                if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                    raise ValueError("a user/assistant line needs message.role 'user' or 'assistant'")
                message = {**message, "content": _blocks(message.get("content"))}
            except ValueError as err:
                raise SessionFormatError(f"{path}:{number}: {err}") from None
            events.append({**event, "message": message})
    if not events:
        raise SessionFormatError(f"{path}: no user or assistant messages (is it a Claude Code session .jsonl?)")
    return events


def session_trace(path: Path, *, run_id: str) -> TraceRecord:
    """A trace row for the session in ``path``."""
    events = read_session(path)
    messages: list[dict[str, Any]] = []
    usage: dict[str, _Usage] = {}
    models: list[str] = []
    last_id: str | None = None
    for event in events:
        message = event["message"]
        role, blocks = message["role"], message["content"]
        msg_id = message.get("id") if role == "assistant" else None
        if role == "assistant" and message.get("model"):
            models.append(message["model"])
        if msg_id and msg_id in usage and "usage" in message:
            usage[msg_id] = _Usage.model_validate(message["usage"])
        elif msg_id:
            usage[msg_id] = _Usage.model_validate(message.get("usage") or {})
        same_response = msg_id is not None and msg_id == last_id
        if messages and (same_response or (messages[-1]["role"] == role and role == "user")):
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": list(blocks)})
        last_id = msg_id
    model = next((m for m in reversed(models) if m != "<synthetic>"), "unknown")
    spec = ModelSpec(provider="anthropic", model=model)
    total = _Usage(**{f: sum(getattr(u, f) for u in usage.values()) for f in _Usage.model_fields})
    stamps = [datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) for e in events if e.get("timestamp")]
    texts = [b.get("text", "") for m in messages if m["role"] == "assistant" for b in m["content"] if b.get("type") == "text"]
    messages_json = canonical_json(messages)
    session = str(events[0].get("sessionId") or path.stem)
    return TraceRecord(
        run_id=run_id,
        trace_id=content_id(run_id, "claude-code", session, messages_json),
        task_id=f"claude-code:{session}",
        model=str(spec),
        messages_json=messages_json,
        tool_calls=sum(b.get("type") == "tool_use" for m in messages for b in m["content"]),
        turns=len(usage),
        input_tokens=total.input_tokens + total.cache_creation_input_tokens + total.cache_read_input_tokens,
        output_tokens=total.output_tokens,
        cost_usd=cost_usd(spec, input_tokens=total.input_tokens, output_tokens=total.output_tokens,
                          cache_write_tokens=total.cache_creation_input_tokens,
                          cache_read_tokens=total.cache_read_input_tokens),
        latency_s=(max(stamps) - min(stamps)).total_seconds() if stamps else 0.0,
        stop_reason="imported",
        final_text=texts[-1] if texts else "",
    )
