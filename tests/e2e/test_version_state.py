"""Every version says whether it can be deployed (contract 4), through a real `consign
serve`: the versions API, one version's details, the Rundeck labels, and Rundeck's
preselected version (the newest deployable one, not merely the newest)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from registry.store.manifest import version_info
from tests.serving import ServedRegistry, serving

APP, REL = "TLO GE", "Milestone"
WEB = "services:\n  web:\n    image: tlo/web:41\n"
PLEX = "plex:\n  image: tlo/plex:7\n  volumes_from:\n  - bittorrent-sync-data\n"
TRANSMISSION = "services:\n  transmission:\n    image: tlo/transmission:${TAG}\n"
SYNC = "services:\n  bittorrent-sync-data:\n    image: busybox:1.36\n    volumes: [/sync]\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedRegistry]:
    with serving(ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log")) as server:
        yield server


def publish(url: str, text: str) -> dict[str, Any]:
    body = {
        "fragment": base64.b64encode(text.encode()).decode(),
        "applications": [APP],
        "releases": [REL],
    }
    response = requests.put(f"{url}/fragment", json=body, timeout=30)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def rundeck(url: str) -> list[dict[str, Any]]:
    params = {"application": APP, "release": REL}
    answer = requests.get(f"{url}/rundeck/options/versions", params=params, timeout=30)
    assert answer.status_code == 200
    entries: list[dict[str, Any]] = answer.json()
    return entries


def states(url: str) -> dict[int, tuple[str, str]]:
    api = f"{url}/api/applications/TLO%20GE/releases/Milestone/versions"
    return {
        v["version"]: (v["state"], v["state_reason"])
        for v in requests.get(api, timeout=30).json()["versions"]
    }


def test_state_everywhere(served: ServedRegistry) -> None:
    url = served.url
    first = publish(url, WEB)
    assert first["versions"][0]["state"] == "ok" and first["warnings"] == []
    assert [e.get("selected") for e in rundeck(url)] == [True]

    second = publish(url, PLEX)
    incomplete = ("incomplete", "incomplete: plex → bittorrent-sync-data")
    assert (second["versions"][0]["state"], second["versions"][0]["state_reason"]) == incomplete
    entries = rundeck(url)
    assert [e["value"] for e in entries] == ["2", "1"]
    assert entries[0]["name"].startswith("#2 (latest) · incomplete: plex → bittorrent-sync-data · ")
    assert "selected" not in entries[0] and entries[1]["selected"] is True
    assert " · incomplete" not in entries[1]["name"]

    third = publish(url, TRANSMISSION)
    variable = (
        "variable ${TAG} (services.transmission.image) is left as is: resolved on the deploy host"
    )
    assert variable in third["warnings"] and variable in third["versions"][0]["warnings"]
    assert third["versions"][0]["state"] == "incomplete"  # plex still dangles

    publish(url, SYNC)
    assert states(url) == {
        4: ("warnings", "warnings: ${TAG} unresolved"),
        3: incomplete,
        2: incomplete,
        1: ("ok", ""),
    }
    details = requests.get(
        f"{url}/api/applications/TLO%20GE/releases/Milestone/versions/latest", timeout=30
    ).json()
    assert (details["version"], details["state"]) == (4, "warnings")
    assert details["state_reason"] == "warnings: ${TAG} unresolved"
    entries = rundeck(url)
    assert [e.get("selected", False) for e in entries] == [True, False, False, False]
    assert entries[0]["name"].startswith("#4 (latest) · warnings: ${TAG} unresolved · ")
    stored = requests.get(
        f"{url}/descriptor/application/TLO%20GE/Milestone/4/fragments/transmission", timeout=30
    )
    assert stored.text == TRANSMISSION  # stored as is


def test_nothing_is_preselected_when_no_listed_version_is_deployable(
    served: ServedRegistry,
) -> None:
    publish(served.url, PLEX)
    assert [e.get("selected", False) for e in rundeck(served.url)] == [False]


def test_versions_recorded_before_states_get_one_from_their_warnings() -> None:
    manifest = (
        b'{"application": "A", "release": "R", "version": 3, "created": "2026-01-01T00:00:00Z",'
        b' "component": "plex", "build": {}, "components": [], "warnings": ['
        b"\"service 'plex' refers to 'bittorrent-sync-data' (volumes_from), which no "
        b'component provides yet"]}'
    )
    info = version_info(manifest, "c" * 40, "A/R/3")
    assert (info.state, info.state_reason) == (
        "incomplete",
        "incomplete: plex → bittorrent-sync-data",
    )
    clean = manifest.split(b', "warnings"')[0] + b"}"
    assert (version_info(clean, "c" * 40, "A/R/3").state) == "ok"
