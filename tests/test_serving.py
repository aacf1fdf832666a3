"""The shared `consign serve` helper itself: the suites that use it trust these paths."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.serving import ServedRegistry, ephemeral_ports, free_port, loopback_alias


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_port_is_known_before_start_and_workers_are_counted(tmp_path: Path) -> None:
    server = ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", workers=2)
    assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
    with server.start():
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        # /healthz answers as soon as one worker is up; the other may still be booting
        deadline = time.monotonic() + 30
        while len(server.worker_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(server.worker_pids()) == 2
        pid = server.proc.pid if server.proc else 0
    assert server.proc is None and pid and gone(pid)
    server.stop()  # a second stop is harmless


def test_developer_consign_settings_do_not_leak_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSIGN_MAX_BODY_BYTES", "0")  # would make `consign serve` refuse
    with ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", workers=1).start() as s:
        assert requests.get(f"{s.url}/healthz", timeout=10).status_code == 200


def test_early_exit_quotes_the_log(tmp_path: Path) -> None:
    env = {"CONSIGN_MAX_BODY_BYTES": "0"}
    server = ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", env=env)
    with pytest.raises(RuntimeError, match="exited early") as info:
        server.start()
    assert "CONSIGN_MAX_BODY_BYTES" in str(info.value)
    assert server.proc is None


def test_no_answer_in_time_stops_the_server_and_quotes_the_log(tmp_path: Path) -> None:
    server = ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", workers=1)
    with pytest.raises(RuntimeError, match=r"did not answer in 0s:\n") as info:
        server.start(timeout=0)
    assert str(info.value).endswith(server.log.read_text())
    assert server.proc is None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/healthz", timeout=10)


def test_loopback_alias_with_a_chosen_port(tmp_path: Path) -> None:
    port = free_port()
    host = loopback_alias(port)
    assert host.startswith("127.") and host != "127.0.0.1"
    server = ServedRegistry(tmp_path / "r.git", tmp_path / "s.log", host=host, port=port, workers=1)
    assert server.url == f"http://{host}:{port}"
    with server.start():
        assert requests.get(f"http://{host}:{port}/healthz", timeout=10).status_code == 200


def test_free_ports_are_below_the_kernels_own_choices_and_free() -> None:
    low, _ = ephemeral_ports()
    for port in {free_port() for _ in range(20)}:
        assert port < low  # never the local port of an outgoing connection meanwhile
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def someone_else() -> Iterator[int]:
    """A server that is not ours answering 200 everywhere, on a port of its own."""
    other = ThreadingHTTPServer(("127.0.0.1", free_port()), _Healthy)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(other.server_address[1])
    finally:
        other.shutdown()
        other.server_close()
        thread.join(10)


def test_a_port_taken_by_someone_else_is_never_mistaken_for_ours(
    tmp_path: Path, someone_else: int
) -> None:
    """The 200 from /healthz is not enough: gunicorn could not bind the port, and the
    answer came from the other server. start() fails and quotes why."""
    server = ServedRegistry(tmp_path / "r.git", tmp_path / "s.log", port=someone_else, workers=1)
    with pytest.raises(RuntimeError, match=r"exited early|did not answer") as info:
        server.start()
    assert "in use" in str(info.value)  # gunicorn's "Connection in use"
    assert server.proc is None
