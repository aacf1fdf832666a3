"""The deployer's CLI: usage, env variables, and exceptions mapped to exit codes in one place."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

import deployer.commands
import publisher.commands
import registry.commands
from consign.exit_codes import ExitCode
from consignment.cli import main
from deployer.cli import commands
from tests.deployer.conftest import GitRegistry, scenario
from tests.deployer.helpers import consign, containers
from tests.e2e.serve import publish
from tests.serving import ServedRegistry, free_port


def test_commands_list() -> None:
    names = [c.name for c in commands]
    assert names == ["deploy", "status", "down", "versions", "show", "diff"]
    exported = [c.name for c in deployer.commands.commands]
    assert exported == [*names, "drift", "unlock", "environment", "bisect", "verify"]


def test_the_consign_group_has_every_sides_commands() -> None:
    assert sorted(main.commands) == sorted(
        c.name
        for side in (deployer.commands, publisher.commands, registry.commands)
        for c in side.commands
    )
    assert sorted(main.commands) == [
        "bisect", "deploy", "diff", "down", "drift", "environment", "promote", "publish",
        "serve", "show", "status", "unlock", "verify", "versions",
    ]  # fmt: skip


@pytest.mark.parametrize("command", deployer.commands.commands)
def test_every_option_has_an_env_variable(command: click.Command) -> None:
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.envvar, f"{command.name} {param.opts} has no envvar"
            assert param.envvar in ("DOCKER_HOST",) or str(param.envvar).startswith("CONSIGN_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "A", "R"], "APPLICATION RELEASE VERSION are required"),
        (["deploy", "A", "R", "1"], "one of --registry, --git or --file"),
        (["deploy", "--file", "x.yml"], "--project is required"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    code, out = consign(*args)
    assert code == ExitCode.USAGE and message in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "Shop", "Dev", "abc", "--registry", "http://r"], "'abc' is not a version"),
        (["deploy", "Shop", "Dev", "1", "--registry", "r:9090"], "is not an http:// or https://"),
        (["status", "--environment", "e", "--registry", "r:9090"], "e.g. http://r:9090"),
        (["down", "--project", "p", "--registry", "file:///x"], "is not an http:// or https://"),
    ],
)
def test_bad_versions_and_registry_urls_are_usage_errors(args: list[str], message: str) -> None:
    code, out = consign(*args, env={"CONSIGN_VERSION": None})
    assert code == ExitCode.USAGE and message in out, out


def test_a_deploy_of_an_unknown_application_says_which_names_are_close(tmp_path: Path) -> None:
    fragment = tmp_path / "shop.yml"
    fragment.write_text("services:\n  web:\n    image: busybox:1\n")
    with ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", workers=1) as registry:
        registry.start()
        publish(registry.url, fragment, "Shop", "Dev")
        code, out = consign("deploy", "Shopp", "Dev", "1", "--registry", registry.url)
        assert code == ExitCode.REGISTRY_UNREACHABLE, out
        assert out.strip() == (
            f"error: cannot get the descriptor: no such application 'Shopp' at {registry.url} "
            "(did you mean Shop?)"
        )
        code, out = consign("deploy", "Shop", "QA", "1", "--registry", registry.url)
        assert f"Shop has no release 'QA' at {registry.url}" in out and "did you" not in out
        code, out = consign("deploy", "Shop", "Dev", "7", "--registry", registry.url)
        said = "no such version: Shop / Dev / 7: Shop/Dev has no version 7 (latest is 1) (at "
        assert said in out


def test_registry_unreachable_exit_code_and_report(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    url = f"http://127.0.0.1:{free_port()}"
    code, out = consign("deploy", "A", "R", "1", "--registry", url, "--report", str(report))
    assert code == ExitCode.REGISTRY_UNREACHABLE
    assert f"cannot reach the registry at {url}: connection refused" in out
    assert "HTTPConnectionPool" not in out and len(out.strip().splitlines()) == 1
    doc = json.loads(report.read_text())
    assert doc["exit_code"] == ExitCode.REGISTRY_UNREACHABLE and doc["application"] == "A"


def test_git_unknown_version_exit_code(git_registry: GitRegistry) -> None:
    git_registry.publish("A", "R", 1, "services: {}\n")
    code, out = consign("deploy", "A", "R", "5", "--git", str(git_registry.repo))
    assert code == ExitCode.REGISTRY_UNREACHABLE and "no such version: A / R / 5" in out


@pytest.mark.docker
def test_engine_unreachable_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text(scenario("crashloop.yml"))
    host = f"tcp://127.0.0.1:{free_port()}"
    code, out = consign("deploy", "--file", str(path), "--project", "de-x", "--host", host)
    assert code == ExitCode.ENGINE_UNREACHABLE, out
    assert f"cannot reach the Docker Engine at {host} (from --host): Connection refused" in out
    assert "DOCKER_HOST" in out and len(out.strip().splitlines()) == 1  # one line
    code, out = consign("status", env={"DOCKER_HOST": host})
    assert code == ExitCode.ENGINE_UNREACHABLE, out
    assert f"{host} (from DOCKER_HOST)" in out
    code, out = consign("down", "--project", "de-x", "--host", host)
    assert code == ExitCode.ENGINE_UNREACHABLE, out
    socket = tmp_path / "no-engine.sock"
    code, out = consign("status", env={"DOCKER_HOST": f"unix://{socket}"})
    assert code == ExitCode.ENGINE_UNREACHABLE, out
    assert str(socket) in out and "No such file or directory" in out


@pytest.mark.docker
def test_options_from_environment(tmp_path: Path, project: str) -> None:
    path = tmp_path / "dangling.yml"
    path.write_text(scenario("dangling.yml"))
    env = {"CONSIGN_FILE": str(path), "CONSIGN_PROJECT": project, "CONSIGN_TIMEOUT": "9"}
    code, out = consign("deploy", env=env)
    assert code == ExitCode.INVALID_DESCRIPTOR, out
    assert "invalid descriptor, nothing started" in out and "missing-data" in out
    assert containers(project) == []
