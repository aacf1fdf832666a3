"""`consign publish --with-env-files`: which files are read, and which are refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests_mock as rm
from click.testing import CliRunner

from consign.exit_codes import ExitCode
from publisher.attach import AttachError, env_files
from publisher.command import publish

URL = "http://registry.test:9090/fragment"


def fragment(folder: Path, *env_file: str) -> Path:
    services = {f"s{i}": {"image": "busybox", "env_file": e} for i, e in enumerate(env_file)}
    path = folder / "docker-compose.yml"
    path.write_text(json.dumps({"services": services}))  # JSON is YAML
    return path


def test_reads_each_named_file_once_by_its_normalised_path(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "a.env").write_text("A=1\n")
    path = fragment(tmp_path, "./env/a.env", "env/a.env")
    assert env_files(path, path.read_text()) == {"env/a.env": base64.b64encode(b"A=1\n").decode()}


def test_a_missing_optional_file_is_skipped_a_missing_required_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text("services:\n  a: {image: x, env_file: [{path: o.env, required: false}]}\n")
    assert env_files(path, path.read_text()) == {}
    path = fragment(tmp_path, "gone.env")
    with pytest.raises(AttachError, match=r"'gone\.env' does not exist"):
        env_files(path, path.read_text())


@pytest.mark.parametrize("written", ["/etc/hostname", "../outside.env", "$HOME/x.env"])
def test_paths_outside_the_fragments_folder_are_refused(tmp_path: Path, written: str) -> None:
    folder = tmp_path / "frag"
    folder.mkdir()
    (tmp_path / "outside.env").write_text("SECRET=1\n")
    path = fragment(folder, written)
    with pytest.raises(AttachError, match="not inside the fragment's folder"):
        env_files(path, path.read_text())


def test_a_symlink_out_of_the_folder_is_refused_one_inside_is_followed(tmp_path: Path) -> None:
    folder = tmp_path / "frag"
    folder.mkdir()
    (tmp_path / "secret.env").write_text("SECRET=1\n")
    (folder / "out.env").symlink_to(tmp_path / "secret.env")
    (folder / "real.env").write_text("B=2\n")
    (folder / "in.env").symlink_to("real.env")
    path = fragment(folder, "in.env")
    assert env_files(path, path.read_text()) == {"in.env": base64.b64encode(b"B=2\n").decode()}
    path = fragment(folder, "out.env")
    with pytest.raises(AttachError, match="outside the fragment's folder"):
        env_files(path, path.read_text())


def test_a_fragment_the_registry_will_refuse_attaches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text("services: [not, a, mapping]\n")
    assert env_files(path, path.read_text()) == {}


def test_the_command_sends_files_only_when_asked(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text("A=1\n")
    path = fragment(tmp_path, "a.env")
    warning = "service 's0' reads env_file 'a.env', which was not attached: it must exist"
    requests_mock.put(URL, status_code=201, json={"versions": [], "warnings": [warning]})
    args = [str(path), "-a", "A", "-r", "R", "--registry", "http://registry.test:9090"]
    result = CliRunner().invoke(publish, args)
    assert result.exit_code == 0, result.output
    assert "files" not in requests_mock.last_request.json()
    assert "--with-env-files attaches them" in result.stderr
    result = CliRunner().invoke(publish, [*args, "--with-env-files"])
    assert result.exit_code == 0, result.output
    assert requests_mock.last_request.json()["files"] == {"a.env": "QT0xCg=="}


def test_the_command_fails_with_exit_7_naming_the_file(
    requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    path = fragment(tmp_path, "/etc/hostname")
    args = [str(path), "-a", "A", "-r", "R", "--registry", "http://registry.test:9090"]
    result = CliRunner().invoke(publish, [*args], env={"CONSIGN_WITH_ENV_FILES": "1"})
    assert result.exit_code == ExitCode.PUBLISH_FAILED
    assert "'/etc/hostname' is not inside the fragment's folder" in result.stderr
    assert not requests_mock.called
