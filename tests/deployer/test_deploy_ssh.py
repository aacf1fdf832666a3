"""Deploy to a "developer's machine" over ssh:// (a real sshd on 127.0.0.1 in front of this
engine). Compose reaches it through the docker CLI's ssh helper; the Docker SDK needs
paramiko for ssh:// even when it shells out to `ssh`, so this test is skipped until that
dependency is installed (without it the deploy exits ENGINE_UNREACHABLE, as checked below).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import scenario
from tests.deployer.helpers import consign, containers
from tests.e2e.sshd import SshServer

pytestmark = [pytest.mark.docker, pytest.mark.ssh]


@pytest.fixture
def ssh_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An ssh:// DOCKER_HOST; an `ssh` wrapper on PATH supplies the test's key."""
    server = SshServer(tmp_path / "sshd").start()
    wrapper = tmp_path / "bin" / "ssh"
    wrapper.parent.mkdir()
    known = tmp_path / "known_hosts"
    wrapper.write_text(
        f"#!/bin/sh\nexec /usr/bin/ssh -i {server.client_key} -o StrictHostKeyChecking=no "
        f'-o UserKnownHostsFile={known} -o BatchMode=yes -o LogLevel=ERROR "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}:{os.environ['PATH']}")
    try:
        yield f"ssh://{server.user}@127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_deploy_status_down_over_ssh(tmp_path: Path, project: str, ssh_host: str) -> None:
    path = tmp_path / "crashloop.yml"
    path.write_text(scenario("crashloop.yml"))
    args = ("--file", str(path), "--project", project, "--host", ssh_host, "--stable", "1")
    code, out = consign("deploy", *args)
    if importlib.util.find_spec("paramiko") is None:
        assert code == ExitCode.ENGINE_UNREACHABLE and "paramiko" in out, out
        pytest.skip("the Docker SDK needs paramiko for ssh:// (not installed)")
    assert code == ExitCode.FAILED, out
    assert "crash-looping" in out
    code, out = consign("status", "--project", project, "--host", ssh_host)
    assert code == ExitCode.FAILED and "crash-looping" in out
    code, out = consign("down", "--project", project, "--host", ssh_host)
    assert code == ExitCode.OK, out
    assert containers(project) == []
