"""`consign publish` fails in one line with exit code 7 (PUBLISH_FAILED), whatever the
answer: no traceback ever reaches the build log. A --registry that is not an http(s) URL is
a usage error (exit 2) before anything is sent."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.publish.conftest import consign_publish
from tests.serving import free_port

FRAGMENT = "services:\n  web:\n    image: busybox\n"


def _one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == ExitCode.PUBLISH_FAILED, done
    stderr = done.stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: consign publish: ")
    return lines[0]


def _publish(tmp_path: Path, registry: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "docker-compose.yml"
    path.write_text(FRAGMENT)
    return consign_publish(
        str(path), "-a", "A", "-r", "R", "--registry", registry, "--attempts", "1"
    )


@pytest.mark.parametrize(
    "registry",
    ["localhost:9090", "127.0.0.1:9090", "ftp://127.0.0.1/x", "http://", "http://[::1", ""],
)
def test_a_registry_that_is_not_an_http_url_is_a_usage_error(tmp_path: Path, registry: str) -> None:
    done = _publish(tmp_path, registry)
    assert done.returncode == ExitCode.USAGE, done
    assert "Invalid value for '--registry'" in done.stderr and "Traceback" not in done.stderr
    assert "check --registry or CONSIGN_REGISTRY" in done.stderr


ANSWERS = {
    "/list": (201, b"[]"),
    "/string": (201, b'"created"'),
    "/versions-not-a-list": (201, b'{"versions": "v1"}'),
    "/versions-of-numbers": (201, b'{"versions": [1, 2]}'),
    "/not-json": (201, b"<html>created</html>"),
    "/redirect-loop": (302, b""),
}


class _Odd(BaseHTTPRequestHandler):
    """A registry impostor on loopback: answers every PUT with ANSWERS[path]."""

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        prefix = self.path.removesuffix("/fragment")
        status, body = ANSWERS[prefix]
        self.send_response(status)
        if status == 302:
            self.send_header("Location", self.path)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def impostor() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Odd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path", sorted(ANSWERS))
def test_an_unexpected_answer_is_one_line(tmp_path: Path, impostor: str, path: str) -> None:
    line = _one_line_failure(_publish(tmp_path, impostor + path))
    assert impostor in line


def test_an_unreachable_registry_is_one_line_in_words(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = _one_line_failure(_publish(tmp_path, url))
    assert line == (
        f"error: consign publish: publishing {tmp_path / 'docker-compose.yml'} to {url} failed: "
        "gave up after 1 attempts: connection refused (nothing listens there); check the URL "
        "(--registry, CONSIGN_REGISTRY) and that the registry runs there"
    )
