"""Descriptor sources: registry HTTP (requests-mock), Git (a real local bare repo), file."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import requests_mock

from consign.compose import refnames
from deployer.deploy.sources import (
    SourceError,
    from_file,
    from_git,
    from_registry,
)
from tests.deployer.conftest import GitRegistry

REG = "http://registry.example:9090"


def test_registry_quotes_names_and_reads_headers() -> None:
    with requests_mock.Mocker() as m:
        m.get(
            f"{REG}/descriptor/application/TLO%20GE/Milestone%2F1/latest",
            text="services: {}\n",
            headers={"X-Consign-Version": "3", "X-Consign-Commit": "abc123"},
        )
        m.get(
            f"{REG}/api/applications/TLO%20GE/releases/Milestone%2F1/versions/3",
            json={"components": [{"name": "web", "build": {"buildNumber": "41"}}]},
        )
        d = from_registry(REG + "/", "TLO GE", "Milestone/1", "latest", token="s3cret")
        assert all(r.headers["Authorization"] == "Bearer s3cret" for r in m.request_history)
    assert (d.text, d.kind, d.location) == ("services: {}\n", "registry", REG)
    assert d.builds == {"web": {"buildNumber": "41"}}
    assert (d.application, d.release, d.version, d.commit) == (
        "TLO GE",
        "Milestone/1",
        "3",
        "abc123",
    )


def test_registry_without_token_sends_no_authorization() -> None:
    with requests_mock.Mocker() as m:
        m.get(f"{REG}/descriptor/application/a/r/2", text="x: 1\n")
        m.get(f"{REG}/api/applications/a/releases/r/versions/2", status_code=404)
        d = from_registry(REG, "a", "r", "2")
        assert not any("Authorization" in r.headers for r in m.request_history)
    assert d.version == "2" and d.commit is None and d.builds == {}  # no discovery: no builds


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            404,
            {"error": "not_found", "message": "no version 9 of a/r"},
            "no such version: a / r / 9",
        ),
        (401, {"error": "unauthorized"}, "refused access (HTTP 401)"),
        (500, "boom", "answered HTTP 500: boom"),
    ],
)
def test_registry_errors_are_clear(status: int, body: object, message: str) -> None:
    with requests_mock.Mocker() as m:
        kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
        m.get(f"{REG}/descriptor/application/a/r/9", status_code=status, **kwargs)
        m.get(f"{REG}/api/applications", json={"applications": ["a"]})  # a 404 asks these
        m.get(f"{REG}/api/applications/a/releases", json={"releases": ["r"]})
        with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
            from_registry(REG, "a", "r", "9")


def test_registry_unreachable() -> None:
    with requests_mock.Mocker() as m:
        m.get(f"{REG}/descriptor/application/a/r/1", exc=requests.ConnectionError("refused"))
        with pytest.raises(SourceError, match="cannot reach the registry"):
            from_registry(REG, "a", "r", "1")


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("TLO GE", "TLO%20GE"),
        ("-x", "%2Dx"),
        ("a-b_c", "a-b_c"),
        ("v1.0", "v1%2E0"),
        ("é", "%C3%A9"),
    ],
)
def test_ref_name_encoding_matches_the_registry(name: str, encoded: str) -> None:
    assert refnames.encode(name) == encoded


def test_git_fetches_one_tag_and_resolves_latest(git_registry: GitRegistry) -> None:
    c1 = git_registry.publish("TLO GE", "Milestone", 1, "services: {one: {image: x}}\n")
    c2 = git_registry.publish("TLO GE", "Milestone", 2, "services: {two: {image: x}}\n")
    git_registry.publish("TLO GE", "Milestone 2", 10, "services: {}\n")  # another release
    first = from_git(str(git_registry.repo), "TLO GE", "Milestone", "1")
    assert (first.text, first.commit, first.version) == ("services: {one: {image: x}}\n", c1, "1")
    assert first.kind == "git" and first.location == str(git_registry.repo)
    assert first.builds == {"web": {"plan": "DE-WEB", "number": 1}}
    latest = from_git(git_registry.repo.as_uri(), "TLO GE", "Milestone", "latest")
    assert (latest.version, latest.commit) == ("2", c2)


def test_git_missing_version_and_missing_repo(git_registry: GitRegistry, tmp_path: Path) -> None:
    git_registry.publish("a", "r", 1, "services: {}\n")
    with pytest.raises(SourceError, match="no such version: a / r / 7"):
        from_git(str(git_registry.repo), "a", "r", "7")
    with pytest.raises(SourceError, match="no versions of a / other"):
        from_git(str(git_registry.repo), "a", "other", "latest")
    with pytest.raises(SourceError, match="cannot"):
        from_git(str(tmp_path / "nowhere.git"), "a", "r", "1")
    with pytest.raises(SourceError, match="number or 'latest'"):
        from_git(str(git_registry.repo), "a", "r", "v1")


def test_file_source(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text("services: {}\n")
    d = from_file(str(path), "App", None, None)
    assert (d.text, d.kind, d.location, d.application) == (
        "services: {}\n",
        "file",
        str(path),
        "App",
    )
    with pytest.raises(SourceError, match="cannot read descriptor file"):
        from_file(str(tmp_path / "missing.yml"))


def test_git_refuses_a_name_no_registry_could_store(git_registry: GitRegistry) -> None:
    with pytest.raises(SourceError, match=r"application 'a/b' must not contain '/'"):
        from_git(str(git_registry.repo), "a/b", "r", "latest")
    with pytest.raises(SourceError, match=r"release must not be empty"):
        from_git(str(git_registry.repo), "a", "", "latest")
