"""A power cut's loss re-derived from the store (registry/events/recovery.py): the outbox
entries that were never fsynced (publishes, deployment records) are gone, the store's
writes are not; the next start makes the same events again (same ids), each queued once,
and the entries that did survive are not sent twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from registry.events.catalog import DERIVED
from registry.events.config import ConfigWatch
from registry.events.outbox import Outbox
from registry.events.recovery import Checkpoints, Cursor, snapshot
from registry.events.rules import RetryRules
from registry.events.worker import DeliveryWorker, EventsHome
from registry.http.storage import get_store
from tests.events.test_worker import RecordingSender
from tests.registry.conftest import b64
from tests.registry.test_app_ledger import report


def test_what_a_power_cut_took_from_the_outbox_is_made_again(
    make_app: Callable[..., Flask], repo: Path, tmp_path: Path
) -> None:
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text("subscriptions: [{name: a, url: 'http://h.example/', events: ['*']}]")
    app = make_app(WEBHOOKS_FILE=str(hooks))
    client = app.test_client()
    with app.app_context():
        store = get_store()
    home = EventsHome(repo / "consign-events")
    cursor = home.root / "cursor.json"
    body = {"fragment": b64("services:\n  web:\n    image: busybox:1\n"),
            "applications": ["TLO GE"], "releases": ["Milestone"]}  # fmt: skip
    assert client.put("/fragment", json=body).status_code == 201
    snapshot(store).save(cursor)  # a checkpoint: version 1 was handed over
    for path in Outbox(home.outbox).waiting():
        path.unlink()  # ... and delivered
    for n in (2, 3):
        body["fragment"] = b64(f"services:\n  web:\n    image: busybox:{n}\n")
        assert client.put("/fragment", json=body).status_code == 201
    deployments = "/api/environments/qa-1/deployments"
    assert client.post(deployments, json=report(3, outcome="failed")).status_code == 201
    assert (
        client.post(deployments, json=report(3, kind="drift", outcome="drift")).status_code == 201
    )
    assert (
        client.post(
            "/api/applications/TLO%20GE/releases/Milestone/versions/3/rejections",
            json={"by": "qa", "reason": "no"},
        ).status_code
        == 201
    )

    outbox = Outbox(home.outbox)
    emitted = {p: outbox.read(p) for p in outbox.waiting()}
    ids = {e.id: e.kind for e in emitted.values() if e is not None}
    assert sorted(ids.values()) == sorted(
        [
            "version.published",
            "version.published",
            "deployment.recorded",
            "drift.recorded",
            "version.rejected",
        ]
    )
    survived = next(p for p, e in emitted.items() if e is not None and e.subject.endswith("/2"))
    for path, event in emitted.items():  # the power cut: unsynced entries gone, but one
        if event is not None and event.kind in DERIVED and path != survived:
            path.unlink()

    sender = RecordingSender()
    watch = ConfigWatch(str(hooks))
    worker = DeliveryWorker(
        home,
        watch,
        rules=RetryRules(),
        sender=sender,  # type: ignore[arg-type]
        checkpoints=Checkpoints(store, cursor),
    )
    try:
        worker.recover(worker.checkpoints)  # type: ignore[arg-type]
        sender.wait(5)
        sent = [json.loads(b)["id"] for _, _, b in sender.sent]
        assert sorted(sent) == sorted(ids)  # the same events, each once
        assert Cursor.load(cursor) == snapshot(store)  # moved to where the store is
        assert worker.outbox.waiting() == []
    finally:
        worker.stop()


def test_a_first_start_derives_nothing(
    make_app: Callable[..., Flask], repo: Path, tmp_path: Path
) -> None:
    app = make_app()
    body = {"fragment": b64("services:\n  web:\n    image: busybox\n"), "applications": ["A"],
            "releases": ["R"]}  # fmt: skip
    assert app.test_client().put("/fragment", json=body).status_code == 201
    with app.app_context():
        checkpoints = Checkpoints(get_store(), tmp_path / "cursor.json")
    derived, now = checkpoints.recover()
    assert derived == [] and now.versions == {("A", "R"): 1}
