"""Deploy from a real registry (`consign serve` under gunicorn, fed by `consign publish`):
over HTTP with rollback to the previous version, and over the registry's Git repo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import scenario
from tests.deployer.helpers import consign, containers, deploy
from tests.e2e.serve import publish
from tests.serving import ServedRegistry, free_port

pytestmark = pytest.mark.docker


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ServedRegistry]:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2) as server:
        yield server.start()


def test_http_deploy_failure_rolls_back_via_the_registry(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    port = free_port()
    for n, name in ((1, "healthy.yml"), (2, "unhealthy.yml")):
        fragment = tmp_path / f"v{n}.yml"
        fragment.write_text(scenario(name, port=port))
        build = {"bamboo_planKey": "DE-WEB", "bamboo_buildNumber": f"4{n}"}
        publish(registry.url, fragment, "TLO GE", "Milestone", component="web", build=build)
    src = ("--registry", registry.url, "--project", project, "--stable", "1", "--timeout", "120")

    first = deploy(tmp_path, "TLO GE", "Milestone", "1", *src)
    assert first.code == ExitCode.OK, first.output
    assert first.report["source"] == "registry" and first.report["commit"]

    second = deploy(tmp_path, "TLO GE", "Milestone", "latest", *src)
    assert second.code == ExitCode.FAILED, second.output
    assert second.report["version"] == "2"
    assert second.verdicts()["web"] == "unhealthy"
    assert second.report["rollback"]["source"] == "registry"
    assert second.verdicts("rollback") == {
        "data": "completed",
        "web": "healthy",
        "worker": "running",
    }
    found = containers(project)
    assert {c.labels["io.consignment.version"] for c in found} == {"1"}
    assert {c.labels["io.consignment.registry"] for c in found} == {registry.url}
    assert {c.labels["io.consignment.commit"] for c in found} == {first.report["commit"]}
    builds = {json.loads(c.labels["io.consignment.builds"])["web"]["buildNumber"] for c in found}
    assert builds == {"41"}
    code, text = consign("status", "--project", project)
    assert code == ExitCode.OK, text
    assert "TLO GE/Milestone v1" in text and "buildNumber=41" in text


def test_git_deploy_from_the_registry_repo(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    fragment = tmp_path / "crash.yml"
    fragment.write_text(scenario("crashloop.yml"))
    publish(registry.url, fragment, "App", "R-1", component="loop")
    r = deploy(tmp_path, "App", "R-1", "latest", "--git", str(registry.repo), "--project", project)
    assert r.code == ExitCode.FAILED, r.output
    assert r.report["version"] == "1" and r.report["source"] == "git"
    assert r.verdicts() == {"loop": "crash-looping", "steady": "running"}
    assert r.report["rollback"] is None  # nothing was deployed there before
