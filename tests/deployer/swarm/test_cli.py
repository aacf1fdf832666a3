"""`consign deploy|status|down --orchestrator swarm`: usage errors are exit 2, options
that do not apply are refused, failures map to exit codes through consign/errors.py."""

from __future__ import annotations

import pytest

from consign.errors import EngineUnreachable, InvalidDescriptor
from consign.exit_codes import ExitCode
from deployer.swarm.stack import DockerCliMissing, NotAManager, StackInvalid
from tests.deployer.helpers import consign
from tests.serving import free_port

SWARM = ("--orchestrator", "swarm")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", *SWARM], "APPLICATION RELEASE VERSION are required"),
        (["deploy", *SWARM, "a", "r", "1"], "one of --registry, --git or --file"),
        (["deploy", *SWARM, "--file", "x.yml"], "--project is required"),
        (["down", *SWARM], "Missing option '--project'"),
        (["deploy", "--orchestrator", "kubernetes"], "'kubernetes' is not one of"),
        (["deploy", *SWARM, "--file", "x.yml", "--stack", "s", "--pull", "never"], "--pull"),
        (["deploy", *SWARM, "--file", "x.yml", "--stack", "s", "--compose", "c"], "--compose"),
        (["deploy", *SWARM, "--file", "x.yml", "--stack", "s", "--workdir", "/w"], "--workdir"),
        (["deploy", "--file", "x.yml", "--project", "p", "--resolve-image", "never"], "--resolve"),
        (["down", *SWARM, "--stack", "s", "--volumes"], "--volumes does not apply"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    code, out = consign(*args)
    assert code == ExitCode.USAGE, out
    assert message in out


def test_an_option_of_the_other_orchestrator_from_the_environment_is_left_alone() -> None:
    # a job may set CONSIGN_PULL for every deploy; it only matters to Compose
    env = {"CONSIGN_PULL": "never", "CONSIGN_ORCHESTRATOR": "swarm"}
    code, out = consign("deploy", "--file", "/nonexistent/d.yml", "--stack", "s", env=env)
    assert code == ExitCode.REGISTRY_UNREACHABLE and "cannot read descriptor file" in out


def test_an_unreadable_descriptor_file_is_exit_5() -> None:
    code, out = consign("deploy", *SWARM, "--file", "/nonexistent/d.yml", "--project", "p")
    assert code == ExitCode.REGISTRY_UNREACHABLE and "cannot read descriptor file" in out


def test_swarm_failures_are_in_the_one_exception_tree() -> None:
    assert issubclass(StackInvalid, InvalidDescriptor)
    assert StackInvalid.exit_code == ExitCode.INVALID_DESCRIPTOR
    for kind in (DockerCliMissing, NotAManager):
        assert issubclass(kind, EngineUnreachable) and kind.exit_code == ExitCode.ENGINE_UNREACHABLE


def test_an_engine_that_does_not_answer_is_exit_6() -> None:
    host = f"tcp://127.0.0.1:{free_port()}"
    for args in (["status", *SWARM], ["down", *SWARM, "--stack", "s"]):
        code, out = consign(*args, "--host", host)
        assert code == ExitCode.ENGINE_UNREACHABLE, out
        assert f"cannot reach the Docker Engine at {host} (from --host)" in out


@pytest.mark.docker
def test_an_engine_that_is_not_a_manager_is_exit_6() -> None:
    from tests.deployer.swarm.conftest import swarm_state

    state, manager = swarm_state()
    if manager:
        pytest.skip(f"the engine is a swarm manager now ({state})")
    for args in (["status", *SWARM], ["down", *SWARM, "--stack", "s"]):
        code, out = consign(*args)
        assert code == ExitCode.ENGINE_UNREACHABLE, out
        assert "not a swarm manager" in out and f"swarm state: {state}" in out
