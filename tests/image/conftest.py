"""Containers of the Consignment image (built once per session: tests/conftest.py).

Every container and compose project made here is named ``cp-<random>`` and removed after
its test, because other suites share the same Docker Engine.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.deployer.helpers import take_down
from tests.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("CONSIGN_IMAGE", "consignment:test")
SOCKET = "/var/run/docker.sock"


def docker(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def unique(prefix: str = "cp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def socket_gid() -> str:
    return str(os.stat(SOCKET).st_gid)


@dataclass
class Running:
    name: str
    url: str


@pytest.fixture
def registry_container(consignment_image: str) -> Iterator[Running]:
    """The image's default command (`serve`) on a free loopback port; waits for /healthz."""
    name, port = unique(), free_port()
    # The image's own HEALTHCHECK, run every second instead of every 10 s: its test waits
    # for the first verdict, which otherwise comes 10 s after the start.
    docker(
        "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:9090", "--health-interval", "1s",
        consignment_image,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # docker-proxy accepts before gunicorn listens: keep asking
            if time.monotonic() > deadline:
                logs = docker("logs", name, check=False)
                pytest.fail(f"{name} never answered /healthz:\n{logs.stdout}{logs.stderr}")
            time.sleep(0.2)
        yield Running(name, url)
    finally:
        docker("rm", "-f", "-v", name, check=False)


@pytest.fixture
def project() -> Iterator[str]:
    """A unique compose project name, torn down afterwards however the test ended."""
    name = unique()
    yield name
    take_down(name)
