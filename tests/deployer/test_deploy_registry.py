"""Deploy from a real registry (`consign serve` under gunicorn, fed by `consign publish`):
over HTTP with rollback to the previous version, and over the registry's Git repo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import scenario
from tests.deployer.helpers import consign, containers, deploy, recorded
from tests.e2e.serve import publish
from tests.serving import ServedRegistry, free_port, serving

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    """One registry for the module's tests (a start and a stop of gunicorn cost seconds):
    each test publishes its own application."""
    folder = tmp_path_factory.mktemp("deploy-registry")
    with serving(ServedRegistry(folder / "registry.git", folder / "serve.log", workers=2)) as s:
        yield s


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
    at = recorded(project)
    assert (at.version, at.registry, at.commit) == ("1", registry.url, first.report["commit"])
    assert at.builds["web"]["buildNumber"] == "41"
    found = {c.labels["com.docker.compose.service"]: c.labels for c in containers(project)}
    assert found["web"]["io.consignment.component"] == "web"
    assert json.loads(found["web"]["io.consignment.build"])["buildNumber"] == "41"
    code, text = consign("status", "--project", project)
    assert code == ExitCode.OK, text
    assert "TLO GE/Milestone v1 running" in text and "builds: web DE-WEB #41" in text


def test_git_deploy_from_the_registry_repo(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    fragment = tmp_path / "crash.yml"
    fragment.write_text(scenario("crashloop.yml"))
    publish(registry.url, fragment, "App", "R-1", component="loop")
    r = deploy(tmp_path, "App", "R-1", "latest", "--git", str(registry.repo), "--project", project)
    assert r.code == ExitCode.FAILED, r.output
    assert r.report["version"] == "1" and r.report["source"] == "git"
    assert r.verdicts()["loop"] == "crash-looping"
    assert r.verdicts()["steady"] in ("pending", "running")  # not awaited once loop failed
    assert r.report["rollback"] is None  # nothing was deployed there before


def _fragment(tmp_path: Path, service: str, build: int, command: str = "sleep 100000") -> Path:
    path = tmp_path / f"{service}-{build}.yml"
    path.write_text(
        f"""services:
  {service}:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sh", "-c", "{command}"]
    environment:
      BUILD: "{build}"
"""
    )
    return path


def test_a_new_version_recreates_only_what_it_changed_and_so_does_the_rollback(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    app, rel = "Ten", "R"

    def release(service: str, build: int, command: str = "sleep 100000") -> None:
        fragment = _fragment(tmp_path, service, build, command)
        env = {"bamboo_planKey": f"P-{service.upper()}", "bamboo_buildNumber": str(build)}
        publish(registry.url, fragment, app, rel, component=service, build=env)

    services = [f"s{i}" for i in range(10)]
    for service in services:
        release(service, 1)  # versions 1..10: v10 holds all ten
    src = ("--registry", registry.url, "--project", project, "--stable", "1", "--timeout", "120")
    n = deploy(tmp_path, app, rel, "10", *src)
    assert n.code == ExitCode.OK, n.output
    before = {c.labels["com.docker.compose.service"]: c.id for c in containers(project)}
    assert sorted(before) == services

    release("s3", 2)  # v11 differs from v10 in s3 only
    n1 = deploy(tmp_path, app, rel, "11", *src)
    assert n1.code == ExitCode.OK, n1.output
    after = {c.labels["com.docker.compose.service"]: c.id for c in containers(project)}
    assert [s for s in services if after[s] != before[s]] == ["s3"]
    code, text = consign("status", "--project", project)
    assert code == ExitCode.OK and f"{app}/{rel} v11" in text, text
    (s3,) = [line for line in text.splitlines() if line.strip().startswith("s3 ")]
    assert "[s3 P-S3 #2]" in s3, text  # the build this container came from

    release("s5", 2)  # v12
    release("s6", 2, "echo s6 cannot start; exit 1")  # v13: s5 and s6 differ from v11
    n2 = deploy(tmp_path, app, rel, "13", *src)
    assert n2.code == ExitCode.FAILED, n2.output
    assert n2.verdicts()["s6"] == "exited(1)"
    assert n2.report["rollback"]["version"] == "11" and n2.report["rollback"]["ok"], n2.output
    back = {c.labels["com.docker.compose.service"]: c.id for c in containers(project)}
    assert sorted(s for s in services if back[s] != after[s]) == ["s5", "s6"]
    assert recorded(project).version == "11"
    code, text = consign("status", "--project", project, "--json")
    (found,) = json.loads(text)
    assert found["version"] == "11" and found["services"]["s3"]["component"] == "s3"
    assert found["services"]["s3"]["build"]["buildNumber"] == "2"
    assert found["services"]["s5"]["build"]["buildNumber"] == "1"


def test_status_says_partly_at_a_version_whose_new_build_never_replaced_the_old(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    """v3 brings a worker build whose image does not exist: the worker's container stays
    the v2 build's while the project record says v3. `consign status` says so in words
    and the deploy itself fails (exit 1): the worker was not created at v3."""
    steady = '    command: [sleep, "100000"]\n    stop_grace_period: 1s\n'
    for component, image, number in (
        ("web", "busybox:latest", 1),
        ("worker", "busybox:latest", 1),
        ("worker", f"{project}-no-such-image:2", 2),
    ):
        fragment = tmp_path / f"{component}-{number}.yml"
        fragment.write_text(f"services:\n  {component}:\n    image: {image}\n{steady}")
        build = {"bamboo_planKey": f"P-{component.upper()}", "bamboo_buildNumber": str(number)}
        publish(registry.url, fragment, "Part", "R", component=component, build=build)
    src = ("--registry", registry.url, "--project", project, "--stable", "1", "--timeout", "60")
    assert deploy(tmp_path, "Part", "R", "2", *src).code == ExitCode.OK
    code, text = consign("status", "--project", project)
    assert (code, text.splitlines()[0]) == (ExitCode.OK, f"{project}: Part/R v2 running"), text
    failed = deploy(tmp_path, "Part", "R", "3", *src, "--no-rollback")
    # the worker still runs v2's container: v3 is not deployed, whatever its verdict was
    assert failed.code == ExitCode.FAILED, failed.output
    assert failed.verdicts() == {"web": "running", "worker": "not created"}, failed.output
    assert "no-such-image" in failed.report["verdicts"]["worker"]["detail"], failed.output
    code, text = consign("status", "--project", project)
    assert text.startswith(f"{project}: Part/R partly at v3 (worker not at it) "), text
    (worker,) = [line for line in text.splitlines() if line.strip().startswith("worker ")]
    assert worker.endswith("[worker P-WORKER #1; at P-WORKER #1, not v3's P-WORKER #2]"), text
