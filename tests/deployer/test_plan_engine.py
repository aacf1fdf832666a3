"""`consign deploy --plan` against the real engine and a real registry: ten tiny
services, one changed, the plan says exactly that one is recreated and why, and the
deploy then recreates exactly that one; an orphan, an image to pull, no change (exit 0);
the keys that differ (or the host variable that changed), a verification service listed;
and the plan changes nothing: no container, network or volume event on the engine, no
ledger record."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from consign.exit_codes import ExitCode
from consign.process import run
from tests.deployer.helpers import consign, containers, deploy
from tests.e2e.serve import publish
from tests.serving import ServedRegistry

pytestmark = pytest.mark.docker


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ServedRegistry]:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2) as server:
        yield server.start()


def _release(
    registry: ServedRegistry, tmp_path: Path, service: str, build: int, image: str, more: str = ""
) -> None:
    """One component's fragment (``more``: further keys of its service) as a new version."""
    path = tmp_path / f"{service}-{build}.yml"
    path.write_text(
        f"""services:
  {service}:
    image: {image}
    init: true
    stop_grace_period: 1s
    command: ["sleep", "100000"]
{more}"""
    )
    env = {"bamboo_planKey": f"P-{service.upper()}", "bamboo_buildNumber": str(build)}
    publish(registry.url, path, "Plan", "R", component=service, build=env)


def _plan(
    project: str, version: str, registry: ServedRegistry, *more: str
) -> tuple[int, dict[str, Any]]:
    """The plan as JSON, with the engine's events over its run (those naming the project)."""
    since = time.time()
    code, out = consign(
        "deploy", "Plan", "R", version, "--registry", registry.url, "--project", project,
        "--plan", "--json", *more,
    )  # fmt: skip
    until = time.time() + 0.5
    time.sleep(0.6)  # the events of the plan's last second are delivered
    events = run(
        ["docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
         "--format", "{{json .}}", "--filter", "type=container", "--filter", "type=network",
         "--filter", "type=volume"],
        timeout=30,
    ).stdout  # fmt: skip
    mine = [e for e in events.splitlines() if project in e]
    assert mine == [], f"--plan changed the engine: {mine}"
    assert "{" in out, out
    start = out.index("{")
    return code, json.loads(out[start:])


def _records(registry: ServedRegistry) -> int:
    body = requests.get(f"{registry.url}/api/environments", timeout=10).json()
    envs = body.get("environments", body) if isinstance(body, dict) else body
    return sum(int(e.get("deployments", 0)) for e in envs)


def _actions(doc: dict[str, Any]) -> dict[str, str]:
    return {s["service"]: s["action"] for s in doc["services"]}


def _ids(project: str) -> dict[str, str]:
    return {c.labels["com.docker.compose.service"]: c.id for c in containers(project)}


