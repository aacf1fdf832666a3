"""`consign deploy --registry https://…` against `consign serve --certfile/--keyfile` whose
certificate comes from a CA made by the test: --ca-file, REQUESTS_CA_BUNDLE, or exit 5
saying the certificate is not trusted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.helpers import deploy
from tests.e2e.serve import publish
from tests.serving import ServedRegistry, private_ca

pytestmark = pytest.mark.docker


@pytest.fixture
def https(tmp_path: Path) -> Iterator[ServedRegistry]:
    tls = private_ca(tmp_path)
    with ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", workers=1, tls=tls) as server:
        yield server.start()


def test_deploy_from_an_https_registry(
    tmp_path: Path, project: str, https: ServedRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    fragment = tmp_path / "docker-compose.yml"
    fragment.write_text("services:\n  web: {image: busybox:latest, command: sleep 100000}\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https.verify))
    publish(https.url, fragment, "App", "R", component="web")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    args = ("App", "R", "1", "--registry", https.url, "--project", project, "--stable", "1")

    untrusted = deploy(tmp_path, *args)
    assert untrusted.code == ExitCode.REGISTRY_UNREACHABLE, untrusted.output
    assert "TLS verification failed" in untrusted.output and "--ca-file" in untrusted.output

    done = deploy(tmp_path, *args, "--ca-file", str(https.verify))
    assert done.code == ExitCode.OK, done.output
    assert done.report["location"] == https.url and done.report["commit"]

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https.verify))
    again = deploy(tmp_path, *args)
    assert again.code == ExitCode.OK, again.output
    assert again.verdicts() == {"web": "running"}
