"""deployer/ledger against a real `consign serve` (gunicorn) and, for drift, the real engine:
spool delivery across a registry outage, the environment lock, `consign drift`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from consign.process import run
from deployer.engine.inspect import inspect_all
from deployer.ledger import drift, record
from deployer.ledger.client import LedgerClient
from deployer.ledger.lock import LockRefused, acquire
from deployer.ledger.spool import Spool, deliver
from deployer.verdicts import ServiceVerdict, Verdict
from tests.registry.conftest import b64, fsck
from tests.serving import CONSIGN, ROOT, ServedRegistry

APP, REL = "Ledger App", "R1"
FRAGMENT = """services:
  web:
    image: busybox:latest
    command: ["sleep", "3600"]
  db:
    image: busybox:latest
    command: ["sleep", "3600"]
"""


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ServedRegistry]:
    server = ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2)
    yield server
    server.stop()
    fsck(server.repo)


def publish(url: str) -> dict[str, Any]:
    body = {"fragment": b64(FRAGMENT), "applications": [APP], "releases": [REL]}
    response = requests.put(f"{url}/fragment", json=body, timeout=30)
    assert response.status_code in (200, 201), response.text
    version: dict[str, Any] = response.json()["versions"][0]
    return version


def a_record(environment: str, **changes: Any) -> dict[str, Any]:
    now = record.utc_now()
    body = record.build(
        kind="deploy", environment=environment, application=APP, release=REL, version=1,
        commit=None, outcome="ok", started=now, finished=now, by="tester",
        engine={"name": "test", "project": "p"}, source=None, service_entries=[],
    )  # fmt: skip
    body.update(changes)
    return body


def history(url: str, environment: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{url}/api/environments/{environment}/deployments?limit=100")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["deployments"]
    return found


def test_registry_stopped_then_started_the_record_arrives_once(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    client = LedgerClient(registry.url)
    first, second = a_record("qa-1"), a_record("qa-1")
    down = deliver(client, first, spool)  # nothing listens on the port yet
    assert down.kept == [first["id"]] and "kept in the spool" in down.line
    registry.start()
    publish(registry.url)
    up = deliver(client, second, spool)
    assert up.delivered == [first["id"], second["id"]] and not up.kept
    again = deliver(client, first, spool)  # the same record once more: still recorded once
    assert again.delivered == [first["id"]]
    assert [d["id"] for d in history(registry.url, "qa-1")] == [second["id"], first["id"]]
    assert spool.pending(registry.url) == []


def test_a_record_the_registry_refuses_is_set_aside(
    registry: ServedRegistry, tmp_path: Path
) -> None:
    registry.start()
    publish(registry.url)
    spool = Spool(tmp_path / "spool")
    result = deliver(LedgerClient(registry.url), a_record("qa-1", version=99), spool)
    assert len(result.rejected) == 1 and "no version 99" in result.line
    assert requests.get(f"{registry.url}/api/environments/qa-1").status_code == 404


def test_the_lock_refuses_a_second_deploy_naming_the_first(registry: ServedRegistry) -> None:
    registry.start()
    client = LedgerClient(registry.url)
    holder = {"by": "alice", "application": APP, "release": REL, "version": 1}
    with acquire(client, "qa-1", holder, wait=0, ttl=30) as held:
        with pytest.raises(LockRefused) as refused:
            acquire(client, "qa-1", {"by": "bob"}, wait=0)
        assert refused.value.holder.items() >= holder.items()  # with its process and attempt
        assert "locked by alice deploying Ledger App/R1 v1" in refused.value.message
        with acquire(client, "qa-2", {"by": "bob"}, wait=0):  # another environment: parallel
            pass
        assert held.lost == ""
    with acquire(client, "qa-1", {"by": "bob"}, wait=0) as second:
        assert second.took_over is None  # released, not expired


def compose(project: str, descriptor: Path, *args: str) -> None:
    run(["docker", "compose", "-p", project, "-f", str(descriptor), *args], timeout=180)


def report_deploy(
    url: str, docker_client: Any, project: str, environment: str, version: dict[str, Any]
) -> dict[str, Any]:
    """What the deploy flow will do once wired: the record of what runs, reported."""
    containers = drift.project_containers(docker_client, project)
    verdicts = {}
    for c in containers:
        service = c["Config"]["Labels"][record.SERVICE]
        verdicts[service] = ServiceVerdict(service, Verdict.RUNNING, None, "", 1.0, [c["Id"]])
    inspected = inspect_all(docker_client, [c["Id"] for c in containers])
    entries = record.services(verdicts, inspected, {})
    now = record.utc_now()
    body = record.build(
        kind="deploy", environment=environment, application=APP, release=REL,
        version=version["version"], commit=version["commit"], outcome="ok", started=now,
        finished=now, by="tester", engine=record.engine_info(docker_client, None, project),
        source=url, service_entries=entries,
    )  # fmt: skip
    LedgerClient(url).report(body)
    return body


@pytest.mark.docker
def test_drift_names_a_removed_and_an_extra_container(
    registry: ServedRegistry, docker_client: Any, project: str, tmp_path: Path
) -> None:
    registry.start()
    version = publish(registry.url)
    descriptor = tmp_path / "docker-compose.yml"
    descriptor.write_text(FRAGMENT)
    compose(project, descriptor, "up", "-d", "--remove-orphans")
    environment = project
    recorded = report_deploy(registry.url, docker_client, project, environment, version)
    assert {s["image"] for s in recorded["services"]} == {
        docker_client.images.get("busybox:latest").id
    }
    argv = [*CONSIGN, "drift", "--environment", environment, "--registry", registry.url]
    env = {**os.environ, "CONSIGN_SPOOL": str(tmp_path / "spool")}

    def drift_cmd() -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)

    clean = drift_cmd()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no drift" in clean.stdout

    web = next(s for s in recorded["services"] if s["service"] == "web")["containers"][0]
    run(["docker", "rm", "-f", web])
    extra = f"{project}-extra"
    try:
        _drift_with_extra(registry.url, environment, project, extra, web, recorded, drift_cmd)
    finally:  # a `docker run` container is no Compose service: `down` would leave it
        run(["docker", "rm", "-f", "-v", extra], check=False, timeout=60)

    compose(project, descriptor, "up", "-d", "--remove-orphans")  # the redeploy
    report_deploy(registry.url, docker_client, project, environment, version)
    after = drift_cmd()
    assert after.returncode == 0, after.stdout + after.stderr


def _drift_with_extra(
    url: str, environment: str, project: str, extra: str, web: str, recorded: dict[str, Any],
    drift_cmd: Any,
) -> None:  # fmt: skip
    run(["docker", "run", "-d", "--name", extra, "--label", f"{record.PROJECT}={project}",
         "--label", f"{record.SERVICE}=sidecar", "busybox:latest", "sleep", "3600"])  # fmt: skip
    found = drift_cmd()
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"web: missing {web[:12]}" in found.stdout
    assert "sidecar: extra" in found.stdout and extra in found.stdout
    assert "reported to the ledger" in found.stderr + found.stdout
    [event, deployed] = history(url, environment)[:2]
    assert (event["kind"], event["outcome"]) == ("drift", "drift")
    assert {s["service"] for s in event["services"]} == {"web", "sidecar"}
    assert deployed["id"] == recorded["id"]


def test_drift_exits_5_when_the_registry_cannot_say(registry: ServedRegistry) -> None:
    def drift_at(url: str, environment: str) -> subprocess.CompletedProcess[str]:
        argv = [*CONSIGN, "drift", "--environment", environment, "--registry", url]
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)

    down = drift_at(registry.url, "qa-1")  # not started: nothing listens
    assert down.returncode == 5 and "cannot read qa-1 from the ledger" in down.stderr
    registry.start()
    unknown = drift_at(registry.url, "qa-1")
    assert unknown.returncode == 5 and "no deployment was ever recorded" in unknown.stderr
    bad = drift_at(registry.url, "QA 1")
    assert bad.returncode == 5 and "invalid_name" in bad.stderr
