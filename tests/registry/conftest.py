"""Fixtures for the registry's HTTP tests: a fresh bare repo per test (checked with
``git fsck --strict`` afterwards), the Flask app and client on it, and a real gunicorn
``consign serve`` on a free loopback port."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from consign.process import run
from registry.app import create_app

ROOT = Path(__file__).resolve().parents[2]
OPEN = {"PUBLISH_TOKENS": "", "READ_TOKENS": "", "PUBLISH_TOKENS_FILE": "", "READ_TOKENS_FILE": ""}


def b64(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(data).decode("ascii")


def refs(repo: Path) -> dict[str, str]:
    """Every ref of the repo and what it points at ({} before the repo exists)."""
    if not repo.exists():
        return {}
    out = run(["git", "--git-dir", str(repo), "for-each-ref", "--format=%(refname) %(objectname)"])
    return dict(line.split(" ", 1) for line in out.stdout.splitlines())


def objects(repo: Path) -> set[str]:
    """Every file under objects/ (loose objects and packs): proves nothing was written."""
    root = repo / "objects"
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


def fsck(repo: Path) -> None:
    if (repo / "HEAD").exists():
        result = run(["git", "--git-dir", str(repo), "fsck", "--strict"], check=False)
        assert result.returncode == 0, f"git fsck --strict failed:\n{result.stdout}{result.stderr}"


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """The bare repo path; `git fsck --strict` must be clean when the test ends."""
    path = tmp_path / "registry.git"
    yield path
    fsck(path)


@pytest.fixture
def make_app(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A factory: make_app(**config) -> Flask on `repo`, with no CONSIGN_* leaking in."""
    for key in list(os.environ):
        if key.startswith("CONSIGN_"):
            monkeypatch.delenv(key)

    def make(**config: Any) -> Flask:
        return create_app({"REPO": str(repo), "TESTING": True, **OPEN, **config})

    return make


@pytest.fixture
def app(make_app: Any) -> Flask:
    made: Flask = make_app()
    return made


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def publish(
    client: FlaskClient, fragment: str, apps: list[str], rels: list[str], **extra: Any
) -> Any:
    body = {"fragment": b64(fragment), "applications": apps, "releases": rels, **extra}
    return client.put("/fragment", json=body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    """A real `consign serve` (gunicorn master + workers) on a loopback port."""

    repo: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 4
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Served:
        self.port = free_port()
        argv = [sys.executable, "-c", "from consign.cli import main; main()", "serve"]
        argv += ["--repo", str(self.repo), "--bind", f"127.0.0.1:{self.port}"]
        argv += ["--workers", str(self.workers)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**env, **self.env}
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"consign serve exited early:\n{self.log.read_text()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"consign serve did not answer in {timeout}s:\n{self.log.read_text()}")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the master process."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def served(repo: Path, tmp_path: Path) -> Iterator[Served]:
    server = Served(repo, tmp_path / "serve.log").start()
    try:
        yield server
    finally:
        server.stop()
