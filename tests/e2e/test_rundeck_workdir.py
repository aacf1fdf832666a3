"""The deploy job as Rundeck runs it (rendered, over SSH, the deployer image with only the
Docker socket and the work folder mounted) on a version with a relative bind mount and an
env file it does not carry: the container sees the host's files. The token comes from the
job's Key Storage option; without the work folder's mount the deployer says what to add."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from consign.exit_codes import ExitCode
from consign.process import Completed
from tests.deployer.helpers import containers
from tests.e2e.conftest import IMAGE_UID, StartRegistry
from tests.e2e.rundeck_expand import JOB_CONTEXT, render_exec
from tests.e2e.serve import publish
from tests.e2e.sshd import SshServer
from tests.serving import ROOT

pytestmark = [pytest.mark.ssh, pytest.mark.docker, pytest.mark.slow]

APP, RELEASE = "Host Paths", f"rd {uuid.uuid4().hex[:6]}"
TOKEN = f"rd-{uuid.uuid4().hex}"  # the Key Storage entry keys/consign/registry-token
MOUNT = "-v ${globals.deployer_workdir}:${globals.deployer_workdir}"
HOST_PATHS = """\
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "cat /www/index.html; echo GREETING=$$GREETING; exec sleep 100000"]
    stop_grace_period: 1s
    env_file: app.env
    volumes:
      - ./site:/www:ro
"""


def deploy_step() -> str:
    (definition,) = yaml.safe_load((ROOT / "rundeck-jobs" / "deploy.yaml").read_text())
    command: str = definition["sequence"]["commands"][0]["exec"]
    return command


@pytest.fixture
def registry(start_registry: StartRegistry, tmp_path: Path) -> str:
    """A registry whose reads and ledger reports need the token; one version published."""
    server = start_registry(
        {"CONSIGN_READ_TOKENS": f"rundeck:{TOKEN}", "CONSIGN_REPORT_TOKENS": f"rundeck:{TOKEN}"}
    )
    (tmp_path / "fragment.yml").write_text(HOST_PATHS)
    printed = publish(server.url, tmp_path / "fragment.yml", APP, RELEASE, component="web")
    assert "app.env" in printed  # not attached: the registry warns, the host provides it
    return server.url


def place_host_files(workdir: Path, project: str, marker: str) -> Path:
    """What an operator puts on the Docker host, under <workdir>/<project>/."""
    folder = workdir / project
    (folder / "site").mkdir(parents=True)
    (folder / "site" / "index.html").write_text(f"page {marker}\n")
    (folder / "app.env").write_text(f"GREETING=hello-{marker}\n")
    for path in (folder, folder / "site", folder / "site" / "index.html", folder / "app.env"):
        os.chown(path, IMAGE_UID, IMAGE_UID)
    return folder


@pytest.fixture
def job(sshd: SshServer, registry: str, deployer_image: str, deployer_workdir: Path) -> Any:
    globals_ = {
        "registry_url": registry,
        "deployer_image": deployer_image,
        "deployer_workdir": str(deployer_workdir),
    }

    def run_job(command: str, **options: str) -> Completed:
        context = {"option": options, "globals": globals_, "job": JOB_CONTEXT}
        return sshd.run(render_exec(command, context), timeout=240)

    return run_job


def test_the_container_sees_the_hosts_files(
    job: Any, project: str, registry: str, deployer_workdir: Path
) -> None:
    marker = uuid.uuid4().hex
    folder = place_host_files(deployer_workdir, project, marker)
    options = {"application": APP, "release": RELEASE, "version": "1", "project": project}
    env = f"rd-{project}"

    no_token = job(deploy_step(), **options, environment=env)
    assert no_token.returncode == ExitCode.REGISTRY_UNREACHABLE, no_token.stdout + no_token.stderr
    assert containers(project) == []

    # plan=yes: the deployer's exit 10 ("would change something") is the job's success
    planned = job(deploy_step(), **options, environment=env, registry_token=TOKEN, plan="yes")
    assert planned.returncode == ExitCode.OK, planned.stdout + planned.stderr
    assert "create     web" in planned.stdout, planned.stdout + planned.stderr
    assert "plan: the plan would change something" in planned.stdout
    assert containers(project) == []

    done = job(deploy_step(), **options, environment=env, registry_token=TOKEN)
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert "reported to the ledger (1 record(s))" in done.stdout, done.stdout + done.stderr
    (container,) = containers(project)
    logs = container.logs().decode()
    assert f"page {marker}" in logs and f"GREETING=hello-{marker}" in logs, logs
    mounts = {m["Destination"]: m["Source"] for m in container.attrs["Mounts"]}
    assert mounts["/www"] == str(folder / "site")
    assert (folder / "docker-compose.yml").is_file()  # the deployer's copy, kept on the host
    headers = {"Authorization": f"Bearer {TOKEN}"}
    state = requests.get(f"{registry}/api/environments/{env}", headers=headers, timeout=10)
    assert state.json()["deployed"][0]["outcome"] == "ok"


def test_without_the_same_path_mount_the_deployer_says_what_to_add(
    job: Any, project: str, deployer_workdir: Path
) -> None:
    place_host_files(deployer_workdir, project, "x")
    options = {"application": APP, "release": RELEASE, "version": "1", "project": project}
    step = deploy_step()
    assert MOUNT in step

    unmounted = job(step.replace(MOUNT, ""), **options, registry_token=TOKEN)
    assert unmounted.returncode == ExitCode.USAGE, unmounted.stdout + unmounted.stderr
    assert f"--workdir {deployer_workdir} is not mounted from the host" in unmounted.stderr
    assert f"-v {deployer_workdir}:{deployer_workdir}" in unmounted.stderr

    no_workdir = step.replace(MOUNT, "").replace(
        "-e CONSIGN_WORKDIR=${globals.deployer_workdir}", ""
    )
    refused = job(no_workdir, **options, registry_token=TOKEN)
    assert refused.returncode == ExitCode.INVALID_DESCRIPTOR, refused.stdout + refused.stderr
    assert "service web: bind mount ./site" in refused.stderr
    assert "service web: env_file app.env (not attached to the version)" in refused.stderr
    assert "CONSIGN_WORKDIR" in refused.stderr
    assert containers(project) == []
