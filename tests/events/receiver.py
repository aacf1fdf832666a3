"""A real HTTP receiver for webhook tests: a threaded ``http.server`` on loopback that
records every request and answers what its ``answer`` says (a status, after a delay)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() when it arrived
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``answer(request) -> (status, delay seconds)``; 200 at once by default."""

    answer: Callable[[Received], tuple[int, float]] = lambda _r: (200, 0.0)
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def start(self, tls: ssl.SSLContext | None = None) -> Receiver:
        """Listen on loopback; over HTTPS with ``tls`` (a server context)."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(
                    time.monotonic(), self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                status, delay = owner.answer(got)
                if delay:
                    time.sleep(delay)
                with owner._arrived:
                    owner.received.append(got)
                    owner._arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def wait_for(self, check: Callable[[list[Received]], bool], timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not check(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"not received in {timeout}s: {self.received!r}")
                self._arrived.wait(left)
            return list(self.received)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
