"""bamboo/bamboo-specs.yaml: the documented YAML Specs shape, and its publish task for real.

No Bamboo server here, so the test does what a Bamboo agent does with a script task: it
substitutes ``${bamboo.X}``, exports every variable as ``bamboo_X`` (dots to underscores)
and runs the body with a shell, against a real `consign serve`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from consign.exit_codes import ExitCode
from consign.process import run
from tests.serving import ROOT, ServedRegistry, free_port, stop_process

SPECS = ROOT / "bamboo" / "bamboo-specs.yaml"
INTERPRETERS = {"SHELL", "BINSH_OR_CMDEXE", "CMD_EXE", "POWERSHELL", "RUN_AS_EXECUTABLE"}
TASK_TYPES = {"checkout", "script", "clean", "test-parser", "artifact-download", "inject-variables"}


def _specs() -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(SPECS.read_text()) if d]
    assert len(docs) == 1
    spec: dict[str, Any] = docs[0]
    return spec


def _script_tasks(spec: dict[str, Any]) -> list[dict[str, Any]]:
    jobs = [job for stage in spec["stages"] for body in stage.values() for job in body["jobs"]]
    return [t["script"] for job in jobs for t in spec[job]["tasks"] if "script" in t]


def test_specs_follow_the_yaml_v2_format() -> None:
    spec = _specs()
    assert spec["version"] == 2
    assert {"project-key", "key", "name"} <= set(spec["plan"])
    assert re.fullmatch(r"[A-Z][A-Z0-9]*", spec["plan"]["key"])
    for stage in spec["stages"]:
        [(name, body)] = stage.items()
        assert isinstance(name, str) and body["jobs"]
        for job in body["jobs"]:
            assert job in spec, f"job {job!r} is listed in a stage but not defined"
            for task in spec[job]["tasks"]:
                kind = task if isinstance(task, str) else next(iter(task))
                assert kind in TASK_TYPES, kind
    for script in _script_tasks(spec):
        assert script["interpreter"] in INTERPRETERS
        assert all(isinstance(line, str) for line in script["scripts"])
    assert all(isinstance(v, str) for v in spec.get("variables", {}).values())


def _agent_run(body: str, variables: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a script task body as a Bamboo agent would, `consign` on PATH."""
    body = re.sub(r"\$\{bamboo\.([\w.]+)\}", lambda m: variables[m.group(1)], body)
    shim = cwd / "bin" / "consign"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(
        f'#!/bin/sh\nexec {sys.executable} -c "from consignment.cli import main; main()" "$@"\n'
    )
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSIGN_", "bamboo_"))}
    env.update({"bamboo_" + k.replace(".", "_"): v for k, v in variables.items()})
    env["PATH"] = f"{shim.parent}:{env['PATH']}"
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        ["bash", "-e", "-c", body], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_publish_task_publishes(serve: ServedRegistry, tmp_path: Path) -> None:
    serve.env = {"CONSIGN_PUBLISH_TOKENS": "bamboo-secret"}
    serve.start()
    spec = _specs()
    [publish] = [s for s in _script_tasks(spec) if "consign publish" in "\n".join(s["scripts"])]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    fragment = "transmission:\n  image: tlo/transmission:${bamboo_buildNumber}\n"
    (workspace / "docker-compose.yml").write_text(fragment)
    variables = {
        # global variables, defined once for all fifty plans
        "consign.registry": serve.url,
        "consign.token.password": "bamboo-secret",
        "consign.applications": "TLO GE,TLO EE",
        "consign.releases": "Milestone",
        # Bamboo's own build variables
        "planKey": "TLO-TRANS",
        "buildNumber": "31",
        "buildResultsUrl": "https://bamboo.example/browse/TLO-TRANS-JOB1-31",
        "planRepository.revision": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    }
    variables.update(spec.get("variables", {}))  # plan variables override global ones
    done = _agent_run("\n".join(publish["scripts"]), variables, workspace)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    releases = spec["variables"]["consign.releases"].split(",")
    assert len(lines) == 2 * len(releases)
    assert all(line.endswith(" created") for line in lines), lines
    commit = lines[0].split()[-2]
    manifest = run(["git", "--git-dir", str(serve.repo), "show", f"{commit}:consign.json"])
    [component] = json.loads(manifest.stdout)["components"]
    assert component["name"] == "transmission"
    assert component["build"]["planKey"] == "TLO-TRANS"
    assert component["build"]["buildNumber"] == "31"
    stored = run(
        ["git", "--git-dir", str(serve.repo), "show", f"{commit}:fragments/transmission.yml"]
    )
    assert stored.stdout == "transmission:\n  image: tlo/transmission:31\n"  # the tag built
    assert json.loads(manifest.stdout)["state"] == "ok"

    variables["consign.token.password"] = "stale"
    refused = _agent_run("\n".join(publish["scripts"]), variables, workspace)
    assert refused.returncode == ExitCode.PUBLISH_FAILED, "a failed publish must fail the build"
    assert "403" in refused.stderr


