"""Swarm deploys, rollbacks and teardowns in the deployment ledger (issues 9 and 12),
against the real swarm and a real registry under gunicorn: the records' outcomes,
per-service verdicts, task containers and image IDs, component and build, engine; the
environment's current version; the teardown locked and recorded."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from consign.exit_codes import ExitCode
from consign.process import run
from deployer.label_keys import BUILD
from deployer.swarm.autorollback import BY_SWARM
from tests.deployer.conftest import scenario
from tests.deployer.helpers import consign
from tests.deployer.swarm.conftest import FAST, services, stack_deploy
from tests.e2e.serve import publish
from tests.serving import ServedRegistry

pytestmark = pytest.mark.docker


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ServedRegistry]:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2) as server:
        yield server.start()


def _get(registry: ServedRegistry, path: str) -> Any:
    r = requests.get(registry.url + path, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _publish(tmp_path: Path, registry: ServedRegistry, name: str, build: str) -> None:
    path = tmp_path / name.replace("/", "-")
    path.write_text(scenario(name))
    plan = {"bamboo_planKey": "QA-API", "bamboo_buildNumber": build}
    publish(registry.url, path, "Sled", "R", component="api", build=plan)


def _containers() -> set[str]:
    import docker

    client = docker.from_env()
    try:
        return {c.id for c in client.containers.list(all=True, sparse=True)}  # IDs only
    finally:
        client.close()


def test_stack_deploy_failed_update_rollback_and_teardown_are_recorded(
    tmp_path: Path, stack: str, registry: ServedRegistry
) -> None:
    env, spool = f"sw-{secrets.token_hex(4)}", tmp_path / "spool"
    _publish(tmp_path, registry, "swarm/update-v1.yml", "41")
    _publish(tmp_path, registry, "swarm/update-v2.yml", "42")
    ledger = ["--registry", registry.url, "--environment", env, "--by", "tester",
              "--spool", str(spool)]  # fmt: skip
    args = ("--project", stack, *ledger, *FAST)

    first = stack_deploy(tmp_path, "Sled", "R", "1", *args)
    assert first.code == ExitCode.OK, first.output
    assert "not recorded" not in first.output
    assert "reported to the ledger (1 record(s))" in first.output, first.output
    (now,) = _get(registry, f"/api/environments/{env}")["deployed"]
    assert (now["application"], now["version"], now["outcome"]) == ("Sled", 1, "ok"), now
    (api,) = now["services"]
    assert (api["service"], api["verdict"], api["component"]) == ("api", "running", "api")
    assert api["build"]["buildNumber"] == "41"
    # the task's container (a single-node swarm: this engine runs it) and its image ID
    assert api["image"].startswith("sha256:"), api
    assert len(api["containers"]) == 1 and set(api["containers"]) <= _containers(), api
    assert now["engine"]["project"] == stack and now["engine"]["orchestrator"] == "swarm"

    second = stack_deploy(tmp_path, "Sled", "R", "2", *args)
    assert second.code == ExitCode.FAILED, second.output
    assert second.report["rollback"]["ok"], second.output
    # Swarm rolled the update back by itself (failure_action: rollback), then the deployer
    assert "Swarm rolled back api by itself: OK" in second.output, second.output
    assert "reported to the ledger (3 record(s))" in second.output, second.output
    history = _get(registry, f"/api/environments/{env}/deployments")["deployments"]
    assert [(d["kind"], d["version"], d["outcome"]) for d in history] == [
        ("rollback", 1, "ok"),
        ("rollback", 1, "ok"),
        ("deploy", 2, "rolled_back"),
        ("deploy", 1, "ok"),
    ]
    assert history[2]["rolled_back_to"] == 1
    (by_swarm,) = history[1]["services"]
    assert by_swarm["detail"].startswith(BY_SWARM) and by_swarm["verdict"] == "running"
    assert not history[0]["services"][0]["detail"].startswith(BY_SWARM)
    assert history[1]["started"] <= history[1]["finished"] <= history[0]["started"]
    failed, back = history[2]["services"][0], history[0]["services"][0]
    assert failed["verdict"] == "crash-looping" and "3" in failed["detail"], failed
    assert failed["build"]["buildNumber"] == "42" and back["build"]["buildNumber"] == "41"
    assert back["verdict"] == "running" and back["image"].startswith("sha256:"), back
    assert failed["containers"] and failed["image"], failed
    assert all(d["by"] == "tester" and d["engine"]["project"] == stack for d in history)
    (now,) = _get(registry, f"/api/environments/{env}")["deployed"]
    running = now["rolled_back_to"] if now["outcome"] == "rolled_back" else now["version"]
    assert running == 1 and now["outcome"] in ("ok", "rolled_back"), now
    assert services(stack)["api"]["Spec"]["Labels"]["io.consignment.version"] == "1"
    code, text = consign("status", "--environment", env, "--registry", registry.url)
    assert code == ExitCode.OK and "Sled/R v1" in text, text
    # drift compares the stack's services with the last record (the rollback to v1)
    drift = ("drift", "--environment", env, "--registry", registry.url, "--spool", str(spool))
    code, text = consign(*drift)
    assert code == ExitCode.OK and f"(stack {stack}," in text and ": no drift" in text, text
    run(["docker", "service", "scale", "--detach", f"{stack}_api=2"], timeout=60)
    code, text = consign(*drift, "--no-record")
    assert code == ExitCode.FAILED and ": drift" in text, text
    assert "api: replicas" in text and "scaled to 2, the recorded version deploys 1" in text
    build = '{"buildNumber": "99"}'
    run(["docker", "service", "update", "--detach", "--label-add", f"{BUILD}={build}",
         "--replicas", "1", f"{stack}_api"], timeout=60)  # fmt: skip
    code, text = consign(*drift)
    assert code == ExitCode.FAILED and "api: labels" in text and "'99'" in text, text
    assert "api: replicas" not in text, text
    last = _get(registry, f"/api/environments/{env}/deployments?limit=1")["deployments"][0]
    assert (last["kind"], last["outcome"], last["version"]) == ("drift", "drift", 1), last
    assert "labels" in last["services"][0]["detail"], last

    code, out = consign("down", "--orchestrator", "swarm", "--project", stack, *ledger)
    assert code == ExitCode.OK, out
    assert "removed stack" in out and "reported to the ledger (1 record(s))" in out, out
    last = _get(registry, f"/api/environments/{env}/deployments?limit=1")["deployments"][0]
    assert (last["kind"], last["outcome"], last["version"]) == ("teardown", "torn_down", 1)
    assert last["engine"]["orchestrator"] == "swarm"
    # a retried teardown: nothing to remove, nothing recorded twice
    code, out = consign("down", "--orchestrator", "swarm", "--project", stack, *ledger)
    assert code == ExitCode.OK and "nothing to remove" in out, out
    assert "reported" not in out, out


def test_a_rollback_swarm_made_by_itself_is_recorded_with_its_outcome(
    tmp_path: Path, stack: str, registry: ServedRegistry
) -> None:
    """--no-rollback: the deployer does not roll back, Swarm does (failure_action:
    rollback); the ledger says the deploy failed and was rolled back to v1 by Swarm, and
    the environment's current version is v1, as on the stack."""
    env, spool = f"sw-{secrets.token_hex(4)}", tmp_path / "spool"
    _publish(tmp_path, registry, "swarm/update-v1.yml", "41")
    _publish(tmp_path, registry, "swarm/update-v2.yml", "42")
    ledger = ["--registry", registry.url, "--environment", env, "--spool", str(spool)]
    args = ("--project", stack, *ledger, *FAST)
    assert stack_deploy(tmp_path, "Sled", "R", "1", *args).code == ExitCode.OK

    second = stack_deploy(tmp_path, "Sled", "R", "2", "--no-rollback", *args)
    assert second.code == ExitCode.FAILED, second.output
    assert "Swarm rolled back api by itself: OK" in second.output, second.output
    assert second.report["rollback"]["version"] == "1", second.report
    assert second.report["rollback"]["ok"], second.report
    assert "reported to the ledger (2 record(s))" in second.output, second.output
    history = _get(registry, f"/api/environments/{env}/deployments")["deployments"]
    assert [(d["kind"], d["version"], d["outcome"]) for d in history] == [
        ("rollback", 1, "ok"),
        ("deploy", 2, "rolled_back"),
        ("deploy", 1, "ok"),
    ]
    assert history[1]["rolled_back_to"] == 1
    (failed,) = history[1]["services"]
    assert (
        failed["verdict"] in ("crash-looping", "exited") and failed["build"]["buildNumber"] == "42"
    )
    (back,) = history[0]["services"]
    assert back["detail"].startswith(BY_SWARM), back
    assert back["verdict"] == "running" and back["build"]["buildNumber"] == "41", back
    assert back["containers"] and back["image"].startswith("sha256:"), back
    (now,) = _get(registry, f"/api/environments/{env}")["deployed"]
    assert now["version"] == 1 and now["kind"] == "rollback", now
    assert services(stack)["api"]["Spec"]["Labels"]["io.consignment.version"] == "1"


