"""Fixtures for the web UI's tests: the registry fixtures (a fresh repo checked by
``git fsck``, the app and its test client), a history published through the API, and a
real ``consign serve`` filled by real publishes for the browser."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from tests.registry.conftest import app, client, make_app, publish, repo  # noqa: F401
from tests.serving import ServedRegistry

WEB = "web:\n  image: busybox:1\n  command: httpd -f -p 8080\n"
WEB2 = "web:\n  image: busybox:2\n  command: httpd -f -p 8080\n  environment:\n    MODE: fast\n"
DB = "db:\n  image: busybox:1\n  volumes_from:\n    - data\n"
DATA = "data:\n  image: busybox:1\n  command: 'true'\n"
PLEX = "plex:\n  image: busybox:1\n  volumes_from:\n    - bittorrent-sync-data\n"


def bamboo(plan: str, number: int, revision: str = "") -> dict[str, Any]:
    """A build info as `consign publish` sends it from a Bamboo plan."""
    build: dict[str, Any] = {
        "ci": "bamboo",
        "planKey": plan,
        "buildNumber": str(number),
        "buildResultKey": f"{plan}-{number}",
        "buildResultsUrl": f"https://bamboo.example/browse/{plan}-{number}",
    }
    if revision:
        build["planRepository.revision"] = revision
    return build


#: (fragment, applications, releases, component, build): the history every UI test reads.
#: TLO GE/Milestone gets versions 1..5, TLO GE/QA 1..2, TLO EE/Milestone 1..2.
HISTORY: list[tuple[str, list[str], list[str], str, dict[str, Any]]] = [
    (
        WEB,
        ["TLO GE", "TLO EE"],
        ["Milestone", "QA"],
        "web",
        bamboo("TLO-WEB", 41, "a1b2c3d4e5f6a7b8"),
    ),
    (DB, ["TLO GE", "TLO EE"], ["Milestone"], "db", bamboo("TLO-DB", 7)),
    (DATA, ["TLO GE"], ["Milestone", "QA"], "data", bamboo("TLO-DATA", 3)),
    (WEB2, ["TLO GE"], ["Milestone"], "web", bamboo("TLO-WEB", 42, "feedc0ffee123456")),
    (PLEX, ["TLO GE"], ["Milestone"], "plex", {"buildNumber": 9}),
]


def fill_client(test_client: FlaskClient) -> None:
    for fragment, apps, rels, component, build in HISTORY:
        answer = publish(test_client, fragment, apps, rels, component=component, build=build)
        assert answer.status_code == 201, answer.get_json()


def publish_http(base: str, fragment: str, apps: list[str], rels: list[str], **extra: Any) -> None:
    token = extra.pop("token", None)
    body = {
        "fragment": base64.b64encode(fragment.encode()).decode(),
        "applications": apps,
        "releases": rels,
        **extra,
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = requests.put(f"{base}/fragment", json=body, headers=headers, timeout=30)
    assert answer.status_code == 201, answer.text


@pytest.fixture
def history(client: FlaskClient) -> FlaskClient:  # noqa: F811
    fill_client(client)
    return client


READER, PUBLISHER = "qa-reader-token-1", "ci-publisher-token-1"


@pytest.fixture
def served_ui(repo: Path, tmp_path: Path) -> Iterator[ServedRegistry]:  # noqa: F811
    """A real `consign serve` (2 workers) with read and publish tokens and a Rundeck link,
    filled by real publishes."""
    env = {
        "CONSIGN_READ_TOKENS": READER,
        "CONSIGN_PUBLISH_TOKENS": PUBLISHER,
        "CONSIGN_UI_RUNDECK_URL_TEMPLATE": (
            "https://rundeck.example/project/ops/job/show/deploy"
            "?opt.application={application}&opt.release={release}&opt.version={version}"
        ),
    }
    with ServedRegistry(repo, tmp_path / "serve.log", env=env, workers=2).start() as server:
        for fragment, apps, rels, component, build in HISTORY:
            publish_http(
                server.url, fragment, apps, rels, component=component, build=build, token=PUBLISHER
            )
        yield server
