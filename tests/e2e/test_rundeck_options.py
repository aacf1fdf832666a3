"""Every valuesUrl of rundeck-jobs/, expanded as Rundeck expands it, on a live registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import StartRegistry
from tests.e2e.rundeck_expand import expand_values_url
from tests.e2e.serve import publish
from tests.serving import ServedRegistry

ROOT = Path(__file__).resolve().parents[2]
APP, REL = "TLO GE", "Milestone 2"
BUILDS = [
    ("web", {"bamboo_planKey": "TLO-WEB", "bamboo_buildNumber": "41"}),
    ("db", {"bamboo_planKey": "TLO-DB", "bamboo_buildNumber": "7"}),
    ("worker", {"bamboo_buildResultKey": "TLO-WRK-3", "bamboo_buildNumber": "3"}),
]


def _write(tmp_path: Path, service: str) -> Path:
    path = tmp_path / f"{service}.yml"
    path.write_text(f"services:\n  {service}:\n    image: busybox:latest\n")
    return path


@pytest.fixture(scope="module")
def filled(
    module_registry: ServedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> ServedRegistry:
    """Three CI builds published to TLO GE/Milestone 2, one to another application."""
    tmp_path = tmp_path_factory.mktemp("rd-fragments")
    for service, build in BUILDS:
        publish(module_registry.url, _write(tmp_path, service), APP, REL, build=build)
    publish(module_registry.url, _write(tmp_path, "api"), "Billing", "R1")
    _deployed(module_registry.url, "qa-1", APP, REL, 2)
    return module_registry


def _deployed(registry: str, environment: str, app: str, release: str, version: int) -> None:
    """A deployment recorded in the ledger, as the deployer reports one."""
    from deployer.ledger import record
    from deployer.ledger.client import LedgerClient

    now = record.utc_now()
    body = record.build(
        kind="deploy", environment=environment, application=app, release=release,
        version=version, commit=None, outcome="ok", started=now, finished=now, by="rd-test",
        engine={"name": "host", "id": None, "host": None, "project": "tlo"}, source=registry,
        service_entries=[],
    )  # fmt: skip
    LedgerClient(registry).report(body)


def value_urls() -> list[tuple[str, str, str]]:
    import yaml

    found = []
    for path in sorted((ROOT / "rundeck-jobs").glob("*.yaml")):
        for job in yaml.safe_load(path.read_text()):
            for opt in job.get("options", []):
                if "valuesUrl" in opt:
                    found.append((f"{path.name}:{opt['name']}", opt["name"], opt["valuesUrl"]))
    return found


def fetch(server: ServedRegistry, url: str) -> requests.Response:
    """GET the URL exactly as Rundeck expanded it (it names the registry's address)."""
    assert url.startswith(f"{server.url}/rundeck/options/"), url
    return requests.get(url, timeout=10)


def expand(server: ServedRegistry, url: str, option: str, chosen: dict[str, str]) -> str:
    return expand_values_url(
        url,
        option,
        chosen,
        {"registry_host": server.host, "registry_port": str(server.port)},
        {"project": "ops"},
    )


def entries(answer: requests.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].split(";")[0] == "application/json"
    body = answer.json()
    assert isinstance(body, list)
    for entry in body:
        assert isinstance(entry["name"], str) and isinstance(entry["value"], str)
        assert set(entry) <= {"name", "value", "selected"}
    return body


EXPECTED = {
    "application": [APP, "Billing"],
    "release": [REL],
    "version": ["3", "2", "1"],
    "good": ["3", "2", "1"],  # bisect.yaml: the range's ends, among the versions
    "bad": ["3", "2", "1"],
    "to_release": [REL],  # promote.yaml: the target release, chosen among the releases
    "environment": ["qa-1"],  # the ledger's environments (one deployment recorded)
}


@pytest.mark.parametrize(("label", "option", "url"), value_urls(), ids=[v[0] for v in value_urls()])
def test_values_url_answers_rundeck_json(
    filled: ServedRegistry, label: str, option: str, url: str
) -> None:
    expanded = expand(filled, url, option, {"application": APP, "release": REL})
    values = [e["value"] for e in entries(fetch(filled, expanded))]
    assert sorted(values) == sorted(EXPECTED[option])
    # Nothing chosen yet: Rundeck expands the parents to "" and must get [] to ask for them.
    if "${option." in url:
        assert entries(fetch(filled, expand(filled, url, option, {}))) == []
        only_app = expand(filled, url, option, {"application": APP})
        releases = option in ("release", "to_release")
        assert len(entries(fetch(filled, only_app))) == (1 if releases else 0)


def test_versions_newest_first_labelled_latest_selected(filled: ServedRegistry) -> None:
    answer = requests.get(
        f"{filled.url}/rundeck/options/versions",
        params={"application": APP, "release": REL},
        timeout=10,
    )
    body = entries(answer)
    assert [e["value"] for e in body] == ["3", "2", "1"]
    assert [e.get("selected", False) for e in body] == [True, False, False]
    api = requests.get(f"{filled.url}/api/applications/{APP}/releases/{REL}/versions", timeout=10)
    for entry, version in zip(body, api.json()["versions"], strict=True):
        assert entry["name"].startswith(f"#{version['version']}")
        assert version["created"][:10] in entry["name"]
        assert entry["name"].endswith(f" · {version['oci']}")  # docker compose -f runs it
    assert "(latest)" in body[0]["name"] and "(latest)" not in body[1]["name"]
    assert "worker" in body[0]["name"] and "TLO-WRK-3" in body[0]["name"]
    assert "db" in body[1]["name"] and "TLO-DB #7" in body[1]["name"]
    assert "web" in body[2]["name"] and "TLO-WEB #41" in body[2]["name"]


@pytest.mark.parametrize("query", ["application=TLO+GE", "application=TLO%20GE"])
def test_url_encoded_names_either_way(filled: ServedRegistry, query: str) -> None:
    answer = requests.get(f"{filled.url}/rundeck/options/releases?{query}", timeout=10)
    assert entries(answer) == [{"name": REL, "value": REL}]
    versions = f"{filled.url}/rundeck/options/versions?{query}&release=Milestone%202"
    assert len(entries(requests.get(versions, timeout=10))) == 3


@pytest.mark.parametrize(
    "path",
    [
        "releases?application=Nope",
        "versions?application=Nope&release=R1",
        "versions?application=Billing&release=Nope",
    ],
)
def test_unknown_names_answer_404_json(filled: ServedRegistry, path: str) -> None:
    answer = requests.get(f"{filled.url}/rundeck/options/{path}", timeout=10)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"] == "not_found"


def test_empty_registry_lists_no_applications(registry_server: ServedRegistry) -> None:
    answer = requests.get(f"{registry_server.url}/rundeck/options/applications", timeout=10)
    assert entries(answer) == []


def test_read_tokens_guard_the_option_lists(start_registry: StartRegistry) -> None:
    server = start_registry({"CONSIGN_READ_TOKENS": "r3ad"})
    url = f"{server.url}/rundeck/options/applications"
    assert requests.get(url, timeout=10).status_code == 401
    bad = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert bad.status_code == 403
    good = requests.get(url, headers={"Authorization": "Bearer r3ad"}, timeout=10)
    assert entries(good) == []