def test_a_failed_first_deploy_has_nothing_for_swarm_to_roll_back(
    tmp_path: Path, stack: str, registry: ServedRegistry
) -> None:
    env = f"sw-{secrets.token_hex(4)}"
    _publish(tmp_path, registry, "swarm/update-v2.yml", "42")
    ledger = ["--registry", registry.url, "--environment", env, "--spool", str(tmp_path / "s")]
    r = stack_deploy(tmp_path, "Sled", "R", "1", "--project", stack, *ledger, *FAST)
    assert r.code == ExitCode.FAILED, r.output
    assert "Swarm rolled back" not in r.output and r.report["rollback"] is None, r.output
    history = _get(registry, f"/api/environments/{env}/deployments")["deployments"]
    assert [(d["kind"], d["outcome"]) for d in history] == [("deploy", "failed")]


def test_a_file_stack_deploy_and_its_teardown_are_not_recorded(
    tmp_path: Path, stack: str, registry: ServedRegistry
) -> None:
    env = f"sw-{secrets.token_hex(4)}"
    path = tmp_path / "v1.yml"
    path.write_text(scenario("swarm/update-v1.yml"))
    ledger = ["--registry", registry.url, "--environment", env, "--spool", str(tmp_path / "s")]
    r = stack_deploy(tmp_path, "--file", str(path), "--project", stack, *ledger, *FAST)
    assert r.code == ExitCode.OK, r.output
    assert "not locked and not recorded: a --file deploy is not recorded" in r.output
    code, out = consign("down", "--orchestrator", "swarm", "--project", stack, *ledger)
    assert code == ExitCode.OK, out
    assert "was deployed from a --file, which is not recorded" in out, out
    # nothing was ever recorded there: the registry does not know the environment
    assert requests.get(f"{registry.url}/api/environments/{env}", timeout=10).status_code == 404
