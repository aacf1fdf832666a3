"""Start a real `consign serve` (gunicorn) on a free port for end-to-end tests."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.e2e.sshd import free_port

ROOT = Path(__file__).resolve().parents[2]
#: The port the job files write into every valuesUrl (the registry's default).
JOB_PORT = 9090


def loopback_alias(port: int = JOB_PORT) -> str:
    """A random 127.x.y.z where ``port`` is free: a registry there answers the job files'
    ``http://${globals.registry_host}:9090`` without taking 127.0.0.1:9090 from anyone."""
    for _ in range(20):
        a, b, c = (secrets.randbelow(n) for n in (250, 256, 254))
        host = f"127.{a + 2}.{b}.{c + 1}"
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return host
    raise RuntimeError(f"no free loopback address for port {port}")


@dataclass
class RegistryServer:
    repo: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30) -> RegistryServer:
        self.port = self.port or free_port()
        argv = [sys.executable, "-c", "from consign.cli import main; main()", "serve"]
        argv += ["--repo", str(self.repo), "--bind", f"{self.host}:{self.port}"]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "CONSIGN_WORKERS": "2", **self.env},
            )
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"consign serve exited early:\n{self.log.read_text()}")
            try:
                requests.get(f"{self.url}/healthz", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"consign serve did not answer in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # gunicorn: quick shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def publish(
    registry: str,
    compose_file: Path,
    application: str,
    release: str,
    *,
    component: str | None = None,
    build: dict[str, str] | None = None,
    token: str | None = None,
) -> str:
    """Publish with the real `consign publish` client (in process), as a Bamboo task would."""
    from click.testing import CliRunner

    from consign.cli import main

    argv = ["publish", str(compose_file), "-a", application, "-r", release, "--registry", registry]
    argv += ["-c", component] if component else []
    env: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("bamboo_", "CONSIGN_"))
    }
    env.update(build or {})
    env["CONSIGN_TOKEN"] = token
    result = CliRunner(env=env).invoke(main, argv, catch_exceptions=False)
    if result.exit_code != 0:
        raise AssertionError(f"consign publish exited {result.exit_code}: {result.output}")
    return result.output
