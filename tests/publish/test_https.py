"""`consign publish` to a registry served over HTTPS (`consign serve --certfile`) whose
certificate comes from a private CA: --ca-file, REQUESTS_CA_BUNDLE, or a clear failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.publish.conftest import consign_publish
from tests.serving import ServedRegistry, private_ca


@pytest.fixture
def https(tmp_path: Path) -> Iterator[ServedRegistry]:
    tls = private_ca(tmp_path)
    server = ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", workers=1, tls=tls)
    with server.start():
        yield server


@pytest.fixture
def fragment(tmp_path: Path) -> Path:
    path = tmp_path / "docker-compose.yml"
    path.write_text("services:\n  web: {image: busybox:latest}\n")
    return path


def args(server: ServedRegistry, fragment: Path) -> list[str]:
    return [str(fragment), "-a", "App", "-r", "R", "--registry", server.url, "--attempts", "1"]


def test_ca_file_option_and_requests_ca_bundle_are_trusted(
    https: ServedRegistry, fragment: Path
) -> None:
    done = consign_publish(*args(https, fragment), "--ca-file", str(https.verify))
    assert done.returncode == 0, done.stderr
    assert "App / R v1" in done.stdout
    fragment.write_text("services:\n  web: {image: busybox:1}\n")
    done = consign_publish(*args(https, fragment), env={"REQUESTS_CA_BUNDLE": str(https.verify)})
    assert done.returncode == 0, done.stderr
    assert "App / R v2" in done.stdout


def test_an_untrusted_certificate_fails_at_once_saying_so(
    https: ServedRegistry, fragment: Path
) -> None:
    done = consign_publish(*args(https, fragment)[:-2], "--attempts", "5", "--backoff", "30")
    assert done.returncode == ExitCode.PUBLISH_FAILED
    assert "TLS verification failed" in done.stderr
    assert "retrying" not in done.stderr  # a certificate problem is not retried
