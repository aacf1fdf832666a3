"""Every kind of event, emitted once after its write succeeded, through the app's views
(Flask's test client, the outbox read back; no delivery worker runs in-process): publish,
promote, approve, reject, freeze, thaw, deploy/rollback/drift records, locks taken,
released and broken. Failed writes and retries emit nothing (registry/events/emitting.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from registry.events.catalog import Event
from registry.events.outbox import Outbox
from tests.registry.conftest import b64
from tests.registry.test_app_ledger import report

RELEASE = "/api/applications/TLO%20GE/releases/Milestone"


def emitted(repo: Path) -> list[Event]:
    outbox = Outbox(repo / "consign-events" / "outbox")
    return [e for e in (outbox.read(p) for p in outbox.waiting()) if e is not None]


def evented(make_app: Callable[..., Flask], tmp_path: Path, events: str = "['*']") -> Flask:
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text(f"subscriptions: [{{name: a, url: 'http://h.example/', events: {events}}}]")
    return make_app(WEBHOOKS_FILE=str(hooks))


def test_every_write_emits_its_event_once(
    make_app: Callable[..., Flask], repo: Path, tmp_path: Path
) -> None:
    client = evented(make_app, tmp_path).test_client()
    body: dict[str, Any] = {
        "fragment": b64("services:\n  web:\n    image: busybox:1\n"),
        "applications": ["TLO GE"],
        "releases": ["Milestone"],
    }
    assert client.put("/fragment", json=body).status_code == 201
    assert client.put("/fragment", json=body).status_code == 200  # a retry: nothing new
    bad = client.put("/fragment", json=body | {"fragment": b64("services: [")})
    assert bad.status_code == 422  # refused: nothing written, nothing emitted
    promoted = client.post(
        "/api/applications/TLO%20GE/releases/QA/promotions",
        json={"from_release": "Milestone", "version": 1, "by": "rm", "create": True},
    )
    assert promoted.status_code == 201, promoted.get_json()
    assert client.post(f"{RELEASE}/versions/1/approvals", json={"by": "qa"}).status_code == 201
    rejected = client.post(f"{RELEASE}/versions/1/rejections", json={"by": "qa", "reason": "no"})
    assert rejected.status_code == 201
    assert client.put(f"{RELEASE}/freeze", json={"by": "rm", "reason": "demo"}).status_code == 200
    assert client.delete(f"{RELEASE}/freeze?by=rm").status_code == 200
    assert client.delete(f"{RELEASE}/freeze?by=rm").status_code == 200  # not frozen: no event
    lock = client.post("/api/environments/qa-1/lock", json={"holder": {"by": "bob"}}).get_json()
    assert client.delete(f"/api/environments/qa-1/lock/{lock['id']}").status_code == 204
    holder = {"by": "carol", "application": "TLO GE", "release": "Milestone", "version": 1}
    assert client.post("/api/environments/qa-1/lock", json={"holder": holder}).status_code == 201
    broken = client.post("/api/environments/qa-1/lock/break", json={"by": "ops", "reason": "gone"})
    assert broken.status_code == 200 and broken.get_json()["record"]["kind"] == "unlock"
    deployed = report(1, outcome="failed")
    deployments = "/api/environments/qa-1/deployments"
    assert client.post(deployments, json=deployed).status_code == 201
    assert client.post(deployments, json=deployed).status_code == 200  # a retry
    assert (
        client.post(deployments, json=report(1, kind="drift", outcome="drift")).status_code == 201
    )

    events = emitted(repo)
    assert [e.kind for e in events] == [
        "version.published",
        "version.promoted",
        "version.approved",
        "version.rejected",
        "release.frozen",
        "release.thawed",
        "lock.taken",
        "lock.released",
        "lock.taken",
        "lock.broken",  # its ledger record (kind unlock) is not a deployment.recorded too
        "deployment.recorded",
        "drift.recorded",
    ]
    assert len({e.id for e in events}) == len(events)
    published, promoted_event = events[0], events[1]
    assert published.subject == "TLO GE/Milestone/1" and published.data["component"] == "web"
    assert promoted_event.release == "QA" and promoted_event.data["promoted_from"] == {
        "application": "TLO GE",
        "release": "Milestone",
        "version": 1,
    }
    assert events[3].data["reason"] == "no" and events[3].data["version"] == 1
    assert events[8].application == "TLO GE" and events[8].environment == "qa-1"
    assert "id" not in events[6].data  # a lock's id renews and releases it: never sent
    assert events[9].data["broken_by"] == "ops"
    assert events[10].outcome == "failed" and events[10].environment == "qa-1"
    assert events[10].data["services"][0]["service"] == "web"


def test_nothing_is_written_without_a_subscription(
    make_app: Callable[..., Flask], repo: Path, tmp_path: Path
) -> None:
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text("subscriptions: []")
    client = make_app(WEBHOOKS_FILE=str(hooks)).test_client()
    body = {"fragment": b64("services:\n  web:\n    image: busybox\n"), "applications": ["A"],
            "releases": ["R"]}  # fmt: skip
    assert client.put("/fragment", json=body).status_code == 201
    assert emitted(repo) == []
    plain = make_app().test_client()  # no webhooks file: no events folder at all
    assert plain.put("/fragment", json=body | {"releases": ["S"]}).status_code == 201
