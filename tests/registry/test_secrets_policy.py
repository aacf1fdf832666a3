"""The secrets policy's rules in the app (registry/secretpolicy.py, registry/gate.py Policy,
CONSIGN_SECRETS): the registry-wide refuse, a release's warn over it, a bad setting stopping
the start, old stored policies reading on, a publish that carries env files. The served
path: tests/registry/test_secrets_served.py."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from registry.gate import Policy
from tests.registry.conftest import publish, refs

LITERAL = (
    "services:\n  db:\n    image: postgres:16\n    environment:\n"
    "      POSTGRES_PASSWORD: pg-s3cr3t\n"
)


def test_a_bad_setting_stops_the_start(make_app: Any) -> None:
    with pytest.raises(ValueError, match="CONSIGN_SECRETS must be one of warn, refuse"):
        make_app(SECRETS="block")


def test_registry_refuse_and_a_release_that_says_warn(make_app: Any, repo: Path) -> None:
    client = make_app(SECRETS="Refuse").test_client()
    before = refs(repo)
    answer = publish(client, LITERAL, ["Shop"], ["Dev", "Prod"])
    assert answer.status_code == 422 and answer.json["error"] == "secrets_refused"
    assert answer.json["findings"] == ["db.environment.POSTGRES_PASSWORD (Secret Keyword)"]
    assert "the registry (CONSIGN_SECRETS)" in answer.json["message"]
    assert "pg-s3cr3t" not in answer.get_data(as_text=True)
    assert refs(repo) == before
    policy = "/api/applications/Shop/releases/Dev/policy"
    assert client.put(policy, json={"secrets": "warn"}).status_code == 200
    # one target still refuses: the publish is atomic, nothing is written anywhere
    with_policy = refs(repo)
    assert publish(client, LITERAL, ["Shop"], ["Dev", "Prod"]).status_code == 422
    assert refs(repo) == with_policy
    answer = publish(client, LITERAL, ["Shop"], ["Dev"])
    assert answer.status_code == 201, answer.json
    assert answer.json["versions"][0]["state_reason"] == (
        "warnings: secrets: db.environment.POSTGRES_PASSWORD"
    )
    # removing the release's choice leaves the registry's
    assert client.put(policy, json={"secrets": None}).json["policy"] is None
    again = LITERAL.replace("16", "16.1")
    assert publish(client, again, ["Shop"], ["Dev"]).status_code == 422


def test_env_file_findings_are_named_by_file_and_key(make_app: Any) -> None:
    client = make_app().test_client()
    text = "services:\n  db:\n    image: postgres:16\n    env_file: [db.env]\n"
    files = {"db.env": base64.b64encode(b"POSTGRES_PASSWORD=pg-s3cr3t\nPGDATA=/data\n").decode()}
    answer = publish(client, text, ["Shop"], ["Dev"], files=files)
    assert answer.status_code == 201, answer.json
    assert answer.json["versions"][0]["state_reason"] == (
        "warnings: secrets: db.env_file:db.env:POSTGRES_PASSWORD"
    )
    # a later version published by another component still carries it (the manifest's record)
    other = publish(client, "services:\n  web:\n    image: nginx:1.27\n", ["Shop"], ["Dev"])
    assert "db.env_file:db.env:POSTGRES_PASSWORD" in other.json["versions"][0]["state_reason"]


def test_old_policies_read_on_and_an_empty_one_is_empty() -> None:
    old = {"promotion_only": True, "from_releases": [], "approvals": 1, "healthy_in": []}
    assert Policy.from_json(old).secrets is None
    assert Policy.from_json({**old, "secrets": "refuse"}).secrets == "refuse"
    assert not Policy(secrets="refuse").empty and Policy().empty
    assert Policy.from_json(Policy(secrets="warn").to_json()) == Policy(secrets="warn")


def test_a_release_that_refuses_takes_no_promoted_version_carrying_literals(
    make_app: Any,
) -> None:
    client = make_app().test_client()
    assert publish(client, LITERAL, ["Shop"], ["Dev"]).status_code == 201
    prod = "/api/applications/Shop/releases/Prod"
    assert client.put(f"{prod}/policy", json={"secrets": "refuse"}).status_code == 200
    body = {"from_application": "Shop", "from_release": "Dev", "version": 1, "create": True}
    answer = client.post(f"{prod}/promotions", json=body)
    assert answer.status_code == 409, answer.json
    assert answer.json["unmet"] == [
        "version 1 carries secret-looking literals (db.environment.POSTGRES_PASSWORD) and "
        "this release's policy refuses them"
    ]
    assert "pg-s3cr3t" not in answer.get_data(as_text=True)
    # a release that warns takes it, and the promoted version carries the finding
    qa = "/api/applications/Shop/releases/QA"
    answer = client.post(f"{qa}/promotions", json=body)
    assert answer.status_code == 201, answer.json
    assert answer.json["state_reason"] == "warnings: secrets: db.environment.POSTGRES_PASSWORD"
