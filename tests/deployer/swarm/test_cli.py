"""`consign stack`: every option has its environment variable; usage errors are exit 2."""

from __future__ import annotations

import click
import pytest

from consign.exit_codes import ExitCode
from deployer.swarm.cli import stack
from tests.deployer.helpers import consign


@pytest.mark.parametrize("name", ["deploy", "status", "down"])
def test_every_option_has_an_env_variable(name: str) -> None:
    command = stack.commands[name]
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.envvar, f"stack {name} {param.opts} has no envvar"
            assert param.envvar == "DOCKER_HOST" or str(param.envvar).startswith("CONSIGN_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stack", "deploy"], "APPLICATION RELEASE VERSION are required"),
        (["stack", "deploy", "a", "r", "1"], "one of --registry, --git or --file"),
        (["stack", "deploy", "--file", "x.yml"], "--project is required"),
        (["stack", "down"], "Missing option '--project'"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    code, out = consign(*args)
    assert code == ExitCode.USAGE and message in out


def test_an_unreadable_descriptor_file_is_exit_5() -> None:
    code, out = consign("stack", "deploy", "--file", "/nonexistent/d.yml", "--project", "p")
    assert code == ExitCode.REGISTRY_UNREACHABLE and "cannot read descriptor file" in out


@pytest.mark.docker
def test_an_engine_that_is_not_a_manager_is_exit_6() -> None:
    from tests.deployer.swarm.conftest import swarm_state

    state, manager = swarm_state()
    if manager:
        pytest.skip(f"the engine is a swarm manager now ({state})")
    code, out = consign("stack", "status")
    assert code == ExitCode.ENGINE_UNREACHABLE, out
    assert "not a swarm manager" in out and f"swarm state: {state}" in out
