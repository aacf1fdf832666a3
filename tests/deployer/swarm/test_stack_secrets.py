"""A secret whose source is the deploy host's environment (`secrets: {db: {environment:
DB_PASSWORD}}`), which `docker stack deploy` refuses, becomes a Docker secret named by its
content hash: the service reads it at /run/secrets/db, a new value makes a new secret and
the unused one goes, `consign down` removes it with the stack, and a source nobody
supplies is refused before anything is created (exit 4)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import docker
import pytest

from consign.exit_codes import ExitCode
from tests.deployer.helpers import consign
from tests.deployer.swarm.conftest import FAST, services, stack_deploy

pytestmark = pytest.mark.docker

DESCRIPTOR = """services:
  app:
    image: busybox:latest
    command: ["sleep", "100000"]
    stop_grace_period: 1s
    environment:
      GREETING: ${GREETING}
    secrets: [db]
secrets:
  db:
    environment: DB_PASSWORD
"""


def _ours(client: docker.DockerClient, stack: str) -> dict[str, str]:
    found = client.secrets.list(filters={"label": f"io.consignment.secret-of={stack}"})
    return {s.name: s.attrs["Spec"]["Labels"]["com.docker.stack.namespace"] for s in found}


def _read_by_task(client: docker.DockerClient, stack: str) -> str:
    (c,) = client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={stack}_app"}, ignore_removed=True
    )
    code, out = c.exec_run(["cat", "/run/secrets/db"])
    assert code == 0, out
    return bytes(out).decode()


def test_an_environment_sourced_secret_becomes_a_docker_secret(tmp_path: Path, stack: str) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(DESCRIPTOR)
    first, second = (f"s3cr3t-canary-{secrets.token_hex(6)}" for _ in range(2))
    args = ("--file", str(path), "--project", stack, *FAST)
    client = docker.from_env()
    try:
        r = stack_deploy(tmp_path, *args, env={"DB_PASSWORD": None, "GREETING": "x"})  # type: ignore[dict-item]
        assert r.code == ExitCode.INVALID_DESCRIPTOR, r.output
        assert "DB_PASSWORD (used by top-level secrets.db, service app)" in r.output
        assert services(stack) == {} and _ours(client, stack) == {}

        r = stack_deploy(tmp_path, *args, env={"DB_PASSWORD": first, "GREETING": "from-env"})
        assert r.code == ExitCode.OK, r.output
        (name,) = _ours(client, stack)
        assert name.startswith(f"{stack}_db_") and _ours(client, stack)[name] == stack
        assert _read_by_task(client, stack) == first

        env_file = tmp_path / "host.env"  # a new value, from the env file this time
        env_file.write_text(f"DB_PASSWORD={second}\nGREETING=from-file\n")
        env_file.chmod(0o600)
        no_env: dict[str, Any] = {"DB_PASSWORD": None, "GREETING": None}  # unset them
        r = stack_deploy(tmp_path, *args, "--env-file", str(env_file), env=no_env)
        assert r.code == ExitCode.OK, r.output
        (renamed,) = _ours(client, stack)  # the first one, unused now, is gone
        assert renamed != name and _read_by_task(client, stack) == second
        spec = services(stack)["app"]["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert "GREETING=from-file" in spec["Env"]  # docker stack deploy got the file's value
        assert first not in r.output and second not in r.output

        code, out = consign("down", "--orchestrator", "swarm", "--project", stack)
        assert code == ExitCode.OK, out
        assert _ours(client, stack) == {}  # `docker stack rm` took it with the stack
    finally:
        for s in client.secrets.list(filters={"label": f"io.consignment.secret-of={stack}"}):
            s.remove()
        client.close()
