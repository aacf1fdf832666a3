"""The deployer's CLI: usage, env variables, and exceptions mapped to exit codes in one place."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from consign.exit_codes import ExitCode
from deployer.cli import commands, deploy_cmd, down_cmd, status_cmd
from tests.deployer.conftest import GitRegistry, scenario
from tests.deployer.helpers import consign, containers
from tests.serving import free_port


def test_commands_list() -> None:
    assert [c.name for c in commands] == ["deploy", "status", "down", "publish", "stack"]


@pytest.mark.parametrize("command", [deploy_cmd, status_cmd, down_cmd])
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


def test_registry_unreachable_exit_code_and_report(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    url = f"http://127.0.0.1:{free_port()}"
    code, out = consign("deploy", "A", "R", "1", "--registry", url, "--report", str(report))
    assert code == ExitCode.REGISTRY_UNREACHABLE
    assert "cannot reach the registry" in out
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
    assert "cannot reach the Docker Engine" in out
    code, out = consign("status", env={"DOCKER_HOST": host})
    assert code == ExitCode.ENGINE_UNREACHABLE, out


@pytest.mark.docker
def test_options_from_environment(tmp_path: Path, project: str) -> None:
    path = tmp_path / "dangling.yml"
    path.write_text(scenario("dangling.yml"))
    env = {"CONSIGN_FILE": str(path), "CONSIGN_PROJECT": project, "CONSIGN_TIMEOUT": "9"}
    code, out = consign("deploy", env=env)
    assert code == ExitCode.INVALID_DESCRIPTOR, out
    assert "invalid descriptor, nothing started" in out and "missing-data" in out
    assert containers(project) == []