class ImageRegistry:
    """Debian's `docker-registry` (the CNCF distribution registry) on a loopback port with
    its storage in a temporary folder: the site's image registry the Docker hosts pull from.
    The engine treats 127.0.0.0/8 registries as insecure ones, so plain HTTP is enough."""

    BINARY = "/usr/bin/docker-registry"

    def __init__(self, folder: Path) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        config = folder / "registry.yml"
        config.write_text(
            "version: 0.1\nlog: {level: warn}\n"
            f"storage: {{filesystem: {{rootdirectory: {folder / 'storage'}}}}}\n"
            f"http: {{addr: {self.address}}}\n"
        )
        self.log = (folder / "registry.log").open("wb")
        self.proc = subprocess.Popen(
            [self.BINARY, "serve", str(config)], stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://{self.address}/v2/", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError((folder / "registry.log").read_text())
            time.sleep(0.1)

    def tags(self, name: str) -> list[str]:
        answer = requests.get(f"http://{self.address}/v2/{name}/tags/list", timeout=10)
        found: list[str] = answer.json().get("tags") or []
        return found

    def stop(self) -> None:
        stop_process(self.proc, timeout=10)
        self.log.close()


@pytest.mark.docker
@pytest.mark.skipif(
    not Path(ImageRegistry.BINARY).exists(),
    reason="no docker-registry (Debian package; .ci/provision.sh installs it)",
)
def test_the_build_pushes_its_image_before_publishing_a_fragment_naming_it(
    serve: ServedRegistry, tmp_path: Path
) -> None:
    """Every script task of the job in order, as the agent runs them: the image built from
    the repository goes to the site's registry, a Docker host can pull it, and the published
    fragment names it there."""
    serve.start()
    images = ImageRegistry(tmp_path)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "selftest").write_text("#!/bin/sh\necho selftest passed\n")
    (workspace / "selftest").chmod(0o755)
    (workspace / "Dockerfile").write_text(
        "FROM busybox:latest\nCOPY selftest /usr/local/bin/selftest\n"
    )
    image = "${bamboo_docker_registry}/tlo/transmission:${bamboo_buildNumber}"
    fragment = f"transmission:\n  image: {image}\n"
    (workspace / "docker-compose.yml").write_text(fragment)
    variables = {
        "consign.registry": serve.url,
        "consign.token.password": "",
        "consign.applications": "TLO GE",
        "consign.releases": "Milestone",
        "docker.registry": images.address,
        "planKey": "TLO-TRANS",
        "buildNumber": "31",
    }
    ref = f"{images.address}/tlo/transmission:31"
    try:
        for script in _script_tasks(_specs()):
            done = _agent_run("\n".join(script["scripts"]), variables, workspace)
            assert done.returncode == 0, f"{script['description']}: {done.stderr}"
            if "selftest" in "\n".join(script["scripts"]):
                assert "selftest passed" in done.stdout
        assert images.tags("tlo/transmission") == ["31"]
        run(["docker", "image", "rm", ref], timeout=60)
        run(["docker", "pull", "-q", ref], timeout=120)  # what a Docker host does
        commit = done.stdout.splitlines()[0].split()[-2]
        stored = run(
            ["git", "--git-dir", str(serve.repo), "show", f"{commit}:fragments/transmission.yml"]
        )
        assert stored.stdout == f"transmission:\n  image: {ref}\n"
    finally:
        subprocess.run(["docker", "image", "rm", ref], capture_output=True, timeout=60)
        images.stop()
