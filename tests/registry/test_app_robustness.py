"""No input produces a 5xx: odd but valid names round-trip, odd requests get 4xx JSON."""

from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from tests.registry.conftest import b64, publish, refs

WEB = "services:\n  web:\n    image: busybox\n"
ODD_NAMES = [".", "..", "-x", "a.lock", "TLO GE", "ünï cødé", "a..b", "@{", "x~^:?*[\\", "%2F", "+"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_names_round_trip(client: FlaskClient, name: str) -> None:
    response = publish(client, WEB, [name], [name], component=name)
    assert response.status_code == 201, response.get_json()
    encoded = quote(name, safe="")
    encoded = encoded.replace(".", "%2E") if name in (".", "..") else encoded
    assert response.get_json()["versions"][0]["url"].endswith(
        f"/descriptor/application/{encoded}/{encoded}/1"
    )
    assert client.get("/api/applications").get_json()["applications"] == [name]
    descriptor = client.get(f"/descriptor/application/{encoded}/{encoded}/1")
    assert descriptor.status_code == 200
    fragment = client.get(f"/descriptor/application/{encoded}/{encoded}/1/fragments/{encoded}")
    assert fragment.get_data(as_text=True) == WEB
    info = client.get(f"/api/applications/{encoded}/releases/{encoded}/versions/1").get_json()
    assert (info["application"], info["release"], info["component"]) == (name, name, name)


def test_random_requests_never_5xx(client: FlaskClient, repo: Path) -> None:
    publish(client, WEB, ["A"], ["R"])
    before = refs(repo)
    rng = random.Random(2)
    alphabet = ["A", "R", "1", "latest", "%00", "%FF", "..", "%2F", "x" * 150, "-1", "", "%20"]
    prefixes = [
        "/descriptor/application/{}/{}/{}",
        "/descriptor/application/{}/{}/{}/fragments/{}",
        "/api/applications/{}/releases",
        "/api/applications/{}/releases/{}/versions?limit={}&before={}",
        "/api/applications/{}/releases/{}/versions/{}",
        "/api/applications/{}/releases/{}/diff?from={}&to={}",
        "/rundeck/options/versions?application={}&release={}",
    ]
    for _ in range(400):
        template = rng.choice(prefixes)
        path = template.format(*(rng.choice(alphabet) for _ in range(template.count("{}"))))
        method = rng.choice(["GET", "GET", "HEAD", "PUT", "POST", "DELETE"])
        response = client.open(path, method=method)
        assert response.status_code < 500, (method, path, response.data[:300])
    for _ in range(200):
        body = {
            "fragment": rng.choice([b64(WEB), "", "====", b64(rng.randbytes(40))]),
            "applications": rng.choice([["A"], [], [""], ["B"] * 2, "A", [None]]),
            "releases": rng.choice([["Z"], [], "R", [{}]]),
            "component": rng.choice(["web", "", None, 3, "a/b"]),
            "build": rng.choice([{}, None, [], "x", {"k": [1, 2]}]),
        }
        response = client.put("/fragment", json=body)
        assert response.status_code < 500, (body, response.data[:300])
    assert set(refs(repo)) >= set(before)
