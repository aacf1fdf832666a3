"""The delivery worker's files and lanes with an injected sender (recorded results, no
network): the outbox fanned out to the subscriptions that want each event, an outbox entry
read twice delivered once, a retried job kept on disk with its attempts, a lane that picks
its queue up again after a restart (registry/events/worker.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path

from registry.events import catalog
from registry.events.catalog import Event
from registry.events.config import ConfigWatch
from registry.events.deliverylog import DeliveryLog
from registry.events.outbox import Outbox
from registry.events.rules import Result, RetryRules
from registry.events.worker import DeliveryWorker, EventsHome, Lane


class RecordingSender:
    """Answers each attempt with the next of ``results`` (then 200) and records it."""

    def __init__(self, *results: Result) -> None:
        self.results = list(results)
        self.sent: list[tuple[str, dict[str, str], bytes]] = []
        self.arrived = threading.Condition()

    def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, allow_private: bool
    ) -> Result:
        with self.arrived:
            self.sent.append((url, dict(headers), body))
            self.arrived.notify_all()
        return self.results.pop(0) if self.results else Result(status=200)

    def wait(self, count: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.sent) >= count, timeout=5), self.sent


HOOKS = """
subscriptions:
  - {name: all, url: 'http://a.example/', events: ['*']}
  - {name: qa, url: 'http://q.example/', events: [deployment.recorded],
     filters: {environment: [qa-*]}, secret_env: QA_SECRET}
"""


def worker(tmp_path: Path, sender: RecordingSender, delay: float = 0.05) -> DeliveryWorker:
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text(HOOKS)
    watch = ConfigWatch(str(hooks), environ={"QA_SECRET": "k"})
    rules = RetryRules(retry_for=60, first_delay=delay, max_delay=delay)
    return DeliveryWorker(EventsHome(tmp_path / "events"), watch, rules=rules, sender=sender)  # type: ignore[arg-type]


def deployed(environment: str) -> Event:
    return Event("deployment.recorded", environment, {}, environment=environment, outcome="ok")


def test_the_outbox_goes_to_the_subscriptions_that_want_each_event_once(tmp_path: Path) -> None:
    sender = RecordingSender()
    w = worker(tmp_path, sender)
    outbox = Outbox(w.home.outbox)
    qa, prod = deployed("qa-1"), deployed("prod")
    entry = outbox.append(qa)
    outbox.append(prod)
    again = entry.with_name("0" + entry.name)  # the same event's entry read a second time
    again.write_bytes(entry.read_bytes())
    try:
        w.step()
        sender.wait(3)
        assert outbox.waiting() == []
        urls = sorted((url, json.loads(body)["id"]) for url, _, body in sender.sent)
        assert urls == sorted(
            [
                ("http://a.example/", qa.id),
                ("http://a.example/", prod.id),
                ("http://q.example/", qa.id),
            ]
        )
        signed = [h for url, h, _ in sender.sent if url == "http://q.example/"]
        assert signed[0]["X-Consign-Signature-256"].startswith("sha256=")
        assert signed[0]["X-Consign-Delivery"] == qa.id
    finally:
        w.stop()


def test_a_retried_job_stays_on_disk_and_a_new_lane_takes_it_up(tmp_path: Path) -> None:
    sender = RecordingSender(Result(status=503), Result(error="timeout: no answer"))
    w = worker(tmp_path, sender, delay=0.5)  # the first lane is stopped before it retries
    try:
        Outbox(w.home.outbox).append(catalog.Event("version.published", "A/R/1", {}))
        w.step()
        sender.wait(1)
        w.stop()  # a dead worker: the lane ends with its job queued
        for lane in w.lanes.values():
            lane.join(timeout=5)
        (queued,) = w.home.pending("all")
        assert queued.attempts >= 1
        log = DeliveryLog(w.home.logs).entries("all")
        assert log[-1]["result"] == "retry" and log[-1]["status"] == 503
        config = w.watch.current
        lane = Lane(
            config.subscriptions[0],
            w.home,
            rules=w.rules,
            sender=sender,  # type: ignore[arg-type]
            deliveries=DeliveryLog(w.home.logs),
            public_url="",
        )
        lane.start()
        sender.wait(3)  # the timeout, then delivered
        lane.stop()
        lane.join(timeout=5)
        assert w.home.pending("all") == []
        entries = DeliveryLog(w.home.logs).entries("all")
        assert [e["result"] for e in entries] == ["delivered", "retry", "retry"]
        assert entries[0]["attempts"] == 3 and entries[0]["final"] is True
    finally:
        w.stop()


def test_an_event_that_cannot_be_rendered_is_refused_not_retried(tmp_path: Path) -> None:
    sender = RecordingSender()
    w = worker(tmp_path, sender)
    try:
        broken = Event("version.published", "A/R/1", {}, time="not a time")
        Outbox(w.home.outbox).append(broken)
        Outbox(w.home.outbox).append(deployed("prod"))
        w.step()
        sender.wait(1)  # the next event goes out; the broken one never reached the sender
        lane = w.lanes["all"]
        deadline = 50
        while w.home.pending("all") and deadline:
            deadline -= 1
            lane.join(timeout=0.1)
        entries = DeliveryLog(w.home.logs).entries("all")
        refused = [e for e in entries if e["result"] == "refused"]
        assert len(refused) == 1 and "cannot render" in refused[0]["detail"]
        assert len(sender.sent) == 1
    finally:
        w.stop()
