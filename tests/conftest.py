"""Shared fixtures and the rules for tests that need real components.

Tests that need a Docker Engine carry ``@pytest.mark.docker``. Where no engine answers
they are skipped with the reason shown; with ``CONSIGN_REQUIRE_DOCKER=1`` (set by
``.ci/run``) that skip becomes a failure, so CI always runs them. ``ssh`` works the same
with ``CONSIGN_REQUIRE_SSH=1``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CONSIGN_SHARED", ROOT.parent / "shared"))
SEED = SHARED / "seed"
CORPUS = SHARED / "corpus"

# A shell without job control starts background commands with SIGINT ignored, and an
# ignored signal stays ignored across exec: run that way (`make test &`), every deployer and
# git the tests start would ignore the Ctrl-C the tests send them. A handler is reset to
# the default on exec, so with Python's own handler here the children get SIGINT as from a
# terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _docker_problem() -> str | None:
    """Why Docker tests cannot run here, or None when engine and Compose v2 answer."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    if info.returncode != 0:
        return f"no Docker Engine answers: {info.stderr.strip()[:200]}"
    compose = subprocess.run(
        ["docker", "compose", "version", "--short"], capture_output=True, text=True, timeout=20
    )
    if compose.returncode != 0:
        return "Compose v2 is not installed as a docker CLI plugin (run `make compose-plugin`)"
    probe = subprocess.run(
        ["docker", "image", "inspect", "busybox:latest"], capture_output=True, timeout=20
    )
    if probe.returncode != 0:
        return "no local busybox:latest image (run `bash .ci/provision.sh`)"
    return None


def _sshd_problem() -> str | None:
    if not (shutil.which("sshd") or Path("/usr/sbin/sshd").exists()):
        return "openssh-server (sshd) is not installed"
    if shutil.which("ssh") is None:
        return "no ssh client"
    return None


CHROMIUM = Path("/usr/bin/chromium")


def _browser_problem() -> str | None:
    if not CHROMIUM.exists():
        return f"no Debian chromium at {CHROMIUM} (run `bash .ci/provision.sh`)"
    return None


_PROBLEMS: dict[str, str | None] = {}


def _problem(kind: str) -> str | None:
    if kind not in _PROBLEMS:
        checks = {"docker": _docker_problem, "ssh": _sshd_problem, "browser": _browser_problem}
        _PROBLEMS[kind] = checks[kind]()
    return _PROBLEMS[kind]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for kind, env in (
        ("docker", "CONSIGN_REQUIRE_DOCKER"),
        ("ssh", "CONSIGN_REQUIRE_SSH"),
        ("browser", "CONSIGN_REQUIRE_BROWSER"),
    ):
        if item.get_closest_marker(kind) is None:
            continue
        problem = _problem(kind)
        if problem is None:
            continue
        if os.environ.get(env) == "1":
            pytest.fail(f"{kind} is required here ({env}=1) but: {problem}", pytrace=False)
        pytest.skip(f"{kind} unavailable: {problem}")


@pytest.fixture(scope="session", autouse=True)
def _servers_stopped_at_the_end() -> Iterator[None]:
    """Registries a fixture stopped without waiting (ServedRegistry.stop_soon) are gone
    when the session ends."""
    from tests.serving import STOPPING

    yield
    STOPPING.wait_all()


@pytest.fixture(scope="session")
def seed_text() -> str:
    files = sorted(SEED.glob("*.txt"))
    if not files:
        pytest.skip(f"seed notes not found under {SEED}")
    return files[0].read_text()


@pytest.fixture(scope="session")
def consignment_image() -> str:
    """The Consignment image, built once per session by .ci/build-image.sh exactly as CI
    builds it (the base image is cached); the script's log on failure."""
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


@pytest.fixture
def docker_client() -> Iterator[object]:
    import docker

    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()
