"""A fault-injecting HTTP proxy on loopback, for tests: it forwards POSTs to a real upstream server and
fails a share of them, every way a model server or the network fails.

Each arriving request draws from a seeded generator; with probability ``rate`` it gets the next fault
in round-robin order over FAULTS, else it is forwarded and the upstream's answer relayed. Faults:
``429`` (with retry-after), ``529`` (overloaded), ``500``, ``503``, ``408``, ``drop`` (connection closed
before the request reaches upstream) and ``lost`` (forwarded, answered upstream, then the connection is
closed: the server did the work and the client never sees it; a retry must not duplicate the answer).
"""

from __future__ import annotations

import json
import random
import socket
import threading
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("429", "529", "500", "503", "408", "drop", "lost")
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FaultProxy:
    """``url`` forwards to ``upstream``; ``faults`` counts what was injected, ``forwarded`` what went through."""

    def __init__(self, upstream: str, *, rate: float, seed: int = 0, retry_after_s: float = 0.2) -> None:
        self.upstream, self.rate, self.retry_after_s = upstream.rstrip("/"), rate, retry_after_s
        self.rng = random.Random(seed)
        self.faults: Counter[str] = Counter()
        self.forwarded = 0
        self._lock = threading.Lock()
        self._next_fault = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._relay(*owner.forward("GET", self.path, None))

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                fault = owner.draw()
                if fault == "drop":
                    self._drop()
                    return
                if fault in ("429", "529", "500", "503", "408"):
                    headers = {"retry-after": f"{owner.retry_after_s:g}"} if fault in ("429", "529") else {}
                    payload = {"type": "error", "error": {"type": "injected", "message": f"injected {fault}"}}
                    self._relay(int(fault), json.dumps(payload).encode(), headers)
                    return
                status, data, _ = owner.forward("POST", self.path, body)
                if fault == "lost":
                    self._drop()
                    return
                self._relay(status, data, {})

            def _relay(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on this attempt (its timeout)

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.close()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def draw(self) -> str | None:
        """The fault for the next arriving request, or None (forward it)."""
        with self._lock:
            if self.rng.random() >= self.rate:
                return None
            fault = FAULTS[self._next_fault % len(FAULTS)]
            self._next_fault += 1
            self.faults[fault] += 1
            return fault

    def forward(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(self.upstream + path, data=body, method=method,
                                         headers={"content-type": "application/json"})
        try:
            with _DIRECT.open(request, timeout=600) as response:
                data = response.read()
                status = response.status
        except urllib.error.HTTPError as err:
            data, status = err.read(), err.code
        if method == "POST":
            with self._lock:
                self.forwarded += 1
        return status, data, {}

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
