"""The seed's three PUTs, replayed byte for byte, give the seed's descriptors /1, /2, /3.

Everything is taken from the seed notes themselves: the request head, the JSON body layout
(with its trailing spaces), and the three fragments (the services each descriptor adds).
Only the base64 placeholder and Content-Length are filled in.
"""

from __future__ import annotations

import base64
import http.client
import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from tests.serving import ServedRegistry

APPS = ("TLO GE", "TLO EE")
PLACEHOLDERS = ("Transmission", "Plex", "MySQL")


@dataclass(frozen=True)
class Seed:
    headers: list[tuple[str, str]]  # in the seed's order, Content-Length excluded
    bodies: list[bytes]  # the three request bodies
    expected: list[dict[str, Any]]  # descriptor /1, /2, /3 as published in the seed (v1)


@pytest.fixture(scope="module")
def seed(seed_text: str) -> Seed:
    requests = re.findall(r"^PUT /fragment HTTP/1.1\n(.*?)\n\n(\{.*?\n\})", seed_text, re.S | re.M)
    assert len(requests) == 3
    head = [line.split(": ", 1) for line in requests[0][0].splitlines()]
    headers = [(k, v) for k, v in head if k != "Content-Length"]
    blocks = re.findall(
        r"^/descriptor/application/TLO GE/Milestone/\d\n(.*?)\n\n", seed_text, re.S | re.M
    )
    assert len(blocks) == 3
    texts = [block + "\n" for block in blocks]
    fragments = [texts[0], texts[1][len(texts[0]) :], texts[2][len(texts[1]) :]]
    bodies = []
    for name, (_, template), fragment in zip(PLACEHOLDERS, requests, fragments, strict=True):
        placeholder = f'"base64 encoding of the {name} YML"'
        assert placeholder in template
        encoded = base64.b64encode(fragment.encode()).decode()
        bodies.append(template.replace(placeholder, f'"{encoded}"').encode())
    return Seed(headers, bodies, [yaml.safe_load(text) for text in texts])


def as_spec(v1: dict[str, Any]) -> dict[str, Any]:
    """The seed's v1 services in Compose-spec terms: `net` becomes `network_mode`, in place."""
    services = {}
    for name, service in v1.items():
        services[name] = {("network_mode" if k == "net" else k): v for k, v in service.items()}
    return {"services": services}


def check_descriptor(text: str, expected_v1: dict[str, Any]) -> None:
    doc = yaml.safe_load(text)
    assert doc == as_spec(expected_v1)
    assert list(doc["services"]) == list(expected_v1)  # service order as published


def test_seed_replay_test_client(client: FlaskClient, seed: Seed) -> None:
    for number, body in enumerate(seed.bodies, start=1):
        response = client.open(
            "/fragment",
            method="PUT",
            data=body,
            headers=[h for h in seed.headers if h[0] != "Host"],
            base_url="http://localhost:9090",
        )
        assert response.status_code == 201, response.get_json()
        data = response.get_json()
        assert [(v["application"], v["version"]) for v in data["versions"]] == [
            (app, number) for app in APPS
        ]
        assert response.headers["Location"] == (
            f"http://localhost:9090/descriptor/application/TLO%20GE/Milestone/{number}"
        )
        if number >= 2:  # plex refers to bittorrent-sync-data, which nobody provides
            assert "bittorrent-sync-data" in " ".join(data["versions"][0]["warnings"])
    for app in APPS:
        for number, expected in enumerate(seed.expected, start=1):
            response = client.get(f"/descriptor/application/{app}/Milestone/{number}")
            assert response.status_code == 200
            check_descriptor(response.get_data(as_text=True), expected)


def _put(conn: http.client.HTTPConnection, seed: Seed, body: bytes) -> http.client.HTTPResponse:
    conn.putrequest("PUT", "/fragment", skip_host=True, skip_accept_encoding=True)
    for name, value in seed.headers:
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    return conn.getresponse()


def test_seed_replay_gunicorn(served: ServedRegistry, seed: Seed) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        for number, body in enumerate(seed.bodies, start=1):
            response = _put(conn, seed, body)
            payload = response.read()
            assert response.status == 201, payload
            assert response.getheader("Content-Type") == "application/json"
            assert response.getheader("Location") == (
                f"http://localhost:9090/descriptor/application/TLO%20GE/Milestone/{number}"
            )
        for app in APPS:
            for number, expected in enumerate(seed.expected, start=1):
                path = f"/descriptor/application/{app.replace(' ', '%20')}/Milestone/{number}"
                conn.request("GET", path)
                response = conn.getresponse()
                text = response.read().decode()
                assert response.status == 200
                check_descriptor(text, expected)
        retry = _put(conn, seed, seed.bodies[2])
        assert retry.status == 200  # a CI retry creates nothing
        retry.read()
    finally:
        conn.close()
