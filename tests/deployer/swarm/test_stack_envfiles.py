"""A stack deploy from the real registry writes the version's env files next to the
descriptor too: the service gets the variable; an unattached one is refused (exit 4)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.helpers import consign
from tests.deployer.swarm.conftest import FAST, services, stack_deploy
from tests.serving import ServedRegistry

pytestmark = pytest.mark.docker


def test_env_files_reach_the_stack_and_a_missing_one_is_refused(
    tmp_path: Path, stack: str, served: ServedRegistry
) -> None:
    value = f"hello-{uuid.uuid4().hex[:8]}"
    (tmp_path / "app.env").write_text(f"GREETING={value}\n")
    fragment = tmp_path / "docker-compose.yml"
    fragment.write_text(
        "services:\n  app:\n    image: busybox:latest\n    command: sleep 100000\n"
        "    env_file: app.env\n"
    )
    argv = ["publish", str(fragment), "-a", "Env", "-c", "app"]
    argv += ["--registry", served.url, "--attempts", "1"]
    code, output = consign(*argv, "-r", "R", "--with-env-files")
    assert code == ExitCode.OK, output
    code, output = consign(*argv, "-r", "Bare")  # not attached
    assert code == ExitCode.OK, output

    args = ("--orchestrator", "swarm", "--registry", served.url, "--project", stack, *FAST)
    r = stack_deploy(tmp_path, "Env", "R", "1", *args)
    assert r.code == ExitCode.OK, r.output
    env = services(stack)["app"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert f"GREETING={value}" in env

    r = stack_deploy(tmp_path, "Env", "Bare", "1", *args)
    assert r.code == ExitCode.INVALID_DESCRIPTOR, r.output
    assert "env_file 'app.env' is neither attached" in r.output
