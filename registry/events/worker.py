"""The one delivery worker across gunicorn's workers.

Every worker process starts a claimant thread that tries an exclusive ``flock`` of
``<events>/worker.lock`` once a second; the one holding it delivers. When that process dies
(killed, restarted by gunicorn) the kernel drops its lock and another worker's claimant
takes over within a second, from what is on disk:

- ``outbox/``: events written by the requests (registry/events/outbox.py);
- ``queue/<subscription>/``: one file per event still to deliver to that subscription
  (its attempts and next attempt), written before the outbox entry is removed (and
  fsynced first when the outbox is durable, ``CONSIGN_WEBHOOKS_DURABLE``);
- ``log/<subscription>.jsonl``: the delivery log (registry/events/deliverylog.py);
- ``cursor.json``: how far the store's writes are known handed over (recovery.py: what a
  power cut took from the outbox is re-derived from the store at the next start).

The fan-out hands each outbox event to the subscriptions that want it (the configuration in
force at that moment); each subscription has its own lane thread, so a slow or dead
receiver delays only its own deliveries. The rules (retry, give up, duplicates) are
:mod:`registry.events.rules`, pure; this module only moves files and threads.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from registry.events.catalog import Event
from registry.events.config import ConfigWatch, Subscription
from registry.events.deliverylog import DeliveryLog
from registry.events.formats import SIGNATURE_HEADER, render, signature
from registry.events.outbox import Outbox, fsync_dir
from registry.events.recovery import Checkpoints
from registry.events.rules import Job, LaneQueue, Result, RetryRules, Settlement
from registry.events.sending import Sender

log = logging.getLogger("registry.events")

Settled = Callable[[str, Settlement], None]
#: Seconds between two tries of a worker that does not hold the delivery lock.
CLAIM_EVERY = 1.0
#: How much nicer than the requests the delivery threads run (Linux: per thread).
NICENESS = 10


def yield_to_requests() -> None:
    """Lower this thread's CPU priority: deliveries come after the answers of the process
    they run in (and of the other workers), on a machine short of cores. Linux gives each
    thread its own nice value; elsewhere this does nothing."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


@dataclass(frozen=True)
class EventsHome:
    """Where the events live on disk (under the registry's data directory)."""

    root: Path

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def queues(self) -> Path:
        return self.root / "queue"

    @property
    def logs(self) -> Path:
        return self.root / "log"

    @property
    def lockfile(self) -> Path:
        return self.root / "worker.lock"

    def queue(self, subscription: str) -> Path:
        return self.queues / subscription

    def pending(self, subscription: str) -> list[Job]:
        """The jobs queued for a subscription, oldest first (any process may read them)."""
        folder = self.queue(subscription)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
        except FileNotFoundError:
            return []
        jobs = []
        for name in names:
            try:
                jobs.append(Job.from_json(json.loads((folder / name).read_bytes())))
            except (OSError, ValueError, KeyError, TypeError, AssertionError):
                continue
        return jobs


def _write_job(path: Path, job: Job, durable: bool) -> None:
    """Written whole under a temporary name, then renamed; fsynced only when the outbox is
    (``durable``): a job is never less durable than the entry it replaces, nor more."""
    temporary = path.with_name("." + path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(job.to_json(), ensure_ascii=False).encode("utf-8"))
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


