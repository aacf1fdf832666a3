"""Conformance of the OCI pull endpoints (the distribution spec's subset Compose uses), the
artifact's layout, deterministic digests, the name mapping and its collisions."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from registry import ocinames
from tests.registry.conftest import b64, objects, publish, refs

APP, REL = "TLO GE", "Milestone"
NAME = "/v2/tlo-ge/milestone"
WEB = "services:\n  web:\n    image: busybox:latest\n    env_file: env/web.env\n"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def errors(answer: Any) -> list[str]:
    body = json.loads(answer.data)
    assert set(body) == {"errors"}
    assert all({"code", "message", "detail"} <= set(e) for e in body["errors"])
    return [e["code"] for e in body["errors"]]


@pytest.fixture
def published(client: FlaskClient) -> FlaskClient:
    answer = publish(client, WEB, [APP], [REL], files={"env/web.env": b64("A=1\n")})
    assert answer.status_code == 201
    return client


def test_base_answers_with_the_api_version(client: FlaskClient) -> None:
    answer = client.get("/v2/")
    assert answer.status_code == 200 and answer.json == {}
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_manifest_by_tag_head_and_get(published: FlaskClient) -> None:
    got = published.get(f"{NAME}/manifests/1")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == MANIFEST
    assert got.headers["Docker-Content-Digest"] == sha(got.data)
    assert int(got.headers["Content-Length"]) == len(got.data)
    head = published.head(f"{NAME}/manifests/1")
    assert head.status_code == 200 and head.data == b""
    for header in ("Content-Type", "Docker-Content-Digest", "Content-Length"):
        assert head.headers[header] == got.headers[header]
    by_digest = published.get(f"{NAME}/manifests/{got.headers['Docker-Content-Digest']}")
    assert by_digest.status_code == 200 and by_digest.data == got.data
    assert published.get(f"{NAME}/manifests/latest").data == got.data


def test_the_artifact_is_a_compose_project(published: FlaskClient, repo: Path) -> None:
    manifest = json.loads(published.get(f"{NAME}/manifests/1").data)
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == MANIFEST
    assert manifest["artifactType"] == "application/vnd.docker.compose.project"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert manifest["config"]["digest"] == sha(b"{}") and manifest["config"]["size"] == 2
    compose, envfile = manifest["layers"]
    assert compose["mediaType"] == "application/vnd.docker.compose.file+yaml"
    assert compose["annotations"]["com.docker.compose.file"] == "docker-compose.yml"
    assert compose["annotations"]["com.docker.compose.version"]
    assert envfile["mediaType"] == "application/vnd.docker.compose.envfile"
    flat = envfile["annotations"]["com.docker.compose.envfile"]
    assert "/" not in flat and flat.endswith(".env")
    layer = published.get(f"{NAME}/blobs/{compose['digest']}").data
    assert f"env_file: {flat}\n".encode() in layer
    assert published.get(f"{NAME}/blobs/{envfile['digest']}").data == b"A=1\n"
    details = published.get("/api/applications/TLO%20GE/releases/Milestone/versions/1").json
    notes = manifest["annotations"]
    assert notes["org.opencontainers.image.revision"] == details["commit"]
    assert notes["org.opencontainers.image.created"] == details["created"]
    assert notes["io.consignment.application"] == APP
    assert notes["io.consignment.release"] == REL
    assert notes["io.consignment.version"] == "1"
    assert json.loads(notes["io.consignment.builds"]) == {"web": {}}
    assert details["oci"] == "oci://localhost/tlo-ge/milestone:1"


def test_blobs_head_and_get(published: FlaskClient) -> None:
    manifest = json.loads(published.get(f"{NAME}/manifests/1").data)
    for layer in [manifest["config"], *manifest["layers"]]:
        got = published.get(f"{NAME}/blobs/{layer['digest']}")
        assert got.status_code == 200 and sha(got.data) == layer["digest"]
        assert len(got.data) == layer["size"] == int(got.headers["Content-Length"])
        assert got.headers["Docker-Content-Digest"] == layer["digest"]
        assert got.headers["Content-Type"] == "application/octet-stream"
        head = published.head(f"{NAME}/blobs/{layer['digest']}")
        assert head.status_code == 200 and head.data == b""
        assert head.headers["Content-Length"] == str(layer["size"])
        # a layer is not a manifest: clients fall back from manifests/ to blobs/
        assert published.head(f"{NAME}/manifests/{layer['digest']}").status_code == 404
        assert errors(published.get(f"{NAME}/manifests/{layer['digest']}")) == ["MANIFEST_UNKNOWN"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v2/nope/milestone/manifests/1", 404, "NAME_UNKNOWN"),
        ("/v2/tlo-ge/manifests/1", 404, "NAME_UNKNOWN"),
        ("/v2/tlo-ge/milestone/x/manifests/1", 404, "NAME_UNKNOWN"),
        (f"{NAME}/manifests/2", 404, "MANIFEST_UNKNOWN"),
        (f"{NAME}/manifests/0", 404, "MANIFEST_UNKNOWN"),
        (f"{NAME}/manifests/v1", 404, "MANIFEST_UNKNOWN"),
        (f"{NAME}/manifests/sha256:{'0' * 64}", 404, "MANIFEST_UNKNOWN"),
        (f"{NAME}/blobs/sha256:{'0' * 64}", 404, "BLOB_UNKNOWN"),
        (f"{NAME}/manifests/sha256:xyz", 400, "DIGEST_INVALID"),
        (f"{NAME}/blobs/sha256:{'A' * 64}", 400, "DIGEST_INVALID"),
        (f"{NAME}/blobs/md5:{'0' * 32}", 400, "DIGEST_INVALID"),
        (f"{NAME}/blobs/notadigest", 400, "DIGEST_INVALID"),
        (f"{NAME}/something", 404, "NAME_UNKNOWN"),
    ],
)
def test_unknowns_and_bad_digests_answer_the_spec_error(
    published: FlaskClient, path: str, status: int, code: str
) -> None:
    answer = published.get(path)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/json"
    assert errors(answer) == [code]
    assert published.head(path).status_code == status


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH"])
@pytest.mark.parametrize(
    "path", ["/v2/", f"{NAME}/manifests/1", f"{NAME}/blobs/uploads/", f"{NAME}/manifests/9"]
)
def test_writes_are_unsupported(published: FlaskClient, repo: Path, method: str, path: str) -> None:
    before = (refs(repo), objects(repo))
    answer = published.open(path, method=method, data=b"{}")
    assert answer.status_code == 405 and errors(answer) == ["UNSUPPORTED"]
    assert answer.headers["Allow"] == "GET, HEAD"
    assert (refs(repo), objects(repo)) == before


def test_latest_follows_numbered_digests_never_change(
    published: FlaskClient, make_app: Any
) -> None:
    first = published.get(f"{NAME}/manifests/1").headers["Docker-Content-Digest"]
    assert (
        publish(published, "services:\n  db: {image: busybox:latest}\n", [APP], [REL]).status_code
        == 201
    )
    assert published.get(f"{NAME}/manifests/1").headers["Docker-Content-Digest"] == first
    second = published.get(f"{NAME}/manifests/2").headers["Docker-Content-Digest"]
    assert second != first
    assert published.get(f"{NAME}/manifests/latest").headers["Docker-Content-Digest"] == second
    assert published.get(f"{NAME}/tags/list").json == {
        "name": "tlo-ge/milestone",
        "tags": ["1", "2", "latest"],
    }
    # another process (a fresh app on the same repository) computes the same digests
    fresh = make_app().test_client()
    assert fresh.get(f"{NAME}/manifests/1").headers["Docker-Content-Digest"] == first
    manifest = json.loads(fresh.get(f"{NAME}/manifests/{first}").data)
    assert fresh.get(f"{NAME}/blobs/{manifest['layers'][1]['digest']}").data == b"A=1\n"


def test_a_digest_asked_before_it_exists_is_found_once_published(
    client: FlaskClient, make_app: Any
) -> None:
    """A miss is remembered with the newest version searched; a later version is still found."""
    one, two = "services:\n  a: {image: busybox:latest}\n", "services:\n  b: {image: x}\n"
    for app in ("Other", "Third"):
        publish(client, one, [app], [REL])
    publish(client, two, ["Third"], [REL])  # Third v2 is what Other v2 will be
    future = sha(client.get("/descriptor/application/Third/Milestone/2").data)
    fresh = make_app().test_client()  # another worker: nothing of Other v2 built there
    assert fresh.get(f"/v2/other/milestone/blobs/{future}").status_code == 404
    publish(client, two, ["Other"], [REL])
    assert fresh.get(f"/v2/other/milestone/blobs/{future}").status_code == 200
    assert fresh.get(f"/v2/third/milestone/blobs/{future}").status_code == 200
    assert fresh.get(f"/v2/other/milestone/blobs/{sha(b'nothing')}").status_code == 404


def test_reads_follow_the_read_token_rule_with_a_basic_challenge(make_app: Any) -> None:
    client = make_app(READ_TOKENS="r3ad").test_client()
    answer = client.get(f"{NAME}/manifests/1")
    assert answer.status_code == 401 and errors(answer) == ["UNAUTHORIZED"]
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="consign"'
    assert client.get("/v2/").status_code == 401
    wrong = client.get("/v2/", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and errors(wrong) == ["DENIED"]
    basic = base64.b64encode(b"anyone:r3ad").decode()
    assert client.get("/v2/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert client.get("/v2/", headers={"Authorization": "Bearer r3ad"}).status_code == 200


@pytest.mark.parametrize(
    ("name", "mapped"),
    [
        ("TLO GE", "tlo-ge"),
        ("Milestone 2.1", "milestone-2-1"),
        ("--a__b--", "a-b"),
        ("Ünïcode", "n-code"),
        ("x", "x"),
    ],
)
def test_name_mapping(name: str, mapped: str) -> None:
    assert ocinames.component(name) == mapped


def test_a_name_with_nothing_left_maps_to_a_hash() -> None:
    mapped = ocinames.component("ÜÜ")
    assert mapped.startswith("n-") and len(mapped) == 10
    assert ocinames.component("ÜÜ") == mapped != ocinames.component("ÄÄ")


def test_a_new_name_colliding_in_oci_is_refused(published: FlaskClient, repo: Path) -> None:
    before = (refs(repo), objects(repo))
    fragment = "services:\n  db: {image: busybox:latest}\n"
    answer = publish(published, fragment, ["tlo-ge"], [REL])
    assert answer.status_code == 409
    assert "'tlo-ge'" in answer.json["message"] and "'TLO GE'" in answer.json["message"]
    answer = publish(published, fragment, [APP], ["MILESTONE"])
    assert answer.status_code == 409 and answer.json["names"] == [REL, "MILESTONE"]
    answer = publish(published, fragment, ["A B", "a.b"], [REL])  # two new ones at once
    assert answer.status_code == 409
    assert (refs(repo), objects(repo)) == before
    assert publish(published, fragment, ["TLO EE"], ["MILESTONE"]).status_code == 201
