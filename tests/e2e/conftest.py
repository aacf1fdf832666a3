"""Fixtures for the end-to-end hand-offs: a real sshd, a real `consign serve`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.serve import JOB_PORT, ROOT, RegistryServer, loopback_alias
from tests.e2e.sshd import SshServer

StartRegistry = Callable[..., RegistryServer]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    server = SshServer(tmp_path_factory.mktemp("rd-sshd")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[StartRegistry]:
    """Start fresh registries (own bare repo each) under gunicorn via `consign serve`."""
    started: list[RegistryServer] = []

    def start(env: dict[str, str] | None = None) -> RegistryServer:
        n = len(started)
        server = RegistryServer(
            tmp_path / f"registry{n}.git", tmp_path / f"serve{n}.log", env or {}
        )
        started.append(server.start())
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def registry_server(start_registry: StartRegistry) -> RegistryServer:
    return start_registry()


@pytest.fixture(scope="module")
def module_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """One registry shared by a module's tests, at ``http://127.x.y.z:9090``: the job files'
    valuesUrls, expanded with ``registry_host`` = that address, reach it as written."""
    d = tmp_path_factory.mktemp("rd-registry")
    host = loopback_alias()
    server = RegistryServer(d / "registry.git", d / "serve.log", host=host, port=JOB_PORT).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def deployer_image() -> str:
    """consignment:test, built exactly as CI builds it (same script as tests/image/)."""
    image = os.environ.get("CONSIGN_IMAGE", "consignment:test")
    done = subprocess.run(
        ["bash", ".ci/build-image.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "CONSIGN_IMAGE": image},
    )
    if done.returncode != 0:
        pytest.fail(f".ci/build-image.sh exited {done.returncode}:\n{done.stderr[-4000:]}")
    return image
