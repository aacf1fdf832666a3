"""The deployer's env files: the `env_file` forms it checks, confinement of what it writes,
and the registry client's checks of fetched files (requests-mock; the real registry is in
test_deploy_envfiles.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests_mock

from consign.errors import InvalidDescriptor
from deployer.deploy.envfiles import check, materialise, referenced
from deployer.deploy.sources import SourceError, from_registry

REG = "http://registry.example:9090"
DESCRIPTOR = f"{REG}/descriptor/application/A/R/1"
DETAILS = f"{REG}/api/applications/A/releases/R/versions/1"
STORED = "fragments/web/app.env"


def test_every_env_file_form_is_read() -> None:
    text = """services:
  a: {image: x, env_file: one.env}
  b: {image: x, env_file: [two.env, {path: three.env}, {path: opt.env, required: false}]}
  c: {image: x}
"""
    assert referenced(text) == [
        ("a", "one.env", True),
        ("b", "two.env", True),
        ("b", "three.env", True),
        ("b", "opt.env", False),
    ]


def test_missing_required_files_are_refused_optional_and_variable_ones_left(
    tmp_path: Path,
) -> None:
    text = """services:
  a: {image: x, env_file: [{path: opt.env, required: false}, "${DIR}/x.env", here.env]}
"""
    (tmp_path / "here.env").write_text("A=1\n")
    check(text, tmp_path, local=True)
    (tmp_path / "here.env").unlink()
    with pytest.raises(InvalidDescriptor, match=r"service a: env_file 'here.env' is neither"):
        check(text, tmp_path, local=True)


@pytest.mark.parametrize("stored", ["../x.env", "/etc/passwd", "fragments/../../x"])
def test_files_are_written_only_inside_the_folder(tmp_path: Path, stored: str) -> None:
    with pytest.raises(InvalidDescriptor, match="outside its tree"):
        materialise(tmp_path / "scratch", {stored: b"X=1\n"})
    assert not (tmp_path / "x.env").exists()


def _mock(m: requests_mock.Mocker, content: bytes, sha256: str) -> None:
    m.get(DESCRIPTOR, text="services: {}\n", headers={"X-Consign-Version": "1"})
    entry = {"path": "app.env", "stored": STORED, "sha256": sha256, "size": len(content)}
    m.get(DETAILS, json={"components": [], "files": [entry]})
    m.get(f"{DESCRIPTOR}/files/{STORED}", content=content)


def test_fetched_files_are_checked_by_sha256() -> None:
    body = b"GREETING=hi\n"
    with requests_mock.Mocker() as m:
        _mock(m, body, hashlib.sha256(body).hexdigest())
        assert from_registry(REG, "A", "R", "1").files == {STORED: body}
    with requests_mock.Mocker() as m:
        _mock(m, body, "0" * 64)
        with pytest.raises(SourceError, match="not the published"):
            from_registry(REG, "A", "R", "1")


def test_a_listed_file_the_registry_does_not_serve_is_an_error() -> None:
    with requests_mock.Mocker() as m:
        _mock(m, b"", "")
        m.get(f"{DESCRIPTOR}/files/{STORED}", status_code=404, json={"message": "gone"})
        with pytest.raises(SourceError, match=r"cannot fetch fragments/web/app.env .*404 gone"):
            from_registry(REG, "A", "R", "1")