class Lane(threading.Thread):
    """One subscription's deliveries, one at a time, in order, on their own thread."""

    def __init__(
        self,
        subscription: Subscription,
        home: EventsHome,
        *,
        rules: RetryRules,
        sender: Sender,
        deliveries: DeliveryLog,
        public_url: str,
        settled: Settled | None = None,
        clock: Callable[[], float] = time.time,
        durable: bool = False,
    ) -> None:
        super().__init__(name=f"webhook-{subscription.name}", daemon=True)
        self.durable = durable
        self.subscription = subscription
        self.folder = home.queue(subscription.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rules, self.sender, self.deliveries = rules, sender, deliveries
        self.public_url = public_url
        self.settled = settled
        self.clock = clock
        self.queue = LaneQueue()
        self._wake = threading.Condition()
        self._stopped = False
        for event_id in deliveries.recent_ids(subscription.name):
            self.queue.seen.add(event_id)
        for name in sorted(os.listdir(self.folder)):
            if name.endswith(".json") and not name.startswith("."):
                try:
                    job = Job.from_json(json.loads((self.folder / name).read_bytes()))
                    if not self.queue.add(name, job):  # its settlement was logged: done
                        (self.folder / name).unlink(missing_ok=True)
                except (OSError, ValueError, KeyError, TypeError, AssertionError):
                    log.error("webhook %s: unreadable queued delivery %s", subscription.name, name)

    def enqueue(self, key: str, job: Job) -> bool:
        """Queue ``job`` (written and fsynced here); False for an event already seen."""
        path = self.folder / key
        with self._wake:
            if path.exists() or not self.queue.add(key, job):
                return False
        _write_job(path, job, self.durable)
        return True

    def wake(self) -> None:
        with self._wake:
            self._wake.notify()

    def flush(self) -> None:
        """fsync the jobs still queued and the folder (a checkpoint of the cursor relies on
        them being on disk)."""
        with self._wake:
            keys = list(self.queue.jobs)
        for key in keys:
            try:
                fd = os.open(self.folder / key, os.O_RDONLY)
            except FileNotFoundError:
                continue  # settled meanwhile
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(self.folder)

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()

    def _next(self) -> tuple[str, Job] | None:
        """The next due job, waiting for it; None once stopped."""
        with self._wake:
            while not self._stopped:
                now = self.clock()
                due = self.queue.due(now)
                if due is not None:
                    return due
                self._wake.wait(self.queue.wait(now, 1.0))
            return None

    def run(self) -> None:
        yield_to_requests()
        while (due := self._next()) is not None:
            key, job = due
            try:
                self._attempt(key, job)
            except Exception:  # a lane never dies of one delivery
                log.exception("webhook %s: delivering %s failed", self.subscription.name, key)
                time.sleep(1.0)

    def _send(self, sub: Subscription, job: Job) -> Result:
        try:
            headers, body = render(job.event, sub.format, self.public_url)
        except Exception as e:  # an event that cannot be rendered is refused, not retried forever
            return Result(error=f"refused: cannot render the event: {e}", refused=True)
        headers = {
            **headers,
            "X-Consign-Event": job.event.kind,
            "X-Consign-Delivery": job.event.id,
        }
        if sub.secret is not None:
            headers[SIGNATURE_HEADER] = signature(sub.secret, body)
        return self.sender.send(sub.url, headers, body, allow_private=sub.allow_private)

    def _attempt(self, key: str, job: Job) -> None:
        sub = self.subscription
        result = self._send(sub, job)
        now = self.clock()
        settlement, updated = self.rules.settle(job, result, now)
        with self._wake:
            self.queue.settle(key, settlement, updated)
        # the log first: a job whose settlement is logged is done (a crash before its file
        # goes leaves a file the next lane drops), and a reader never sees it neither queued
        # nor logged
        self.deliveries.append(
            sub.name,
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "id": job.event.id,
                "event": job.event.kind,
                "subject": job.event.subject,
                "status": result.status,
                "result": settlement.value,
                "detail": result.describe(),
                "attempts": updated.attempts,
                "next_attempt": (
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(updated.next_at))
                    if not settlement.final
                    else None
                ),
                "final": settlement.final,
            },
        )
        path = self.folder / key
        if settlement.final:
            path.unlink(missing_ok=True)
        else:
            _write_job(path, updated, self.durable)
        if settlement is not Settlement.DELIVERED:
            log.warning(
                "webhook %s: %s %s: %s (%s, attempt %d)",
                sub.name,
                job.event.kind,
                job.event.id,
                result.describe(),
                settlement.value,
                updated.attempts,
            )
        if self.settled is not None:
            self.settled(sub.name, settlement)


