"""Fixtures for `consign publish`: a clean environment, a real `consign serve` on demand."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CONSIGN = [sys.executable, "-c", "from consign.cli import main; main()"]


@pytest.fixture(autouse=True)
def _no_ci_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the developer's CONSIGN_* nor a real Bamboo agent's bamboo_* may leak in."""
    for key in list(os.environ):
        if key.startswith(("CONSIGN_", "bamboo_")):
            monkeypatch.delenv(key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Serve:
    """`consign serve` (gunicorn) as a real process on a loopback port."""

    repo: Path
    log: Path
    port: int = field(default_factory=free_port)
    env: Mapping[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Serve:
        argv = [*CONSIGN, "serve", "--repo", str(self.repo), "--bind", f"127.0.0.1:{self.port}"]
        env = {**os.environ, **self.env}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=out, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"consign serve exited early:\n{self.log.read_text()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"consign serve did not answer in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """A registry not yet started (tests start it, possibly late, with .start())."""
    server = Serve(tmp_path / "registry.git", tmp_path / "serve.log")
    try:
        yield server
    finally:
        server.stop()


def consign_publish(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `consign publish ARGS` the way a Bamboo script task does: a process, env vars."""
    return subprocess.run(
        [*CONSIGN, "publish", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
