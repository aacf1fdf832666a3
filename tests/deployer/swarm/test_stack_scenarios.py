"""Issue 12's scenarios on a real swarm: exact verdicts and exit codes through
`consign deploy --orchestrator swarm`, failures reported well inside the timeout (180 s),
rollbacks; `consign status` and `consign down` of stacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import GitRegistry, scenario
from tests.deployer.helpers import consign
from tests.deployer.swarm.conftest import FAST, services, stack_deploy, write

pytestmark = pytest.mark.docker

#: A failure must be reported this soon (seconds, generous for a loaded 2-core machine).
PROMPT = 90.0


def test_healthy_set_replicated_global_oneshot_and_scaled_to_zero(
    tmp_path: Path, stack: str
) -> None:
    path = write(tmp_path, "healthy.yml")
    r = stack_deploy(
        tmp_path, "TLO GE", "Milestone", "7", "--file", path, "--project", stack, *FAST
    )
    assert r.code == ExitCode.OK, r.output
    assert r.verdicts() == {
        "web": "healthy",
        "migrate": "completed",
        "agent": "running",
    }  # "spare" has replicas: 0 and is not watched
    assert r.report["verdicts"]["web"]["detail"] == "3 of 3 running"
    assert len(r.report["verdicts"]["web"]["containers"]) == 3
    found = services(stack)
    assert set(found) == {"web", "migrate", "agent", "spare"}
    for doc in found.values():  # every service says what it belongs to
        labels = doc["Spec"]["Labels"]
        assert labels["io.consignment.application"] == "TLO GE"
        assert labels["io.consignment.release"] == "Milestone"
        assert labels["io.consignment.version"] == "7"
        assert labels["io.consignment.source"] == "file"
        assert json.loads(labels["io.consignment.builds"]) == {}

    code, out = consign("status", "--orchestrator", "swarm", "--project", stack, "--json")
    assert code == ExitCode.OK, out
    [doc] = json.loads(out)
    assert (doc["application"], doc["version"], doc["ok"]) == ("TLO GE", "7", True)
    assert doc["services"]["migrate"]["verdict"] == "completed"
    assert "spare" not in doc["services"]  # scaled to 0: nothing runs, nothing to judge
    swarm = {"CONSIGN_ORCHESTRATOR": "swarm"}  # the variable does what the option does
    code, out = consign("status", "--stack", stack, env=swarm)
    assert code == ExitCode.OK, out
    assert f"{stack}: TLO GE/Milestone v7" in out  # the version, from the services' labels
    assert "migrate" in out and "completed" in out
    code, out = consign("status", "--project", stack)  # Compose: not a Compose project
    assert code == ExitCode.FAILED and "no Consignment project" in out

    code, out = consign("down", "--orchestrator", "swarm", "--project", stack)
    assert code == ExitCode.OK and f"removed stack {stack}" in out
    assert services(stack) == {}
    code, out = consign("status", "--orchestrator", "swarm", "--project", stack)
    assert code == ExitCode.FAILED and "no Consignment stack" in out
    code, out = consign("down", "--project", stack, env=swarm)  # a retried teardown is fine
    assert code == ExitCode.OK and "nothing to remove" in out


def test_oneshot_migration_completes_without_hanging(tmp_path: Path, stack: str) -> None:
    path = write(tmp_path, "oneshot.yml")
    r = stack_deploy(tmp_path, "--file", path, "--project", stack, *FAST)
    assert r.code == ExitCode.OK, r.output
    assert r.verdicts() == {"migrate": "completed"}
    assert r.seconds < PROMPT
    # the next version of the migration: Swarm pauses such an update ("early termination
    # of task"), yet the migration ran to completion
    Path(path).write_text(Path(path).read_text().replace("sw-migration-done", "sw-migration-2"))
    r = stack_deploy(tmp_path, "--file", path, "--project", stack, *FAST)
    assert r.code == ExitCode.OK, r.output
    assert r.verdicts() == {"migrate": "completed"}
    assert (
        "sw-migration-2"
        in services(stack)["migrate"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"][-1]
    )


def test_never_healthy_is_named_fast_with_logs_and_rolled_back(
    tmp_path: Path, stack: str, git_registry: GitRegistry
) -> None:
    good = git_registry.publish("TLO GE", "Milestone", 1, scenario("swarm/update-v1.yml"))
    git_registry.publish("TLO GE", "Milestone", 2, scenario("swarm/unhealthy.yml"))
    src = ("--git", str(git_registry.repo), "--project", stack, *FAST)
    first = stack_deploy(tmp_path, "TLO GE", "Milestone", "1", *src)
    assert first.code == ExitCode.OK, first.output
    assert first.report["commit"] == good

    r = stack_deploy(tmp_path, "TLO GE", "Milestone", "latest", *src)
    assert r.code == ExitCode.FAILED, r.output
    assert r.report["version"] == "2"
    assert r.verdicts() == {"web": "unhealthy"}
    assert "unhealthy container" in r.report["verdicts"]["web"]["detail"]
    assert "sw-sick-marker" in r.report["logs"]["web"]
    assert r.report["verdicts"]["web"]["seconds"] < PROMPT
    assert r.report["exit_code"] == ExitCode.FAILED
    back = r.report["rollback"]
    assert back["version"] == "1" and back["ok"], r.output
    assert r.verdicts("rollback") == {"api": "running"}
    found = services(stack)  # --prune: the rollback removed v2's service
    assert set(found) == {"api"}
    assert found["api"]["Spec"]["Labels"]["io.consignment.version"] == "1"
    assert "rolling back stack" in r.output


def test_crash_loop_is_named_fast(tmp_path: Path, stack: str) -> None:
    path = write(tmp_path, "crashloop.yml")
    r = stack_deploy(tmp_path, "--file", path, "--project", stack, *FAST)
    assert r.code == ExitCode.FAILED, r.output
    assert r.verdicts() == {"loop": "crash-looping", "steady": "running"}
    loop = r.report["verdicts"]["loop"]
    assert loop["exit_code"] == 1 and "non-zero exit (1)" in loop["detail"]
    assert loop["seconds"] < PROMPT
    assert "sw-crash-marker" in r.report["logs"]["loop"]
    assert r.report["rollback"] is None  # nothing was deployed before
    # it is still looping
    code, out = consign("status", "--orchestrator", "swarm", "--project", stack)
    assert code == ExitCode.FAILED, out
    assert "crash-looping" in out and "running" in out


def test_missing_image_is_not_created_with_the_engines_error(tmp_path: Path, stack: str) -> None:
    path = write(tmp_path, "missing-image.yml", prefix=stack)
    r = stack_deploy(tmp_path, "--file", path, "--project", stack, *FAST)
    assert r.code == ExitCode.FAILED, r.output
    assert r.verdicts() == {"ghost": "not created"}
    detail = r.report["verdicts"]["ghost"]["detail"]
    assert f"No such image: consign-no-such-image-{stack}:latest" in detail
    assert r.report["verdicts"]["ghost"]["seconds"] < PROMPT


def test_update_swarm_rolls_back_is_a_failure_and_we_roll_back_too(
    tmp_path: Path, stack: str, git_registry: GitRegistry
) -> None:
    git_registry.publish("TLO GE", "Milestone", 1, scenario("swarm/update-v1.yml"))
    git_registry.publish("TLO GE", "Milestone", 2, scenario("swarm/update-v2.yml"))
    src = ("--git", str(git_registry.repo), "--project", stack, *FAST)
    assert stack_deploy(tmp_path, "TLO GE", "Milestone", "1", *src).code == ExitCode.OK

    r = stack_deploy(tmp_path, "TLO GE", "Milestone", "2", *src)
    assert r.code == ExitCode.FAILED, r.output
    api = r.report["verdicts"]["api"]
    assert api["label"] == "crash-looping" and api["exit_code"] == 3, r.output
    assert "sw-api-v2-broken" in r.report["logs"]["api"]
    assert r.report["rollback"]["ok"] and r.verdicts("rollback") == {"api": "running"}
    doc = services(stack)["api"]
    assert doc["Spec"]["Labels"]["io.consignment.version"] == "1"
    assert "sw-api-v1" in " ".join(doc["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"])


def test_seed_style_descriptor_is_refused_naming_services(tmp_path: Path, stack: str) -> None:
    path = write(tmp_path, "seed-style.yml")
    r = stack_deploy(tmp_path, "--file", path, "--project", stack, *FAST)
    assert r.code == ExitCode.INVALID_DESCRIPTOR, r.output
    assert "plex: volumes_from" in r.output
    assert "plex-data: restart" in r.output
    assert r.report["exit_code"] == ExitCode.INVALID_DESCRIPTOR
    assert services(stack) == {}  # nothing touched


@pytest.mark.skipif(
    not os.environ.get("CONSIGN_LEGACY_DOCKER"),
    reason="set CONSIGN_LEGACY_DOCKER to a docker CLI before 25 (the image's Debian 20.10)",
)
def test_a_legacy_docker_cli_without_stack_config_or_detach(tmp_path: Path, stack: str) -> None:
    env = {"CONSIGN_DOCKER": os.environ["CONSIGN_LEGACY_DOCKER"]}
    path = write(tmp_path, "crashloop.yml")  # no `version:` key, which 20.10 requires
    r = stack_deploy(tmp_path, "--file", path, "--project", stack, *FAST, env=env)
    assert r.code == ExitCode.FAILED, r.output
    assert r.verdicts() == {"loop": "crash-looping", "steady": "running"}
    code, out = consign("down", "--orchestrator", "swarm", "--project", stack, env=env)
    assert code == ExitCode.OK and services(stack) == {}, out
