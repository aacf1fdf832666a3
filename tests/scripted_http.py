"""A real HTTP server on loopback that answers a script, one step per request: what the
client's urllib3 retries meet (requests-mock replaces the adapter that retries, so it
cannot show them)."""

from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"


@dataclass(frozen=True)
class Drop:
    """Close the connection without an answer (RemoteDisconnected at the client)."""


@dataclass(frozen=True)
class Stall:
    """Answer ``then`` only after ``seconds`` (longer than the client's read timeout)."""

    seconds: float
    then: Answer


Step = Answer | Drop | Stall


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedServer:
    """``script``: the steps, in order; the last one repeats once the others are used."""

    script: list[Step]
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                owner.received.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
                index = min(len(owner.received), len(owner.script)) - 1
                step = owner.script[index]
                if isinstance(step, Drop):
                    self.close_connection = True
                    return
                if isinstance(step, Stall):
                    time.sleep(step.seconds)
                    step = step.then
                self.send_response(step.status)
                self.send_header("Content-Type", step.content_type)
                self.send_header("Content-Length", str(len(step.body)))
                self.end_headers()
                self.wfile.write(step.body)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
