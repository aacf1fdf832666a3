"""The shared `consign serve` helper itself: the suites that use it trust these paths."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from tests.serving import ServedRegistry, free_port, loopback_alias


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
