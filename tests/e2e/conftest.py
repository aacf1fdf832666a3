"""Fixtures for the end-to-end hand-offs: a real sshd, a real `consign serve`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.deployer.helpers import take_down
from tests.e2e.sshd import SshServer
from tests.serving import ServedRegistry, loopback_alias, serving

StartRegistry = Callable[..., ServedRegistry]
IMAGE_UID = 10001  # the image's user `consign` (Dockerfile)


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
    started: list[ServedRegistry] = []

    def start(env: dict[str, str] | None = None) -> ServedRegistry:
        n = len(started)
        server = ServedRegistry(
            tmp_path / f"registry{n}.git", tmp_path / f"serve{n}.log", env or {}, workers=2
        )
        started.append(server.start())
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop_soon()


@pytest.fixture
def registry_server(start_registry: StartRegistry) -> ServedRegistry:
    return start_registry()


@pytest.fixture(scope="module")
def module_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    """One registry shared by a module's tests, on a free port of a random 127.x.y.z: the job
    files' valuesUrls, expanded with ``registry_host`` and ``registry_port``, reach it."""
    d = tmp_path_factory.mktemp("rd-registry")
    host = loopback_alias()
    server = ServedRegistry(d / "registry.git", d / "serve.log", host=host, workers=2)
    with serving(server):
        yield server


@pytest.fixture
def project() -> Iterator[str]:
    """A unique Compose project name; the project is taken down after the test."""
    name = f"rd-{uuid.uuid4().hex[:10]}"
    yield name
    take_down(name)


@pytest.fixture(scope="module")
def deployer_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Docker host's work folder (the jobs' ``globals.deployer_workdir``), writable by
    the image's user (uid 10001) as docs/rundeck.md has it created."""
    folder = tmp_path_factory.mktemp("rd-workdir")
    os.chown(folder, IMAGE_UID, IMAGE_UID)
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="session")
def deployer_image(consignment_image: str) -> str:
    """The image the Rundeck jobs start: the one tests/conftest.py builds as CI does."""
    return consignment_image
