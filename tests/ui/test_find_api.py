"""``GET /api/find`` (the JSON behind "Find a build") through a real `consign serve`: real
publishes and ledger reports, the read-token rule, and a 400 naming the field for every
bad parameter."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import requests

from tests.registry.test_app_ledger import report
from tests.serving import ServedRegistry
from tests.ui.conftest import READER, WEB, bamboo, publish_http

AUTH = {"Authorization": f"Bearer {READER}"}


def find(server: ServedRegistry, **query: Any) -> requests.Response:
    return requests.get(f"{server.url}/api/find", params=query, headers=AUTH, timeout=30)


def release(found: dict[str, Any]) -> tuple[str, str, list[int], list[tuple[int, int]]]:
    runs = [(r["from"], r["to"]) for r in found["runs"]]
    return found["application"], found["release"], found["versions"], runs


def running(found: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(r["environment"], r["version"], r["outcome"]) for r in found["running"]]


def test_find_answers_which_versions_hold_a_build_and_where_they_run(
    served_ui: ServedRegistry,
) -> None:
    url = served_ui.url
    # TLO GE/Milestone: #1-#3 hold web TLO-WEB #41, #4-#5 TLO-WEB #42 (conftest's HISTORY)
    for env, version, outcome in (("qa-1", 2, "ok"), ("qa-2", 4, "ok"), ("qa-3", 3, "failed")):
        body = report(version, outcome=outcome, finished="2026-12-01T10:01:00Z")
        answer = requests.post(
            f"{url}/api/environments/{env}/deployments", json=body, headers=AUTH, timeout=30
        )
        assert answer.status_code == 201, answer.text
    # another release running a version without the build is not listed as running it
    body = report(1, release="QA", application="TLO EE", finished="2026-12-01T10:02:00Z")
    assert requests.post(
        f"{url}/api/environments/qa-4/deployments", json=body, headers=AUTH, timeout=30
    ).ok

    answer = find(served_ui, component="web", build="TLO-WEB-41")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert (body["component"], body["build"], body["scan"]) == ("web", "TLO-WEB-41", 1000)
    assert [release(f) for f in body["found"]] == [
        ("TLO EE", "Milestone", [2, 1], [(1, 2)]),
        ("TLO EE", "QA", [1], [(1, 1)]),
        ("TLO GE", "Milestone", [3, 2, 1], [(1, 3)]),
        ("TLO GE", "QA", [2, 1], [(1, 2)]),
    ]
    assert {f["build"] for f in body["found"]} == {"TLO-WEB #41"}
    assert [running(f) for f in body["found"]] == [
        [],
        [("qa-4", 1, "ok")],
        [("qa-1", 2, "ok"), ("qa-3", 3, "failed")],  # qa-2 runs #4: build 42
        [],
    ]
    ge = body["found"][2]
    assert (ge["count"], ge["searched"], ge["total"], ge["complete"]) == (3, 5, 5, True)
    assert ge["running"][0]["since"] == "2026-12-01T10:01:00.000Z"
    assert body["partial"] == []

    by_revision = find(served_ui, component="web", build="feedc0f").json()
    assert [release(f) for f in by_revision["found"]] == [("TLO GE", "Milestone", [5, 4], [(4, 5)])]
    assert running(by_revision["found"][0]) == [("qa-2", 4, "ok")]
    assert find(served_ui, component="web", build="999").json()["found"] == []
    assert find(served_ui, component="nosuch", build="41").json()["found"] == []


def test_find_stops_at_scan_and_says_where(served_ui: ServedRegistry) -> None:
    body = find(served_ui, component="web", build="41", scan=1).json()
    # the newest version only: TLO GE/Milestone #5 holds build 42, TLO EE/Milestone #2 41
    assert [release(f) for f in body["found"]] == [
        ("TLO EE", "Milestone", [2], [(2, 2)]),
        ("TLO EE", "QA", [1], [(1, 1)]),
        ("TLO GE", "QA", [2], [(2, 2)]),
    ]
    assert [
        (p["application"], p["release"], p["searched"], p["total"]) for p in body["partial"]
    ] == [
        ("TLO EE", "Milestone", 1, 2),
        ("TLO GE", "Milestone", 1, 5),
        ("TLO GE", "QA", 1, 2),
    ]
    assert body["found"][0]["complete"] is False and body["found"][1]["complete"] is True


BAD = [
    ({"build": "41"}, "component"),
    ({"component": "  ", "build": "41"}, "component"),
    ({"component": "web"}, "build"),
    ({"component": "web", "build": ""}, "build"),
    ({"component": "web", "build": "41", "scan": "0"}, "scan"),
    ({"component": "web", "build": "41", "scan": "x"}, "scan"),
    ({"component": "web", "build": "41", "scan": "-1"}, "scan"),
    ({"component": "web", "build": "41", "scan": "1000001"}, "scan"),
]


def test_find_follows_the_read_token_rule_and_refuses_bad_input(
    served_ui: ServedRegistry,
) -> None:
    query = {"component": "web", "build": "41"}
    anonymous = requests.get(f"{served_ui.url}/api/find", params=query, timeout=30)
    assert anonymous.status_code == 401
    wrong = requests.get(
        f"{served_ui.url}/api/find", params=query, headers={"Authorization": "Bearer x"}, timeout=30
    )
    assert wrong.status_code == 403  # a token, but not one that reads
    basic = requests.get(f"{served_ui.url}/api/find", params=query, auth=("", READER), timeout=30)
    assert basic.status_code == 200 and basic.json()["found"]
    for bad, field in BAD:
        answer = find(served_ui, **bad)
        assert answer.status_code == 400, (bad, answer.text)
        body = answer.json()
        assert body["error"] == "bad_request" and body["field"] == field, bad
        assert repr(field) in body["message"]


def test_find_compares_the_component_name_in_nfc(tmp_path: Path) -> None:
    """A publish stores names in NFC: asking with the decomposed spelling finds them."""
    nfc = "Café"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log").start() as server:
        publish_http(server.url, WEB, ["A"], ["R"], component=nfd, build=bamboo("P", 3))
        for spelling in (nfc, nfd):
            answer = requests.get(
                f"{server.url}/api/find", params={"component": spelling, "build": "3"}, timeout=30
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["component"] == spelling  # as asked
            assert [release(f) for f in answer.json()["found"]] == [("A", "R", [1], [(1, 1)])]
