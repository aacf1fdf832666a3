"""Env files published with a fragment (`consign publish --with-env-files`) reach the
containers of a deploy from the real registry, over HTTP and from its Git repo; a version
whose env file is neither attached nor on the deploy host is refused before acting."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.helpers import consign, containers, deploy
from tests.serving import ServedRegistry

pytestmark = pytest.mark.docker


def _fragment(tmp_path: Path, value: str) -> Path:
    folder = tmp_path / "src"
    (folder / "env").mkdir(parents=True)
    (folder / "env" / "app.env").write_text(f"GREETING={value}\n")
    path = folder / "docker-compose.yml"
    path.write_text(
        "services:\n  app:\n    image: busybox:latest\n    command: sleep 100000\n"
        "    env_file: env/app.env\n"
    )
    return path


def _publish(served: ServedRegistry, fragment: Path, *extra: str) -> str:
    argv = ["publish", str(fragment), "-a", "Env App", "-r", "R1", "-c", "app"]
    code, output = consign(*argv, "--registry", served.url, "--attempts", "1", *extra)
    assert code == ExitCode.OK, output
    return output


def _greeting(project: str) -> str:
    (container,) = containers(project)
    code, out = container.exec_run(["env"])
    assert code == 0, out
    found = [line for line in out.decode().splitlines() if line.startswith("GREETING=")]
    return found[0].removeprefix("GREETING=") if found else ""


@pytest.mark.parametrize("source", ["--registry", "--git"])
def test_attached_env_file_reaches_the_container(
    tmp_path: Path, project: str, served: ServedRegistry, source: str
) -> None:
    value = f"hello-{uuid.uuid4().hex[:8]}"
    _publish(served, _fragment(tmp_path, value), "--with-env-files")
    where = served.url if source == "--registry" else str(served.repo)
    r = deploy(tmp_path, "Env App", "R1", "1", source, where, "--project", project, "--stable", "1")
    assert r.code == ExitCode.OK, r.output
    assert r.verdicts() == {"app": "running"}
    assert _greeting(project) == value


def test_an_env_file_neither_attached_nor_on_the_host_is_refused_before_acting(
    tmp_path: Path, project: str, served: ServedRegistry
) -> None:
    output = _publish(served, _fragment(tmp_path, "x"))  # not attached: a warning only
    assert "env/app.env" in output
    r = deploy(tmp_path, "Env App", "R1", "1", "--registry", served.url, "--project", project)
    assert r.code == ExitCode.INVALID_DESCRIPTOR, r.output
    assert "service app: env_file 'env/app.env' is neither attached" in r.output
    assert "--with-env-files" in r.report["error"]
    assert containers(project) == []


def test_a_descriptor_file_reads_its_env_file_from_its_folder(tmp_path: Path, project: str) -> None:
    fragment = _fragment(tmp_path, "local")
    args = ("--file", str(fragment), "--project", project, "--stable", "1")
    (fragment.parent / "env" / "app.env").unlink()
    r = deploy(tmp_path, *args)
    assert r.code == ExitCode.INVALID_DESCRIPTOR, r.output
    assert f"looked for it in {fragment.parent}" in r.output
    (fragment.parent / "env" / "app.env").write_text("GREETING=local\n")
    r = deploy(tmp_path, *args)
    assert r.code == ExitCode.OK, r.output
    assert _greeting(project) == "local"
