"""The Rundeck -> SSH -> deployer image hand-off, for real.

Each job's ``exec`` is rendered the way Rundeck renders it (sample options including the
application ``TLO GE``), sent over a real SSH connection to Debian's sshd on 127.0.0.1 with
key authentication, run by the remote user's shell, which starts the real deployer image
(``consignment:test``) on this machine's Docker Engine through the mounted socket. The job's
exit status is what Rundeck would record.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from consign.exit_codes import ExitCode
from consign.process import Completed, run
from tests.deployer.helpers import containers, recorded
from tests.e2e.rundeck_expand import JOB_CONTEXT, render_exec
from tests.e2e.serve import publish
from tests.e2e.sshd import SshServer
from tests.serving import ROOT, ServedRegistry

pytestmark = [pytest.mark.ssh, pytest.mark.docker, pytest.mark.slow]

APP = "TLO GE"
UID = uuid.uuid4().hex[:8]
REL_OK, REL_BAD = f"rd {UID} ok", f"rd {UID} bad"

HEALTHY = """\
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "echo {tag}; sleep 3600"]
    healthcheck: {{test: ["CMD", "true"], interval: 1s, retries: 3}}
    stop_grace_period: 1s
"""
CRASHING = """\
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s
  crash:
    image: busybox:latest
    command: ["sh", "-c", "echo cannot start >&2; exit 3"]
"""


def step(job: str) -> str:
    (definition,) = yaml.safe_load((ROOT / "rundeck-jobs" / f"{job}.yaml").read_text())
    command: str = definition["sequence"]["commands"][0]["exec"]
    return command


@pytest.fixture(scope="module")
def registry(module_registry: ServedRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two healthy versions of TLO GE/rd-ok, one crashing version of TLO GE/rd-bad."""
    d = tmp_path_factory.mktemp("rd-handoff")
    for tag in ("1", "2"):
        (d / f"ok{tag}.yml").write_text(HEALTHY.format(tag=tag))
        publish(module_registry.url, d / f"ok{tag}.yml", APP, REL_OK)
    (d / "bad.yml").write_text(CRASHING)
    publish(module_registry.url, d / "bad.yml", APP, REL_BAD)
    return module_registry.url


@pytest.fixture
def job(sshd: SshServer, registry: str, deployer_image: str, deployer_workdir: Path) -> Any:
    """Run one job's step over SSH with the given options, as Rundeck's executor does."""
    globals_ = {
        "registry_url": registry,
        "deployer_image": deployer_image,
        "deployer_workdir": str(deployer_workdir),
    }

    def run_job(name: str, **options: str) -> Completed:
        context = {"option": options, "globals": globals_, "job": JOB_CONTEXT}
        command = render_exec(step(name), context)
        return sshd.run(command, timeout=240)

    return run_job


def test_deploy_exits_0_on_a_healthy_descriptor_then_status_and_teardown(
    job: Any, project: str, registry: str
) -> None:
    env = f"rd-{project}"
    done = job("deploy", application=APP, release=REL_OK, version="2", project=project,
               environment=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "healthy" in done.stdout
    assert "reported to the ledger (1 record(s))" in done.stdout, done.stdout + done.stderr
    state = requests.get(f"{registry}/api/environments/{env}", timeout=10).json()
    (now,) = state["deployed"]
    assert (now["version"], now["outcome"], now["engine"]["project"]) == (2, "ok", project)
    assert now["by"] == f"rd user,rundeck-execution-7,{JOB_CONTEXT['url']}"
    ledger = job("status", environment=env)
    assert ledger.returncode == 0 and f"{APP}/{REL_OK} v2" in ledger.stdout, ledger.stdout
    assert len(containers(project)) == 1
    at = recorded(project)
    assert (at.application, at.release, at.version) == (APP, REL_OK, "2")

    status = job("status", project=project)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"{APP}/{REL_OK} v2" in status.stdout

    down = job("teardown", project=project, volumes="no")
    assert down.returncode == 0, down.stdout + down.stderr
    assert containers(project) == []
    assert job("status", project=project).returncode == ExitCode.FAILED


def test_deploy_exits_nonzero_on_a_failing_descriptor(job: Any, project: str) -> None:
    done = job("deploy", application=APP, release=REL_BAD, version="1", project=project)
    assert done.returncode == ExitCode.FAILED, done.stdout + done.stderr
    assert "crash" in done.stdout and "exited" in done.stdout


def test_rollback_deploys_the_chosen_version(job: Any, project: str) -> None:
    first = job("deploy", application=APP, release=REL_OK, version="2", project=project)
    assert first.returncode == 0, first.stdout + first.stderr
    back = job("rollback", application=APP, release=REL_OK, version="1", project=project)
    assert back.returncode == 0, back.stdout + back.stderr
    assert len(containers(project)) == 1
    assert recorded(project).version == "1"


def test_a_version_the_registry_does_not_have_fails_the_job(job: Any, project: str) -> None:
    done = job("deploy", application=APP, release=REL_OK, version="99", project=project)
    assert done.returncode == ExitCode.REGISTRY_UNREACHABLE, done.stdout + done.stderr
    assert containers(project) == []


def test_rendered_command_is_what_the_shell_runs(sshd: SshServer) -> None:
    """The quoting survives the remote shell: `TLO GE` arrives as one argument."""
    command = render_exec(
        'printf %s/ ${option.application} "${option.release}" ${option.version}',
        {"option": {"application": APP, "release": "it's $HOME", "version": "3"}},
    )
    done = sshd.run(command)
    assert done.returncode == 0
    assert done.stdout == "TLO GE/it's $HOME/3/"


def test_sshd_uses_key_authentication_only(sshd: SshServer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)])
    argv = sshd.ssh_argv("true")
    argv[argv.index(str(sshd.client_key))] = str(stranger)
    assert run(argv, check=False, timeout=30).returncode == 255
