"""The ledger's HTTP API through the Flask app: reports, validation, reads, locks, tokens."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.registry.conftest import objects, publish, refs

REPORTS = "/api/environments/qa-1/deployments"


def report(version: int | None = 1, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "deploy",
        "application": "TLO GE",
        "release": "Milestone",
        "version": version,
        "outcome": "ok",
        "started": "2026-12-01T11:00:00+01:00",
        "finished": "2026-12-01T10:00:30Z",
        "by": "alice",
        "engine": {"name": "host-a", "id": "XYZ", "host": "unix:///var/run/docker.sock"},
        "source": "http://registry:9090",
        "services": [
            {
                "service": "web",
                "verdict": "healthy",
                "detail": "",
                "containers": ["0123456789ab"],
                "image": "sha256:" + "2" * 64,
                "component": "web",
                "build": {"buildNumber": 7},
            }
        ],
    }
    body.update(changes)
    return body


@pytest.fixture
def versions(client: FlaskClient) -> FlaskClient:
    for n in range(2):
        frag = f"services:\n  web:\n    image: busybox:{n}\n"
        assert publish(client, frag, ["TLO GE"], ["Milestone"]).status_code == 201
    return client


def test_report_then_read_everything(versions: FlaskClient) -> None:
    client = versions
    first = report(1)
    response = client.post(REPORTS, json=first)
    assert response.status_code == 201
    stored = response.get_json()["deployment"]
    assert stored["started"] == "2026-12-01T10:00:00.000Z"  # normalised to UTC
    assert (stored["seq"], stored["environment"]) == (1, "qa-1")
    retry = client.post(REPORTS, json=first)
    assert retry.status_code == 200 and retry.get_json()["created"] is False
    second = report(2, outcome="rolled_back", rolled_back_to=1, finished="2026-12-01T10:05:00Z")
    assert client.post(REPORTS, json=second).status_code == 201

    [env] = client.get("/api/environments").get_json()["environments"]
    assert env["name"] == "qa-1" and env["deployments"] == 2 and env["lock"] is None
    [now] = env["deployed"]
    assert (now["version"], now["outcome"], now["by"]) == (1, "rolled_back", "alice")
    assert now["since"] == "2026-12-01T10:05:00.000Z"

    detail = client.get("/api/environments/qa-1").get_json()
    [full] = detail["deployed"]
    assert full["services"][0]["image"] == "sha256:" + "2" * 64

    history = client.get(f"{REPORTS}?limit=1").get_json()
    assert [d["seq"] for d in history["deployments"]] == [2] and history["next_before"] == 2
    older = client.get(f"{REPORTS}?limit=1&before=2").get_json()
    assert [d["seq"] for d in older["deployments"]] == [1] and older["next_before"] is None
    at = client.get(f"{REPORTS}?at=2026-12-01T10:02:00Z").get_json()
    assert [(d["version"], d["outcome"]) for d in at["deployed"]] == [(1, "ok")]

    of_one = client.get("/api/applications/TLO%20GE/releases/Milestone/versions/1/deployments")
    body = of_one.get_json()
    assert body["verified"] == ["qa-1"] and len(body["deployments"]) == 2
    details = client.get("/api/applications/TLO%20GE/releases/Milestone/versions/1").get_json()
    assert details["verified"] == ["qa-1"]
    latest = client.get("/api/applications/TLO%20GE/releases/Milestone/versions/latest")
    assert latest.get_json()["verified"] == []

    other = report(2, finished="2026-12-01T10:06:00Z")
    assert client.post("/api/environments/qa-2/deployments", json=other).status_code == 201
    locked = client.post("/api/environments/qa-2/lock", json={"holder": {"by": "bob"}})
    assert locked.status_code == 201
    listing = client.get("/api/environments")
    assert listing.mimetype == "application/json"
    [one, two] = listing.get_json()["environments"]
    assert one["deployed"][0]["version"] == 1 and one["lock"] is None
    assert two["deployed"][0]["version"] == 2 and two["lock"]["holder"] == {"by": "bob"}
    assert two["lock"]["id"]  # shown: every use of it needs the role report (issue 19)

    options = client.get("/rundeck/options/environments").get_json()
    assert options == [
        {"name": "qa-1 · TLO GE/Milestone #1", "value": "qa-1"},
        {"name": "qa-2 · TLO GE/Milestone #2", "value": "qa-2"},
    ]


BAD: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown version", report(7), 422, "version"),
    ("unknown release", report(1, release="Nope"), 422, "version"),
    ("wrong commit", report(1, commit="e" * 40), 422, "commit"),
    ("missing by", {k: v for k, v in report().items() if k != "by"}, 400, "by"),
    ("unknown field", report(extra=1), 400, "extra"),
    ("bad id", report(id="x"), 400, "id"),
    ("bad kind", report(kind="redeploy"), 400, "kind"),
    ("outcome of kind", report(outcome="torn_down"), 400, "outcome"),
    ("rolled back without to", report(outcome="rolled_back"), 400, "rolled_back_to"),
    ("deploy without version", report(None), 400, "version"),
    ("bool version", report(True), 400, "version"),
    ("no time zone", report(started="2026-12-01T10:00:00"), 400, "started"),
    ("not a time", report(finished="yesterday"), 400, "finished"),
    ("finished first", report(started="2026-12-02T00:00:00Z"), 400, "finished"),
    ("services not a list", report(services={}), 400, "services"),
    ("container id", report(services=[{"service": "a", "verdict": "x", "containers": ["zz"]}]),
     400, "services[0].containers[0]"),
    ("task id", report(services=[{"service": "a", "verdict": "x", "containers": ["Z" * 25]}]),
     400, "services[0].containers[0]"),
    ("service twice", report(services=[{"service": "a", "verdict": "x"}] * 2), 400, "services"),
    ("control chars", report(by="al\x00ice"), 400, "by"),
    ("other environment", report(environment="qa-2"), 400, "environment"),
    ("bad name", report(application="a/b"), 400, "application"),
]  # fmt: skip


def test_a_swarm_task_id_stands_for_a_container(versions: FlaskClient) -> None:
    """A Swarm task whose container the deployer could not inspect is recorded by its ID
    (25 characters of base 36), with the image its spec names."""
    task = {"service": "api", "verdict": "running", "containers": ["x1y2z3" + "a" * 19],
            "image": "busybox:latest@sha256:" + "3" * 64}  # fmt: skip
    response = versions.post(REPORTS, json=report(1, services=[task]))
    assert response.status_code == 201, response.get_json()
    (stored,) = response.get_json()["deployment"]["services"]
    assert stored["containers"] == task["containers"] and stored["image"] == task["image"]


@pytest.mark.parametrize(("case", "body", "status", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_reports_write_nothing(
    versions: FlaskClient, repo: Path, case: str, body: dict[str, Any], status: int, field: str
) -> None:
    before = refs(repo), objects(repo)
    response = versions.post(REPORTS, json=body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()
    assert error["message"] and error.get("field") == field, error
    assert (refs(repo), objects(repo)) == before


def test_malformed_oversized_and_bad_environment(versions: FlaskClient, repo: Path) -> None:
    before = refs(repo), objects(repo)
    not_json = versions.post(REPORTS, data=b"{", content_type="application/json")
    assert not_json.status_code == 400 and not_json.get_json()["error"] == "bad_request"
    assert versions.post(REPORTS, json=[1]).status_code == 400
    huge = report(services=[{"service": f"s{i}", "verdict": "x", "detail": "d" * 3000}
                            for i in range(100)])  # fmt: skip
    too_big = versions.post(REPORTS, json=huge)
    assert too_big.status_code == 413 and too_big.get_json()["error"] == "payload_too_large"
    for name in ("QA-1", "qa.1", "-qa", "a" * 64, "qa%201"):
        bad = versions.post(f"/api/environments/{name}/deployments", json=report())
        assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_name", name
        assert versions.get(f"/api/environments/{name}").status_code == 400
    assert versions.get("/api/environments/qa-1").status_code == 404
    assert versions.get(f"{REPORTS}?at=noon").status_code == 400
    assert versions.get(f"{REPORTS}?limit=0").status_code == 400
    assert (refs(repo), objects(repo)) == before


def test_reused_id_with_other_content_is_409(versions: FlaskClient) -> None:
    body = report()
    assert versions.post(REPORTS, json=body).status_code == 201
    conflict = versions.post(REPORTS, json={**body, "outcome": "failed"})
    assert conflict.status_code == 409 and conflict.get_json()["field"] == "id"


def test_locks_over_http(versions: FlaskClient) -> None:
    url = "/api/environments/qa-1/lock"
    assert versions.get(url).status_code == 404
    holder = {"by": "alice", "application": "TLO GE", "release": "Milestone", "version": 2}
    taken = versions.post(url, json={"holder": holder, "ttl": 60})
    assert taken.status_code == 201
    lock = taken.get_json()
    assert lock["id"] and lock["took_over"] is None
    refused = versions.post(url, json={"holder": {"by": "bob"}})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"] == "locked" and body["lock"]["holder"] == holder
    assert "alice" in body["message"] and "TLO GE/Milestone v2" in body["message"]
    shown = versions.get(url).get_json()
    assert shown["id"] == lock["id"] and shown["holder"] == holder
    assert body["lock"]["id"] == lock["id"]  # a retried POST can tell its own lock
    env = versions.get("/api/environments/qa-1").get_json()
    assert env["lock"]["holder"] == holder and env["lock"]["id"] == lock["id"]
    assert versions.put(f"{url}/{lock['id']}", json={"ttl": 120}).get_json()["ttl"] == 120
    assert versions.put(f"{url}/{lock['id']}").status_code == 200  # no body: its own ttl
    assert versions.delete(f"{url}/wrong").status_code == 404
    assert versions.delete(f"{url}/{lock['id']}").status_code == 204
    assert versions.delete(f"{url}/{lock['id']}").status_code == 404
    for bad in ({"holder": {}}, {"holder": {"by": "x"}, "ttl": 1}, {"nope": 1}, {}):
        assert versions.post(url, json=bad).status_code == 400, bad


@pytest.fixture
def guarded(make_app: Any) -> Flask:
    app: Flask = make_app(REPORT_TOKENS="deployer:rep-secret", PUBLISH_TOKENS="ci-secret")
    return app


def test_reporting_and_locking_need_a_report_token(guarded: Flask, repo: Path) -> None:
    client = guarded.test_client()
    ci = {"Authorization": "Bearer ci-secret"}
    assert publish(client, "services:\n  web:\n    image: busybox\n", ["TLO GE"], ["Milestone"],
                   ).status_code == 401  # fmt: skip
    frag = {"fragment": "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IGJ1c3lib3gK",
            "applications": ["TLO GE"], "releases": ["Milestone"]}  # fmt: skip
    assert client.put("/fragment", json=frag, headers=ci).status_code == 201
    before = refs(repo)
    assert client.post(REPORTS, json=report()).status_code == 401
    assert client.post(REPORTS, json=report(), headers=ci).status_code == 403
    lock = "/api/environments/qa-1/lock"
    assert client.post(lock, json={"holder": {"by": "x"}}, headers=ci).status_code == 403
    assert refs(repo) == before
    rep = {"Authorization": "Bearer rep-secret"}  # the entry is identity:token
    assert client.post(REPORTS, json=report(), headers=rep).status_code == 201
    assert client.post(lock, json={"holder": {"by": "x"}}, headers=rep).status_code == 201


def test_report_tokens_read_when_reads_are_guarded(make_app: Any) -> None:
    client = make_app(READ_TOKENS="reader", REPORT_TOKENS="rep").test_client()
    assert client.get("/api/environments").status_code == 401
    ok = client.get("/api/environments", headers={"Authorization": "Bearer rep"})
    assert ok.status_code == 200 and ok.get_json() == {"environments": []}


def test_the_crash_loop_sequence_as_the_deployer_reports_it(versions: FlaskClient) -> None:
    """N ok, then N+1 with a crash-looping service rolled back to N (two records: the
    deploy and the rollback), as docs/ledger.md says the deploy flow reports it."""
    client = versions
    web = {"service": "web", "verdict": "healthy", "containers": ["a" * 64],
           "image": "sha256:" + "1" * 64, "component": "web", "build": {"n": 1}}  # fmt: skip
    loop = {**web, "verdict": "crash-looping", "detail": "restarted 3 times",
            "containers": ["b" * 64], "image": "sha256:" + "2" * 64}  # fmt: skip
    steps = [
        report(1, services=[web], started="2026-12-01T09:00:00Z", finished="2026-12-01T09:01:00Z"),
        report(2, outcome="rolled_back", rolled_back_to=1, services=[loop],
               started="2026-12-01T10:00:00Z", finished="2026-12-01T10:01:00Z"),
        report(1, kind="rollback", services=[web], started="2026-12-01T10:01:00Z",
               finished="2026-12-01T10:02:00Z"),
    ]  # fmt: skip
    for body in steps:
        assert client.post(REPORTS, json=body).status_code == 201
    history = client.get(REPORTS).get_json()["deployments"][::-1]
    assert [(d["kind"], d["version"], d["outcome"], d["rolled_back_to"]) for d in history] == [
        ("deploy", 1, "ok", None),
        ("deploy", 2, "rolled_back", 1),
        ("rollback", 1, "ok", None),
    ]
    assert history[1]["services"][0]["verdict"] == "crash-looping"
    assert history[1]["services"][0]["image"] == "sha256:" + "2" * 64
    [now] = client.get("/api/environments").get_json()["environments"][0]["deployed"]
    assert (now["version"], now["kind"], now["outcome"]) == (1, "rollback", "ok")
    two = client.get("/api/applications/TLO%20GE/releases/Milestone/versions/2/deployments")
    assert two.get_json()["verified"] == [] and len(two.get_json()["deployments"]) == 1
    at = client.get(f"{REPORTS}?at=2026-12-01T10:01:30Z").get_json()["deployed"]
    assert [(d["version"], d["outcome"]) for d in at] == [(2, "rolled_back")]


def test_an_interrupted_deploy_or_rollback_is_recorded_and_is_what_runs(
    versions: FlaskClient,
) -> None:
    client = versions
    left = {"verdict": "running", "detail": "left so when the deploy was interrupted"}
    stopped = report(2, outcome="interrupted", services=[{**report()["services"][0], **left}])
    assert client.post(REPORTS, json=stopped).status_code == 201
    [now] = client.get("/api/environments/qa-1").get_json()["deployed"]
    assert (now["version"], now["outcome"]) == (2, "interrupted")
    back = report(1, kind="rollback", outcome="interrupted", finished="2026-12-01T10:06:00Z")
    assert client.post(REPORTS, json=back).status_code == 201
    refused = client.post(REPORTS, json=report(1, kind="teardown", outcome="interrupted"))
    assert refused.status_code == 400
    assert "torn_down, failed" in refused.get_json()["message"]
