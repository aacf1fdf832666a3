"""The JSON discovery API under /api."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.registry.conftest import publish

WEB = "web:\n  image: busybox\n"
DB = "db:\n  image: busybox\n"
BASE = "/api/applications/TLO%20GE/releases/Milestone"


@pytest.fixture
def history(client: FlaskClient) -> FlaskClient:
    publish(client, WEB, ["TLO GE", "TLO EE"], ["Milestone"], component="web", build={"n": 1})
    publish(client, DB, ["TLO GE"], ["Milestone", "Next"], component="db", build={"n": 2})
    publish(client, WEB.replace("busybox", "busybox:2"), ["TLO GE"], ["Milestone"], build={"n": 3})
    cache = "cache:\n  image: busybox\n"
    publish(client, cache, ["TLO GE"], ["Milestone"], component="db", build={"n": 4})
    return client


def test_applications_and_releases(history: FlaskClient) -> None:
    assert history.get("/api/applications").get_json() == {"applications": ["TLO EE", "TLO GE"]}
    releases = history.get("/api/applications/TLO%20GE/releases").get_json()
    assert releases == {
        "application": "TLO GE",
        "releases": ["Milestone", "Next"],
        "prepared": [],
        "frozen": {},
    }


def test_versions_newest_first_with_builds(history: FlaskClient) -> None:
    data = history.get(f"{BASE}/versions").get_json()
    assert [v["version"] for v in data["versions"]] == [4, 3, 2, 1]
    newest = data["versions"][0]
    assert set(newest) >= {
        "version",
        "created",
        "commit",
        "component",
        "build",
        "components",
        "warnings",
        "url",
    }
    assert newest["url"] == "http://localhost/descriptor/application/TLO%20GE/Milestone/4"
    third = data["versions"][1]
    assert third["component"] == "web" and third["build"] == {"n": 3}
    assert {c["name"]: c["build"] for c in third["components"]} == {"web": {"n": 3}, "db": {"n": 2}}


def test_versions_paging(history: FlaskClient) -> None:
    page = history.get(f"{BASE}/versions?limit=2").get_json()["versions"]
    assert [v["version"] for v in page] == [4, 3]
    rest = history.get(f"{BASE}/versions?limit=2&before=3").get_json()["versions"]
    assert [v["version"] for v in rest] == [2, 1]


def test_default_page_size_and_the_rundeck_list_are_configured_apart(make_app: Any) -> None:
    client = make_app(DEFAULT_LIST_LIMIT=3, RUNDECK_LIST_LIMIT=5).test_client()
    for n in range(7):
        publish(client, WEB, ["TLO GE"], ["Milestone"], component="web", build={"n": n})
    page = client.get(f"{BASE}/versions").get_json()["versions"]
    assert [v["version"] for v in page] == [7, 6, 5]
    options = client.get("/rundeck/options/versions?application=TLO+GE&release=Milestone")
    assert [o["value"] for o in options.get_json()] == ["7", "6", "5", "4", "3"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=-1", "limit=abc", "limit=100000", "before=x", "before=0"]
)
def test_versions_bad_numbers_400(history: FlaskClient, query: str) -> None:
    response = history.get(f"{BASE}/versions?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.get_json()["message"]


def test_one_version(history: FlaskClient) -> None:
    one = history.get(f"{BASE}/versions/2").get_json()
    assert one["version"] == 2 and one["component"] == "db"
    latest = history.get(f"{BASE}/versions/latest").get_json()
    assert latest["version"] == 4


def test_diff(history: FlaskClient) -> None:
    data = history.get(f"{BASE}/diff?from=1&to=3").get_json()
    assert data["from"] == 1 and data["to"] == 3
    assert data["added"] == [{"service": "db", "component": "db", "build": {"n": 2}}]
    assert data["removed"] == []
    assert data["changed"] == [
        {
            "service": "web",
            "component": "web",
            "build": {"n": 3},
            "previous_component": "web",
            "previous_build": {"n": 1},
        }
    ]
    assert data["rebuilt"] == []
    assert "+    image: busybox:2\n" in data["diff"]
    assert data["diff"].startswith("--- TLO GE/Milestone/1/docker-compose.yml")


def test_diff_across_releases_and_rebuilds(history: FlaskClient) -> None:
    """Milestone #4 against Next #1 (another release); a new build of the same fragment is
    "rebuilt": the YAML is equal but QA got another build."""
    data = history.get(
        f"{BASE}/diff?from_application=TLO%20GE&from_release=Next&from=1&to=4"
    ).get_json()
    assert (data["from_release"], data["from"], data["to"]) == ("Next", 1, 4)
    assert [e["service"] for e in data["added"]] == ["web", "cache"]
    assert [e["service"] for e in data["removed"]] == ["db"]
    assert data["diff"].startswith("--- TLO GE/Next/1/docker-compose.yml")
    publish(history, DB, ["TLO GE"], ["Next"], component="db", build={"n": 5})
    rebuilt = history.get("/api/applications/TLO%20GE/releases/Next/diff").get_json()
    assert rebuilt["changed"] == [] and rebuilt["diff"] == ""
    assert rebuilt["rebuilt"] == [
        {
            "service": "db",
            "component": "db",
            "build": {"n": 5},
            "previous_component": "db",
            "previous_build": {"n": 2},
        }
    ]
    other = history.get(f"{BASE}/diff?from_release=Next&to=4")
    assert other.status_code == 400 and other.get_json()["field"] == "from"


def test_diff_defaults_to_previous_version(history: FlaskClient) -> None:
    data = history.get(f"{BASE}/diff").get_json()
    assert (data["from"], data["to"]) == (3, 4)
    assert data["removed"] == [{"service": "db", "component": "db", "build": {"n": 2}}]
    assert data["added"] == [{"service": "cache", "component": "db", "build": {"n": 4}}]
    first = history.get(f"{BASE}/diff?to=1").get_json()
    assert first["from"] == 0 and [a["service"] for a in first["added"]] == ["web"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/applications/Nope/releases",
        "/api/applications/Nope/releases/Milestone/versions",
        "/api/applications/TLO%20GE/releases/Nope/versions",
        f"{BASE}/versions/99",
        f"{BASE}/diff?from=1&to=99",
        "/api/applications/TLO%20EE/releases/Milestone/diff?from=2",
    ],
)
def test_unknown_404(history: FlaskClient, path: str) -> None:
    response = history.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("query", ["from=x", "to=0", "from=1.5", "to=-2"])
def test_diff_bad_numbers_400(history: FlaskClient, query: str) -> None:
    assert history.get(f"{BASE}/diff?{query}").status_code == 400


def test_empty_registry(client: FlaskClient) -> None:
    assert client.get("/api/applications").get_json() == {"applications": []}


def test_diff_reads_definitions_only_where_a_fragment_changed(client: FlaskClient) -> None:
    """A component with two services republished with one of them changed: that one is
    "changed", its sibling (same definition, the component's new build) "rebuilt"."""
    pair = "a:\n  image: busybox\nb:\n  image: busybox\n"
    publish(client, pair, ["X"], ["R"], component="pair", build={"n": 1})
    publish(client, DB, ["X"], ["R"], component="db", build={"n": 1})
    publish(
        client,
        pair.replace("busybox\nb", "busybox:2\nb"),
        ["X"],
        ["R"],
        component="pair",
        build={"n": 2},
    )
    data = client.get("/api/applications/X/releases/R/diff?from=2&to=3").get_json()
    assert [e["service"] for e in data["changed"]] == ["a"]
    assert [(e["service"], e["previous_build"], e["build"]) for e in data["rebuilt"]] == [
        ("b", {"n": 1}, {"n": 2})
    ]
    assert data["added"] == data["removed"] == []
