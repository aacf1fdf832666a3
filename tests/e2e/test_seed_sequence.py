"""The seed's sequence end to end, on this machine, with every real piece.

1. Three CI builds publish their fragments (`consign publish`, Bamboo's variables set).
2. The version Rundeck's option list preselects is picked from the deploy job's valuesUrl.
3. The deploy job's command, rendered as Rundeck renders it, runs over real SSH.
4. It starts the deployer image, which deploys and reports every service healthy.
5. `git clone` of the registry shows the same descriptor at that version's tag.
6. `consign status` on the host names that version and the builds in it.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from consign.process import run
from tests.deployer.helpers import recorded
from tests.e2e.rundeck_expand import JOB_CONTEXT, expand_values_url, render_exec
from tests.e2e.serve import publish
from tests.e2e.sshd import SshServer
from tests.serving import ROOT, ServedRegistry

pytestmark = [pytest.mark.ssh, pytest.mark.docker, pytest.mark.slow]

APP = "TLO GE"
BUILDS = {
    "web": {"bamboo_planKey": "TLO-WEB", "bamboo_buildNumber": "41",
            "bamboo_buildResultKey": "TLO-WEB-41"},
    "db": {"bamboo_planKey": "TLO-DB", "bamboo_buildNumber": "7",
           "bamboo_buildResultKey": "TLO-DB-7"},
    "worker": {"bamboo_planKey": "TLO-WRK", "bamboo_buildNumber": "3",
               "bamboo_buildResultKey": "TLO-WRK-3"},
}  # fmt: skip
FRAGMENT = """\
services:
  {name}:
    image: busybox:latest
    command: ["sh", "-c", "echo {name} up; sleep 3600"]
    healthcheck: {{test: ["CMD", "true"], interval: 1s, retries: 3}}
    stop_grace_period: 1s
"""


def deploy_job() -> dict[str, Any]:
    (job,) = yaml.safe_load((ROOT / "rundeck-jobs" / "deploy.yaml").read_text())
    found: dict[str, Any] = job
    return found


def test_seed_sequence(
    module_registry: ServedRegistry,
    sshd: SshServer,
    deployer_image: str,
    deployer_workdir: Path,
    project: str,
    tmp_path: Path,
) -> None:
    url, release = module_registry.url, f"rd {uuid.uuid4().hex[:6]}"
    # 1. three CI builds publish
    for name, build in BUILDS.items():
        (tmp_path / f"{name}.yml").write_text(FRAGMENT.format(name=name))
        printed = publish(url, tmp_path / f"{name}.yml", APP, release, build=build)
        assert "created" in printed

    # 2. the version Rundeck preselects, from the deploy job's own valuesUrl
    job = deploy_job()
    version_url = next(o for o in job["options"] if o["name"] == "version")["valuesUrl"]
    chosen = {"application": APP, "release": release}
    globals_ = {"registry_host": module_registry.host, "registry_port": str(module_registry.port)}
    listed = requests.get(expand_values_url(version_url, "version", chosen, globals_), timeout=10)
    (selected,) = [e for e in listed.json() if e.get("selected")]
    assert selected["value"] == "3" and "worker (TLO-WRK #3)" in selected["name"]

    # 3 + 4. the rendered deploy step over SSH starts the deployer image: all healthy
    options = {"application": APP, "release": release, "version": selected["value"]}
    context = {
        "option": {**options, "project": project},
        "globals": {
            "registry_url": url,
            "deployer_image": deployer_image,
            "deployer_workdir": str(deployer_workdir),
        },
        "job": JOB_CONTEXT,
    }
    done = sshd.run(render_exec(job["sequence"]["commands"][0]["exec"], context), timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in BUILDS:
        assert any(name in line and "healthy" in line for line in done.stdout.splitlines())

    # 5. git clone shows the same descriptor at that version's tag
    api = f"{url}/api/applications/{APP}/releases/{release}/versions/{selected['value']}"
    info = requests.get(api, timeout=10).json()
    clone = tmp_path / "descriptors"
    run(["git", "clone", "--quiet", f"{url}/git", str(clone)], timeout=60)
    run(["git", "checkout", "--quiet", info["tag"]], cwd=clone)
    served = requests.get(f"{url}/descriptor/application/{APP}/{release}/3", timeout=10)
    assert (clone / "docker-compose.yml").read_bytes() == served.content
    assert recorded(project).commit == info["commit"]  # the project record on the host

    # 6. consign status on the host names that version and the builds in it
    status = run(
        [sys.executable, "-m", "consignment", "status", "--project", project], cwd=ROOT, timeout=60
    )
    assert f"{APP}/{release} v3" in status.stdout
    assert info["commit"] in status.stdout
    for build in BUILDS.values():
        assert build["bamboo_buildNumber"] in status.stdout