class DeliveryWorker:
    """The claimant thread, and once it holds the lock, the fan-out loop and the lanes."""

    def __init__(
        self,
        home: EventsHome,
        watch: ConfigWatch,
        *,
        rules: RetryRules,
        sender: Sender,
        public_url: str = "",
        poll: float = 0.05,
        settled: Settled | None = None,
        durable: bool = False,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.home, self.watch = home, watch
        self.durable = durable
        self.checkpoints = checkpoints
        self.rules, self.sender, self.public_url = rules, sender, public_url
        self.poll, self.settled = poll, settled
        self.outbox = Outbox(home.outbox)
        self.deliveries = DeliveryLog(home.logs)
        self.lanes: dict[str, Lane] = {}
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._claim, name="webhook-claimant", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        for lane in self.lanes.values():
            lane.stop()

    def _claim(self) -> None:
        self.home.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.home.lockfile, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:  # tried once a second, never blocked on: a gevent worker must not stall
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until this process ends
                    break
                except BlockingIOError:
                    if self._stopped.wait(CLAIM_EVERY):
                        return
            if self._stopped.is_set():
                return
            log.info("webhook deliveries run in worker %d", os.getpid())
            yield_to_requests()
            self.run()
        except Exception:
            log.exception("the webhook delivery worker stopped")
        finally:
            os.close(fd)

    def run(self) -> None:
        if self.checkpoints is not None:
            self.recover(self.checkpoints)
        while not self._stopped.is_set():
            self.step()
            if self.checkpoints is not None:
                self.checkpoints.due(self.flush)
            self._stopped.wait(self.poll)

    def recover(self, checkpoints: Checkpoints) -> None:
        """At the start: what the store gained since the cursor (a crash may have taken its
        outbox entries) queued with the outbox, made durable, then the cursor moved."""
        derived, now = checkpoints.recover()
        if derived:
            log.warning(
                "webhooks: %d events re-derived from the store since the last checkpoint",
                len(derived),
            )
        self.step(derived)
        self.flush()
        now.save(checkpoints.path)

    def flush(self) -> None:
        for lane in list(self.lanes.values()):
            lane.flush()

    def step(self, derived: list[Event] | None = None) -> None:
        """One round: lanes matched to the configuration, the outbox (and ``derived``
        events) fanned out."""
        config = self.watch.current
        wanted = {s.name: s for s in config.subscriptions}
        for name in list(self.lanes):
            if name not in wanted:
                self.lanes.pop(name).stop()
        for name, sub in wanted.items():
            lane = self.lanes.get(name)
            if lane is None:
                lane = self.lanes[name] = Lane(
                    sub,
                    self.home,
                    rules=self.rules,
                    sender=self.sender,
                    deliveries=self.deliveries,
                    public_url=self.public_url,
                    settled=self.settled,
                    durable=self.durable,
                )
                lane.start()
            else:
                lane.subscription = sub  # a reloaded URL, secret or format applies at once
        waiting = self.outbox.waiting()
        if not waiting and not derived:
            return
        touched: set[Lane] = set()
        handed: list[Path] = []
        stamp = time.time_ns()
        entries = [(f"{stamp:020d}-{e.id}.json", e) for e in derived or []]
        for path in waiting:
            event = self.outbox.read(path)
            if event is not None:
                entries.append((path.name, event))
            handed.append(path)
        for key, event in entries:
            for sub in config.wanting(event):
                lane = self.lanes[sub.name]
                if lane.enqueue(key, Job(event, time.time())):
                    touched.add(lane)
        if self.durable:  # the queued jobs are on disk before their outbox entries go
            for lane in touched:
                fsync_dir(lane.folder)
        for path in handed:
            path.unlink(missing_ok=True)
        for lane in touched:
            lane.wake()
        self.outbox.sweep()
