"""The Consignment image for real: it serves, accepts a publish, and deploys through the socket.

The deploy runs are the exact hand-off Rundeck makes over SSH: `docker run` of the image
with the host's Docker socket mounted and a descriptor, exit status = the verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from consign.exit_codes import ExitCode
from tests.image.conftest import ROOT, SOCKET, Running, docker, socket_gid
from tests.publish.conftest import consign_publish
from tests.serving import free_port

pytestmark = [pytest.mark.docker, pytest.mark.slow]

HEALTHY = """\
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /tmp && touch /tmp/ready && exec sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 1s
      timeout: 2s
      retries: 3
  worker:
    image: busybox:latest
    command: ["sleep", "3600"]
"""
FAILING = """\
services:
  broken:
    image: busybox:latest
    command: ["sh", "-c", "echo 'cannot open /etc/app.conf' >&2; exit 3"]
"""


def _descriptor(tmp_path: Path, text: str) -> Path:
    """A directory the image's non-root user can read, holding d.yml."""
    folder = tmp_path / "descriptor"
    folder.mkdir()
    (folder / "d.yml").write_text(text)
    folder.chmod(0o755)
    (folder / "d.yml").chmod(0o644)
    return folder


def _in_image(image: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `consign` subcommand in the image with the host's Docker socket mounted."""
    return docker(
        "run", "--rm", "--group-add", socket_gid(), "-v", f"{SOCKET}:{SOCKET}", image, *args,
        timeout=240, check=False,
    )  # fmt: skip


def _deploy(image: str, folder: Path, project: str) -> tuple[int, str]:
    """`docker run` the image's deployer as Rundeck's job step does; (exit code, output)."""
    done = docker(
        "run", "--rm", "--group-add", socket_gid(), "-v", f"{SOCKET}:{SOCKET}",
        "-v", f"{folder}:/work:ro", image,
        "deploy", "--file", "/work/d.yml", "--project", project, "--timeout", "90",
        "--stable", "2",
        timeout=240, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_serves_healthz_as_non_root_on_a_volume(registry_container: Running) -> None:
    assert requests.get(f"{registry_container.url}/healthz", timeout=5).status_code == 200
    uid = docker("exec", registry_container.name, "id", "-u").stdout.strip()
    assert uid != "0"
    inspect = json.loads(docker("inspect", registry_container.name).stdout)[0]
    assert "/var/lib/consign/registry.git" in {m["Destination"] for m in inspect["Mounts"]}
    deadline = time.monotonic() + 90
    status = ""
    while time.monotonic() < deadline:
        state = docker("inspect", "-f", "{{.State.Health.Status}}", registry_container.name)
        status = state.stdout.strip()
        if status != "starting":
            break
        time.sleep(1)
    assert status == "healthy", "the image's own HEALTHCHECK must pass"


def test_accepts_a_publish(registry_container: Running, tmp_path: Path) -> None:
    fragment = tmp_path / "f.yml"
    fragment.write_text("transmission:\n  image: busybox\n  command: sleep 3600\n")
    done = consign_publish(
        str(fragment), "-a", "TLO GE", "-r", "Milestone",
        env={"CONSIGN_REGISTRY": registry_container.url, "bamboo_planKey": "TLO-TRANS"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith("component ")]
    assert lines[0].startswith("TLO GE / Milestone v1 ")
    assert done.stdout.rstrip().endswith(" created")
    url = f"{registry_container.url}/descriptor/application/TLO%20GE/Milestone/1"
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    assert "transmission:" in answer.text
    refs = docker(
        "exec", registry_container.name,
        "git", "--git-dir", "/var/lib/consign/registry.git", "for-each-ref", "refs/tags",
    ).stdout  # fmt: skip
    assert len(refs.splitlines()) == 1, refs


def test_contains_docker_cli_and_compose_v2(consignment_image: str) -> None:
    compose = docker(
        "run", "--rm", "--entrypoint", "docker", consignment_image, "compose", "version"
    )
    assert "v2." in compose.stdout
    server = docker(
        "run", "--rm", "--group-add", socket_gid(), "-v", f"{SOCKET}:{SOCKET}",
        "--entrypoint", "docker", consignment_image, "version", "--format", "{{.Server.Version}}",
    )  # fmt: skip
    assert server.stdout.strip(), "the docker CLI in the image must reach the host's engine"


def test_deploys_a_healthy_descriptor_through_the_socket(
    consignment_image: str, tmp_path: Path, project: str
) -> None:
    code, output = _deploy(consignment_image, _descriptor(tmp_path, HEALTHY), project)
    assert code == ExitCode.OK, output
    listed = docker(
        "ps", "--filter", f"label=com.docker.compose.project={project}", "--format", "{{.Names}}"
    ).stdout.split()
    assert len(listed) == 2, listed
    web = next(name for name in listed if "web" in name)
    health = docker("inspect", "-f", "{{.State.Health.Status}}", web).stdout.strip()
    assert health == "healthy"

    status = _in_image(consignment_image, "status", "--project", project, "--json")
    assert status.returncode == 0, status.stderr
    assert "web" in status.stdout and "worker" in status.stdout
    down = _in_image(consignment_image, "down", "--project", project)
    assert down.returncode == 0, down.stderr
    left = docker("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}")
    assert left.stdout.strip() == ""


def test_a_failing_descriptor_fails_the_run(
    consignment_image: str, tmp_path: Path, project: str
) -> None:
    code, output = _deploy(consignment_image, _descriptor(tmp_path, FAILING), project)
    assert code == ExitCode.FAILED, output
    assert "broken" in output


def test_compose_yaml_runs_the_registry_on_a_named_volume(
    consignment_image: str, project: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CONSIGN_IMAGE": consignment_image,
        "CONSIGN_PORT": f"127.0.0.1:{port}",
        "CONSIGN_WORKERS": "2",
    }
    up = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "-p", project, "up", "-d"],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    deadline = time.monotonic() + 60
    answer = None
    while answer is None and time.monotonic() < deadline:
        try:
            answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.5)
    assert answer is not None and answer.status_code == 200
    volumes = docker("volume", "ls", "--filter", f"label=com.docker.compose.project={project}")
    assert f"{project}_registry" in volumes.stdout
