"""GET /descriptor/...: YAML, immutable caching, conditional requests, 404s and 400s."""

from __future__ import annotations

import pytest
import yaml
from flask.testing import FlaskClient

from tests.registry.conftest import publish

WEB = "web:\n  image: busybox\n"
DB = "db:\n  image: busybox\n"


@pytest.fixture
def two(client: FlaskClient) -> FlaskClient:
    publish(client, WEB, ["TLO GE"], ["Milestone"], component="web")
    publish(client, DB, ["TLO GE"], ["Milestone"], component="db")
    return client


def test_numbered_version_is_immutable_yaml(two: FlaskClient) -> None:
    response = two.get("/descriptor/application/TLO%20GE/Milestone/1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Consign-Version"] == "1"
    commit = response.headers["X-Consign-Commit"]
    assert response.headers["ETag"] == f'"{commit}"'
    assert yaml.safe_load(response.get_data(as_text=True)) == {
        "services": {"web": {"image": "busybox"}}
    }


def test_raw_space_in_path(two: FlaskClient) -> None:
    raw = two.get("/descriptor/application/TLO GE/Milestone/2")
    encoded = two.get("/descriptor/application/TLO%20GE/Milestone/2")
    assert raw.status_code == encoded.status_code == 200
    assert raw.data == encoded.data


def test_if_none_match_gives_304(two: FlaskClient) -> None:
    first = two.get("/descriptor/application/TLO%20GE/Milestone/1")
    again = two.get(
        "/descriptor/application/TLO%20GE/Milestone/1",
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304
    assert again.data == b""
    other = two.get(
        "/descriptor/application/TLO%20GE/Milestone/1", headers={"If-None-Match": '"nope"'}
    )
    assert other.status_code == 200


def test_latest_is_revalidated(two: FlaskClient) -> None:
    latest = two.get("/descriptor/application/TLO%20GE/Milestone/latest")
    second = two.get("/descriptor/application/TLO%20GE/Milestone/2")
    assert latest.headers["Cache-Control"] == "no-cache"
    assert latest.headers["X-Consign-Version"] == "2"
    assert latest.headers["ETag"] == second.headers["ETag"]
    assert latest.data == second.data
    publish(two, WEB.replace("busybox", "busybox:2"), ["TLO GE"], ["Milestone"], component="web")
    moved = two.get(
        "/descriptor/application/TLO%20GE/Milestone/latest",
        headers={"If-None-Match": latest.headers["ETag"]},
    )
    assert moved.status_code == 200
    assert moved.headers["X-Consign-Version"] == "3"


def test_fragment_verbatim(two: FlaskClient) -> None:
    response = two.get("/descriptor/application/TLO%20GE/Milestone/2/fragments/web")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == WEB
    again = two.get(
        "/descriptor/application/TLO%20GE/Milestone/2/fragments/web",
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304
    missing = two.get("/descriptor/application/TLO%20GE/Milestone/1/fragments/db")
    assert missing.status_code == 404
    assert missing.get_json()["components"] == ["web"]


@pytest.mark.parametrize(
    "path",
    [
        "/descriptor/application/Nope/Milestone/1",
        "/descriptor/application/TLO%20GE/Nope/1",
        "/descriptor/application/TLO%20GE/Milestone/3",
        "/descriptor/application/TLO%20GE/Milestone/999999999999999999",
        "/descriptor/application/Nope/Milestone/latest",
        "/descriptor/application/TLO%20GE/Milestone/9/fragments/web",
    ],
)
def test_unknown_is_404_json(two: FlaskClient, path: str) -> None:
    response = two.get(path)
    assert response.status_code == 404
    data = response.get_json()
    assert data["error"] == "not_found" and data["message"]


@pytest.mark.parametrize("version", ["0", "-1", "1.0", "abc", "LATEST", "1e3", "\u0661", "9" * 19])
def test_bad_version_is_400(two: FlaskClient, version: str) -> None:
    response = two.get(f"/descriptor/application/TLO%20GE/Milestone/{version}")
    assert response.status_code == 400
    assert "version" in response.get_json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/descriptor/application/%00/Milestone/1",
        "/descriptor/application/a%2Fb/Milestone/1",
        "/descriptor/application/" + "x" * 300 + "/Milestone/1",
        "/descriptor/application/%FF%FE/Milestone/1",
        "/descriptor/application/TLO%20GE/Milestone/1/fragments/%0A",
        "/descriptor/application/TLO%20GE/Milestone",
    ],
)
def test_odd_paths_are_4xx_json(two: FlaskClient, path: str) -> None:
    response = two.get(path)
    assert 400 <= response.status_code < 500
    assert set(response.get_json()) >= {"error", "message"}
