"""Lookups compare names in NFC, like publishes do: through a real `consign serve`
(gunicorn, Git), a name spelled decomposed finds the one stored composed and the reverse,
in every path parameter, query parameter and ledger report; a name stored decomposed by an
older registry is found by either spelling and published to, never doubled."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from consign.compose import yamlio
from registry import names
from registry.store import DescriptorStore, Target
from tests.registry.conftest import b64, fsck
from tests.registry.test_app_ledger import report
from tests.serving import ServedRegistry

NFC = "Café"
NFD = unicodedata.normalize("NFD", NFC)
WEB = "services:\n  web:\n    image: busybox\n"


def test_the_spellings_differ() -> None:
    assert NFC != NFD and unicodedata.normalize("NFC", NFD) == NFC


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    tmp = tmp_path_factory.mktemp("unicode")
    with ServedRegistry(tmp / "registry.git", tmp / "serve.log", workers=2).start() as served:
        yield served
    fsck(tmp / "registry.git")


def publish(url: str, application: str, release: str, component: str, image: str) -> Any:
    body = {
        "fragment": b64(f"services:\n  {image.split(':')[0]}:\n    image: busybox:{image}\n"),
        "applications": [application],
        "releases": [release],
        "component": component,
    }
    response = requests.put(f"{url}/fragment", json=body, timeout=60)
    assert response.status_code in (200, 201), response.text
    return response.json()["versions"][0]


def get(url: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{url}{path}", params=params, timeout=60)


def q(name: str) -> str:
    return quote(name, safe="")


@pytest.mark.parametrize(("published", "looked_up"), [(NFC, NFD), (NFD, NFC)])
def test_every_lookup_finds_the_other_spelling(
    server: ServedRegistry, published: str, looked_up: str
) -> None:
    app = f"{published} {len(published)}"  # one application per direction
    first = publish(server.url, app, published, published, "web:1")
    assert (first["application"], first["release"]) == (
        unicodedata.normalize("NFC", app),
        NFC,
    )  # a publish stores NFC, whichever spelling it was sent
    publish(server.url, app, published, "db", "db:1")
    other = app.replace(published, looked_up)
    assert other != app
    base = f"/api/applications/{q(other)}/releases/{q(looked_up)}"

    assert get(server.url, f"/api/applications/{q(other)}/releases").json()["releases"] == [NFC]
    listed = get(server.url, f"{base}/versions").json()
    assert [v["version"] for v in listed["versions"]] == [2, 1]
    one = get(server.url, f"{base}/versions/1")
    assert one.status_code == 200, one.text
    assert one.json()["application"] == unicodedata.normalize("NFC", app)
    descriptor = get(server.url, f"/descriptor/application/{q(other)}/{q(looked_up)}/latest")
    assert descriptor.status_code == 200 and b"busybox:db:1" in descriptor.content
    fragment = get(
        server.url, f"/descriptor/application/{q(other)}/{q(looked_up)}/1/fragments/{q(looked_up)}"
    )
    assert fragment.status_code == 200, fragment.text
    assert b"busybox:web:1" in fragment.content
    diff = get(
        server.url,
        f"{base}/diff",
        to="2",
        from_application=other,
        from_release=looked_up,
        **{"from": "1"},
    )
    assert diff.status_code == 200, diff.text
    assert get(server.url, f"{base}/policy").status_code == 200
    ui_page = get(server.url, f"/ui/applications/{q(other)}/releases/{q(looked_up)}")
    assert ui_page.status_code == 200, ui_page.text[:300]
    page = get(server.url, "/ui/diff", to=f"{other}/{looked_up}/2")
    assert page.status_code == 200, page.text[:300]
    options = get(server.url, "/rundeck/options/versions", application=other, release=looked_up)
    assert [o["value"] for o in options.json()] == ["2", "1"]
    releases = get(server.url, "/rundeck/options/releases", application=other)
    assert [o["value"] for o in releases.json()] == [NFC]


def test_the_ledger_records_the_stored_spelling(server: ServedRegistry) -> None:
    publish(server.url, NFC, "Ledger", "web", "web:1")
    body = report(1, application=NFD, release="Ledger")
    sent = requests.post(f"{server.url}/api/environments/qa-uni/deployments", json=body, timeout=60)
    assert sent.status_code == 201, sent.text
    assert sent.json()["deployment"]["application"] == NFC
    again = requests.post(
        f"{server.url}/api/environments/qa-uni/deployments", json=body, timeout=60
    )
    assert again.status_code == 200 and again.json()["created"] is False  # a retry, not a clash
    for spelling in (NFC, NFD):
        found = get(
            server.url, f"/api/applications/{q(spelling)}/releases/Ledger/versions/1/deployments"
        ).json()
        assert found["application"] == NFC and found["verified"] == ["qa-uni"]
    env = get(server.url, "/api/environments/qa-uni").json()
    assert [(d["application"], d["release"]) for d in env["deployed"]] == [(NFC, "Ledger")]


def test_environment_names_are_ascii_so_no_spelling_is_ambiguous(server: ServedRegistry) -> None:
    response = get(server.url, f"/api/environments/{q('qa-' + NFD)}")
    assert response.status_code == 400, response.text
    assert "lower-case letters" in response.json()["message"]


def test_an_unknown_name_is_a_404_naming_its_nfc_form(server: ServedRegistry) -> None:
    response = get(server.url, f"/api/applications/{q('Nowhere ' + NFD)}/releases")
    assert response.status_code == 404
    assert repr("Nowhere " + NFC) in response.json()["message"]


def test_a_name_stored_decomposed_is_found_by_both_and_never_doubled(tmp_path: Path) -> None:
    repo = tmp_path / "registry.git"
    store = DescriptorStore(repo)  # an older registry stored the decomposed spelling as sent
    store.publish([Target(NFD, NFD)], NFD, WEB, yamlio.load(WEB), {})
    store.close()
    with ServedRegistry(repo, tmp_path / "serve.log", workers=1).start() as server:
        for app in (NFC, NFD):
            path = f"/descriptor/application/{q(app)}/{q(NFC if app == NFD else NFD)}/1"
            assert get(server.url, path).status_code == 200, path
        second = publish(server.url, NFC, NFC, NFC, "web:2")
        assert (second["application"], second["release"], second["version"]) == (NFD, NFD, 2)
        assert second["component"] == NFD
        apps = get(server.url, "/api/applications").json()["applications"]
        assert apps == [NFD]
    fsck(repo)


def test_stored_spelling_rule() -> None:
    assert names.stored_spelling(NFD, [NFC]) == NFC
    assert names.stored_spelling(NFC, [NFD]) == NFD
    assert names.stored_spelling(NFD, [NFD, NFC]) == NFD  # the exact spelling wins
    assert names.stored_spelling(NFD, ["x"]) == NFC  # unknown: what a publish would store
    assert json.dumps(names.stored_spelling("TLO GE", [])) == '"TLO GE"'
