"""Env files travel with their fragment: PUT /fragment's ``files``, the tree, the descriptor,
the files endpoint, and every hostile ``files`` refused with nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from consign.process import run
from tests.registry.conftest import b64, objects, publish, refs

APP, REL = "TLO GE", "Milestone"
BASE = "/api/applications/TLO%20GE/releases/Milestone/versions"
WEB = "services:\n  web:\n    image: busybox:latest\n    env_file: ./env/web.env\n"


def put(client: FlaskClient, fragment: str = WEB, **files: Any) -> Any:
    return publish(client, fragment, [APP], [REL], files=files)


def git(repo: Path, *args: str) -> str:
    return run(["git", "--git-dir", str(repo), *args]).stdout


def test_attached_file_is_stored_next_to_its_fragment_and_named_there(
    client: FlaskClient, repo: Path
) -> None:
    answer = publish(client, WEB, [APP], [REL], files={"./env/web.env": b64("A=1\n")})
    assert answer.status_code == 201, answer.json
    # attached: no warning about the env file (the image's mutable tag has its own)
    assert not [w for w in answer.json["warnings"] if "env" in w], answer.json["warnings"]
    tree = git(repo, "ls-tree", "-r", "--name-only", "TLO%20GE/Milestone/1").split()
    assert tree == [
        "consign.json",
        "docker-compose.yml",
        "fragments/web.yml",
        "fragments/web/env/web.env",
        "oci/docker-compose.yml",  # the OCI artifact's compose file (env files renamed)
    ]
    assert git(repo, "show", "TLO%20GE/Milestone/1:fragments/web/env/web.env") == "A=1\n"
    descriptor = client.get("/descriptor/application/TLO%20GE/Milestone/1").text
    assert "env_file: fragments/web/env/web.env\n" in descriptor
    details = client.get(f"{BASE}/1").json
    [entry] = details["files"]
    assert entry["path"] == "env/web.env" and entry["stored"] == "fragments/web/env/web.env"
    assert entry["component"] == "web" and entry["size"] == 4
    served = client.get(entry["url"].removeprefix("http://localhost"))
    assert served.status_code == 200 and served.data == b"A=1\n"


def test_same_files_is_a_retry_new_content_is_a_new_version(client: FlaskClient) -> None:
    assert put(client, **{"env/web.env": b64("A=1\n")}).status_code == 201
    assert put(client, **{"env/web.env": b64("A=1\n")}).status_code == 200
    again = put(client, **{"env/web.env": b64("A=2\n")})
    assert again.status_code == 201 and again.json["versions"][0]["version"] == 2
    # a later publish of another component keeps web's file in the new version's tree
    other = publish(client, "services:\n  db: {image: busybox:latest}\n", [APP], [REL])
    assert other.json["versions"][0]["version"] == 3
    assert (
        client.get(f"{BASE}/3").json["files"][0]["sha256"]
        == (client.get(f"{BASE}/2").json["files"][0]["sha256"])
    )
    url = "/descriptor/application/TLO%20GE/Milestone/3/files/fragments/web/env/web.env"
    assert client.get(url).data == b"A=2\n"


def test_env_file_not_attached_is_accepted_with_a_warning(client: FlaskClient) -> None:
    fragment = (
        "services:\n  web:\n    image: busybox:latest\n"
        "    env_file: [web.env, {path: /etc/app.env, required: false}]\n"
    )
    answer = publish(client, fragment, [APP], [REL])
    assert answer.status_code == 201
    first, second = [w for w in answer.json["warnings"] if "mutable image" not in w]
    assert "'web.env', which was not attached: it must exist on the deploy host" in first
    assert "relative to the descriptor's folder" in first
    assert "'/etc/app.env'" in second and "required: false" in second
    descriptor = client.get("/descriptor/application/TLO%20GE/Milestone/1").text
    assert "- web.env\n" in descriptor  # kept as written
    assert client.get(f"{BASE}/1").json["files"] == []


@pytest.mark.parametrize(
    ("files", "status", "says"),
    [
        ({"../x": ""}, 400, "leaves the fragment's folder"),
        ({"env/../../x": ""}, 400, "leaves the fragment's folder"),
        ({"/etc/passwd": ""}, 400, "is absolute"),
        ({"env/web\0.env": ""}, 400, "NUL"),
        ({"a\nb": ""}, 400, "control character"),
        ({"$HOME/x": ""}, 400, "'$'"),
        ({".git/config": ""}, 400, "'.git'"),
        ({"": ""}, 400, "non-empty"),
        ({"./": ""}, 400, "names no file"),
        ({"env/web.env": "not base64!"}, 400, "not valid base64"),
        ({"env/web.env": 7}, 400, "base64 string"),
        ({"env/web.env": b64("A=1"), "./env/web.env": b64("A=1")}, 400, "same file"),
        ({"env": "", "env/web.env": ""}, 400, "both a file and a folder"),
        ({"other.env": ""}, 400, "no service of the fragment names it"),
        ({f"f{i}.env": "" for i in range(10_000)}, 400, "10000 files; the limit is 100"),
        ({"env/web.env": b64(b"x" * (256 * 1024 + 1))}, 413, "larger than the limit"),
    ],
)
def test_hostile_files_are_refused_and_nothing_is_written(
    client: FlaskClient, repo: Path, files: dict[str, Any], status: int, says: str
) -> None:
    before = (refs(repo), objects(repo))
    answer = publish(client, WEB, [APP], [REL], files=files)
    assert answer.status_code == status, answer.json
    assert answer.json["error"] in ("bad_request", "payload_too_large")
    assert says in answer.json["message"]
    assert (refs(repo), objects(repo)) == before


def test_files_must_be_an_object(client: FlaskClient) -> None:
    answer = publish(client, WEB, [APP], [REL], files=["env/web.env"])
    assert answer.status_code == 400 and answer.json["field"] == "files"


def test_a_body_over_the_limit_is_413_json(make_app: Any, repo: Path) -> None:
    client = make_app(MAX_BODY_BYTES=64 * 1024).test_client()
    answer = publish(client, WEB, [APP], [REL], files={"env/web.env": b64(b"x" * 100_000)})
    assert answer.status_code == 413 and answer.json["error"] == "payload_too_large"
    assert set(refs(repo)) <= {"refs/heads/registry.readme"}  # only what the store opens with


def test_files_endpoint_refuses_what_the_version_does_not_have(client: FlaskClient) -> None:
    put(client, **{"env/web.env": b64("A=1\n")})
    base = "/descriptor/application/TLO%20GE/Milestone/1/files/"
    for path in ("consign.json", "fragments/web.yml", "fragments/web/env/other.env", "../x"):
        answer = client.get(base + path)
        assert answer.status_code == 404, path
        assert answer.json["error"] == "not_found"


@pytest.mark.docker
def test_git_clone_checkout_and_compose_config_find_the_env_file(
    client: FlaskClient, repo: Path, tmp_path: Path
) -> None:
    fragment = WEB.replace("./env/web.env", "[./env/web.env, {path: extra.env}]")
    answer = publish(client, fragment, [APP], [REL], files={"env/web.env": b64("A=1\n")})
    assert answer.status_code == 201
    work = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(repo), str(work)])
    run(["git", "-C", str(work), "checkout", "--quiet", "TLO%20GE/Milestone/1"])
    (work / "extra.env").write_text("B=2\n")  # the unattached one: "on the deploy host"
    config = run(
        ["docker", "compose", "-p", "i13-envfile", "config", "--format", "json"], cwd=work
    ).stdout
    assert '"A": "1"' in config and '"B": "2"' in config
