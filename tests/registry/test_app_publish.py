"""PUT/POST /fragment through the Flask test client: versions, retries, conflicts, answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from consign.process import run
from tests.registry.conftest import b64, objects, publish, refs

WEB = "services:\n  web:\n    image: busybox\n    container_name: web\n"
DB = "services:\n  db:\n    image: busybox\n    container_name: db\n"


def services(client: FlaskClient, app: str, rel: str, version: str) -> dict[str, Any]:
    response = client.get(f"/descriptor/application/{app}/{rel}/{version}")
    assert response.status_code == 200
    doc: dict[str, Any] = yaml.safe_load(response.get_data(as_text=True))
    return doc["services"]


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_first_publish_creates_version_1(client: FlaskClient, method: str) -> None:
    body = {"fragment": b64(WEB), "applications": ["A", "B"], "releases": ["R"]}
    response = client.open("/fragment", method=method, json=body)
    assert response.status_code == 201
    data = response.get_json()
    assert data["warnings"] == [
        "service 'web' uses the mutable image reference 'busybox' and is not pinned: publish "
        "a unique tag or use consign publish --pin-images"
    ]
    assert {(v["component"], v["state"]) for v in data["versions"]} == {("web", "warnings")}
    assert [(v["application"], v["release"], v["version"]) for v in data["versions"]] == [
        ("A", "R", 1),
        ("B", "R", 1),
    ]
    first = data["versions"][0]
    assert first["created"] is True
    assert first["url"] == "http://localhost/descriptor/application/A/R/1"
    assert response.headers["Location"] == first["url"]
    assert len(first["commit"]) == 40
    assert services(client, "A", "R", "1") == {"web": {"image": "busybox", "container_name": "web"}}


def test_versions_rise_by_one_and_accumulate(client: FlaskClient) -> None:
    assert publish(client, WEB, ["A"], ["R"]).get_json()["versions"][0]["version"] == 1
    assert publish(client, DB, ["A"], ["R"]).get_json()["versions"][0]["version"] == 2
    changed = WEB.replace("busybox", "busybox:1.36")
    third = publish(client, changed, ["A"], ["R"]).get_json()["versions"][0]
    assert third["version"] == 3
    assert list(services(client, "A", "R", "3")) == ["web", "db"]
    assert services(client, "A", "R", "3")["web"]["image"] == "busybox:1.36"
    assert services(client, "A", "R", "1") == {"web": {"image": "busybox", "container_name": "web"}}


def test_retry_answers_200_and_creates_nothing(client: FlaskClient, repo: Path) -> None:
    first = publish(client, WEB, ["A"], ["R"], build={"plan": "P-1"})
    before = refs(repo)
    retry = publish(client, WEB, ["A"], ["R"], build={"plan": "P-1"})
    assert retry.status_code == 200
    assert "Location" not in retry.headers
    version = retry.get_json()["versions"][0]
    assert version["created"] is False
    assert version["version"] == 1
    assert version["commit"] == first.get_json()["versions"][0]["commit"]
    assert refs(repo) == before


def test_partial_retry_is_201_with_created_flags(client: FlaskClient) -> None:
    publish(client, WEB, ["A"], ["R"])
    response = publish(client, WEB, ["A", "B"], ["R"])
    assert response.status_code == 201
    flags = [
        (v["application"], v["version"], v["created"]) for v in response.get_json()["versions"]
    ]
    assert flags == [("A", 1, False), ("B", 1, True)]
    assert response.headers["Location"].endswith("/descriptor/application/B/R/1")


def test_component_and_build_are_recorded(client: FlaskClient) -> None:
    build = {"plan": "TLO-WEB", "number": 42, "digests": {"web": "sha256:" + "a" * 64}}
    publish(client, WEB, ["A"], ["R"], component="frontend", build=build)
    info = client.get("/api/applications/A/releases/R/versions/1").get_json()
    assert info["component"] == "frontend"
    assert info["build"] == build
    assert info["components"][0]["name"] == "frontend"
    assert info["components"][0]["build"] == build
    fragment = client.get("/descriptor/application/A/R/1/fragments/frontend")
    assert fragment.get_data(as_text=True) == WEB


def test_conflict_is_409_and_writes_nothing(client: FlaskClient, repo: Path) -> None:
    publish(client, WEB, ["A", "B"], ["R"], component="one")
    publish(client, DB, ["B"], ["R"], component="two")
    before, stored = refs(repo), objects(repo)
    # "two" now claims web as well: on B, web belongs to "one" -> refused for A and B alike.
    both = WEB + DB.removeprefix("services:\n")
    response = publish(client, both, ["A", "B"], ["R"], component="two")
    assert response.status_code == 409
    data = response.get_json()
    assert data["error"] == "conflict"
    assert "one" in data["message"] and "two" in data["message"]
    assert refs(repo) == before
    assert objects(repo) == stored


def test_duplicate_container_name_is_409(client: FlaskClient, repo: Path) -> None:
    publish(client, WEB, ["A"], ["R"])
    before = refs(repo)
    clash = "services:\n  other:\n    image: busybox\n    container_name: web\n"
    response = publish(client, clash, ["A"], ["R"])
    assert response.status_code == 409
    assert "web" in response.get_json()["message"]
    assert refs(repo) == before


def test_dangling_reference_is_a_warning(client: FlaskClient) -> None:
    plex = "plex:\n  image: busybox\n  volumes_from:\n  - bittorrent-sync-data\n"
    response = publish(client, plex, ["A"], ["R"])
    assert response.status_code == 201
    warnings = response.get_json()["versions"][0]["warnings"]
    assert any("bittorrent-sync-data" in w for w in warnings), warnings


def test_git_layout(client: FlaskClient, repo: Path) -> None:
    publish(client, WEB, ["TLO GE"], ["Milestone"], component="web")
    tags = run(["git", "--git-dir", str(repo), "tag", "--list"]).stdout.split()
    assert tags == ["TLO%20GE/Milestone/1"]
    tree = run(["git", "--git-dir", str(repo), "ls-tree", "-r", "--name-only", tags[0]]).stdout
    assert {"docker-compose.yml", "fragments/web.yml", "consign.json"} <= set(tree.split())