def test_plan_agrees_with_the_deploy_and_changes_nothing(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    services = [f"s{i}" for i in range(10)]
    # s5's value of SECRET is resolved on this host (a default here, an --env-file below)
    secret = "    environment:\n      SECRET: ${PLAN_SECRET:-one}\n"
    for service in services:  # v10 holds all ten
        _release(registry, tmp_path, service, 1, "busybox:latest", secret * (service == "s5"))
    src = ("--registry", registry.url, "--project", project, "--stable", "1", "--timeout", "120")
    assert deploy(tmp_path, "Plan", "R", "10", *src).code == ExitCode.OK

    code, doc = _plan(project, "10", registry)  # no change: exit 0
    assert code == ExitCode.OK and doc["changes"] is False, doc
    assert set(_actions(doc).values()) == {"unchanged"}
    assert doc["cross_check"] == {"ran": True, "disagreements": []}

    _release(registry, tmp_path, "s3", 2, "busybox:latest")  # v11: s3's build only
    records = _records(registry)
    code, doc = _plan(project, "11", registry)
    assert code == ExitCode.PLAN_CHANGES
    assert _records(registry) == records  # the ledger has no record of a plan
    assert [s for s, a in _actions(doc).items() if a != "unchanged"] == ["s3"]
    (s3,) = [s for s in doc["services"] if s["service"] == "s3"]
    assert s3["action"] == "recreate" and s3["containers"] == [f"{project}-s3-1"]
    kinds = [r["kind"] for r in s3["reasons"]]
    assert kinds == ["labels", "config_hash"], s3
    keys = {c["key"] for c in s3["reasons"][0]["labels"]}
    assert keys == {"io.consignment.build"}  # the same fragment, another build
    assert doc["versions"]["running"]["version"] == 10 and doc["versions"]["new"]["version"] == 11
    rebuilt = doc["registry_diff"]["changed"] + doc["registry_diff"]["rebuilt"]
    assert [e["service"] for e in rebuilt] == ["s3"]
    assert doc["cross_check"] == {"ran": True, "disagreements": []}

    before = _ids(project)
    assert deploy(tmp_path, "Plan", "R", "11", *src).code == ExitCode.OK
    after = _ids(project)
    assert [s for s in services if after[s] != before[s]] == ["s3"]  # what the plan said

    ghost = f"{project}-ghost-1"  # an orphan: a container of the project no service names
    labels = {
        "com.docker.compose.project": project,
        "com.docker.compose.service": "ghost",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.config-hash": "0",  # what makes it Compose's
    }
    flags = [x for k, v in labels.items() for x in ("--label", f"{k}={v}")]
    run(["docker", "run", "-d", "--name", ghost, *flags, "busybox:latest", "sleep", "100000"])
    code, doc = _plan(project, "11", registry)
    assert code == ExitCode.PLAN_CHANGES and doc["versions"]["record_changes"] is False
    assert {s: a for s, a in _actions(doc).items() if a != "unchanged"} == {"ghost": "remove"}
    assert doc["cross_check"] == {"ran": True, "disagreements": []}
    assert deploy(tmp_path, "Plan", "R", "11", *src).code == ExitCode.OK
    assert ghost not in {c.name for c in containers(project)}
    assert _ids(project) == after  # the redeploy recreated nothing, as planned

    rotated = (
        tmp_path / "host.env"
    )  # a secret rotated on the deploy host: its name, never its value
    rotated.write_text("PLAN_SECRET=two-x9\n")
    rotated.chmod(0o600)
    code, doc = _plan(project, "11", registry, "--env-file", str(rotated))
    assert {s: a for s, a in _actions(doc).items() if a != "unchanged"} == {"s5": "recreate"}
    (s5,) = [s for s in doc["services"] if s["service"] == "s5"]
    assert [r["kind"] for r in s5["reasons"]] == ["host_variables", "config_hash"], s5
    assert s5["reasons"][0]["keys"] == ["PLAN_SECRET"] and "two-x9" not in json.dumps(doc)

    # v12: s4 gets a variable and a memory limit; v13: a verification service whose image
    # is not on the engine; v14: s10, with an image not on the engine
    _release(
        registry,
        tmp_path,
        "s4",
        2,
        "busybox:latest",
        "    environment: {LOG_LEVEL: debug}\n    mem_limit: 64m\n",
    )
    missing = f"plan-missing-{secrets.token_hex(4)}:1"  # images not on the engine
    check = f"plan-check-{secrets.token_hex(4)}:1"
    (tmp_path / "qa.yml").write_text(
        f'services:\n  smoke:\n    image: {check}\n    profiles: [verify]\n    command: ["true"]\n'
    )
    publish(registry.url, tmp_path / "qa.yml", "Plan", "R", component="qa")
    _release(registry, tmp_path, "s10", 1, missing)
    code, doc = _plan(project, "14", registry)
    assert code == ExitCode.PLAN_CHANGES
    assert {s: a for s, a in _actions(doc).items() if a != "unchanged"} == {
        "s4": "recreate", "s10": "create", "smoke": "verify"
    }  # fmt: skip
    (s4,) = [s for s in doc["services"] if s["service"] == "s4"]
    assert [r["kind"] for r in s4["reasons"]] == ["labels", "keys", "config_hash"], s4
    assert s4["reasons"][1] == {
        "kind": "keys", "before": None, "after": None,
        "keys": ["environment (LOG_LEVEL)", "mem_limit"],
    }  # fmt: skip
    assert doc["images"] == [
        {"image": missing, "action": "pull", "services": ["s10"], "note": "not on the engine"},
        {"image": check, "action": "pull", "services": ["smoke"], "note": "not on the engine"},
    ]
    assert doc["cross_check"]["ran"] is False
    code, text = consign(
        "deploy", "Plan", "R", "14", "--registry", registry.url, "--project", project, "--plan"
    )
    assert code == ExitCode.PLAN_CHANGES and f"image pull: {missing} (s10" in text, text
    assert "create     s10" in text and "Plan/R v11 -> Plan/R v14" in text
    assert "keys that differ: environment (LOG_LEVEL), mem_limit" in text
    assert "verify     smoke  run after the deploy is healthy" in text
    assert f"image pull: {check} (smoke" in text
