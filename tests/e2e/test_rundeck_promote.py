"""The promote job (rundeck-jobs/promote.yaml) end to end without Docker: its option lists
cascade on a live registry (source release -> its versions, rejected ones marked), and its
step, rendered as Rundeck renders it, runs `consign promote` (the argv after the image)
with the environment the `-e` flags pass, against a real `consign serve`."""

from __future__ import annotations

import itertools
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import requests
import yaml

from consign.exit_codes import ExitCode
from tests.e2e.conftest import StartRegistry
from tests.e2e.rundeck_expand import expand_values_url, render_exec
from tests.registry.conftest import b64
from tests.serving import CONSIGN, ROOT

APP = "TLO GE"
API = "/api/applications/TLO%20GE/releases"


def job() -> dict[str, Any]:
    (definition,) = yaml.safe_load((ROOT / "rundeck-jobs" / "promote.yaml").read_text())
    found: dict[str, Any] = definition
    return found


def run_step(options: dict[str, str], registry: str, node_env: dict[str, str]) -> Any:
    """Render the step, then run what the container would: `consign <argv after image>`."""
    context = {
        "option": options,
        "globals": {"registry_url": registry, "deployer_image": "consignment:test"},
        "job": {"username": "rd-alice"},
    }
    argv = shlex.split(render_exec(job()["sequence"]["commands"][0]["exec"], context))
    image = argv.index("consignment:test")
    env: dict[str, str] = {}
    for flag, value in itertools.pairwise(argv[: image + 1]):
        if flag == "-e":  # KEY=VALUE, or KEY taken from the node's environment
            key, sep, given = value.partition("=")
            env[key] = given if sep else node_env.get(key, "")
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    return subprocess.run(
        [*CONSIGN, *argv[image + 1 :]],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_promote_job(start_registry: StartRegistry, tmp_path: Path) -> None:
    server = start_registry(
        {"CONSIGN_RELEASE_TOKENS": "rundeck:rd-token", "CONSIGN_APPROVE_TOKENS": "qa:qa-token"}
    )
    for n in (1, 2):
        body = {"fragment": b64("services:\n  web:\n    image: busybox\n")}
        body |= {"applications": [APP], "releases": ["Milestone 2"], "build": {"n": n}}
        assert requests.put(f"{server.url}/fragment", json=body, timeout=30).status_code == 201
    reject = {"by": "qa", "reason": "BUG-5"}
    headers = {"Authorization": "Bearer qa-token"}
    url = f"{server.url}{API}/Milestone%202/versions/1/rejections"
    assert requests.post(url, json=reject, headers=headers, timeout=30).status_code == 201

    opts = {o["name"]: o for o in job()["options"]}
    chosen = {"application": APP, "release": "Milestone 2"}
    host = {"registry_host": server.host, "registry_port": str(server.port)}
    versions_url = expand_values_url(opts["version"]["valuesUrl"], "version", chosen, host)
    assert versions_url.startswith(f"{server.url}/rundeck/options/versions?")
    listed = requests.get(versions_url, timeout=30).json()
    assert [e["value"] for e in listed] == ["2", "1"]
    assert listed[1]["name"].startswith("REJECTED (BUG-5) #1")

    node = {"CONSIGN_TOKEN": "not-this-one"}  # the node's environment no longer counts
    options = {**chosen, "version": "2", "to_release": "QA 1", "registry_token": "rd-token"}
    done = run_step(options, server.url, node)
    assert done.returncode == ExitCode.OK, done.stderr
    assert "TLO GE / QA 1 v1" in done.stdout and "created" in done.stdout
    details = requests.get(f"{server.url}{API}/QA%201/versions/1", timeout=30).json()
    assert details["promoted_by"] == {"by": "rd-alice", "identity": "rundeck"}

    refused = run_step({**options, "version": "1"}, server.url, node)
    assert refused.returncode == ExitCode.PUBLISH_FAILED
    assert "rejected by qa" in refused.stderr and "BUG-5" in refused.stderr
    no_token = run_step({**options, "registry_token": ""}, server.url, node)
    assert no_token.returncode == ExitCode.PUBLISH_FAILED and "401" in no_token.stderr
