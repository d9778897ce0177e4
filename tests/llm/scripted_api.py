"""A scripted model server for tests: real HTTP on 127.0.0.1, answering POSTs from a queue.

Each POST gets the next scripted Reply (status, JSON body, headers, delay) and is recorded, so
tool-call, retry and error paths can be driven exactly; SmolLM2 itself never calls tools.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from skillfoundry.llm.spec import Endpoint, ModelSpec


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Seen:
    path: str
    body: Any


class ScriptedServer:
    """Answers each POST with the next scripted Reply (500 'script exhausted' when none is left)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._send(Reply(body={"status": "ok"}))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                with owner._lock:
                    owner.requests.append(Seen(self.path, json.loads(raw) if raw else None))
                    reply = owner.replies.popleft() if owner.replies else Reply(500, {"error": "script exhausted"})
                time.sleep(reply.delay_s)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def endpoint(self, spec: str, api: str) -> Endpoint:
        parsed = ModelSpec.parse(spec)
        return Endpoint(spec=parsed, api=api, base_url=self.url, model=parsed.model, api_key="test-key")  # type: ignore[arg-type]


def message(content: list[dict[str, Any]], stop_reason: str, *, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """A Messages-API response body."""
    return {
        "id": "msg_scripted", "type": "message", "role": "assistant", "model": "scripted",
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def chat_completion(text: str, *, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """An OpenAI chat-completions response body."""
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
