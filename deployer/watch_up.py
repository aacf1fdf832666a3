"""Watch a project while ``compose up`` runs beside it, until every service has a verdict.

Watching only after ``up`` returns would make a 50-service deploy pay for ``up`` and then
again for the watch's start-up and the last healthchecks. Here the event subscription opens
first, ``up`` runs on a thread, and containers are judged as compose starts them (for a
project already up, :func:`deployer.watcher.watch` runs this loop with nothing to start).
Two rules keep that truthful:

- While ``up`` runs, only containers *created after the deploy began* count: an old
  container compose is about to replace (e.g. the failed version before a rollback) must
  not lend its verdict, good or bad, to this deploy.
- When ``up`` returns, the project is listed once more (the sync point): containers gone
  are forgotten, those compose kept are judged, and services compose failed to create are
  marked NOT_CREATED with its words. No verdict is final before that.

While ``up`` runs, a container is not inspected on its ``create`` event: compose asks the
engine to start all of them at once, the engine starts them one by one and holds each
container's lock from the request on, so an inspect would block until that container's
turn (seconds, for the last of 50). Its ``start`` event comes once the lock is free.

``--timeout`` keeps its meaning: it bounds the wait *after* ``up`` returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from docker.errors import NotFound

from consign.process import Completed
from deployer.events import EventFeed, event_action, event_exit_code
from deployer.observe import engine_offset, parse_stamp
from deployer.verdicts import Observation, ServiceVerdict, VerdictTracker

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
ONEOFF = "com.docker.compose.oneoff"
#: Seconds between ticks (stability settling, timeout); events wake the loop at once.
TICK = 0.25

Update = Callable[[dict[str, ServiceVerdict]], None]


def watch_up(
    client: Any,
    project: str,
    services: Sequence[str],
    *,
    timeout: float,
    stable: float,
    up: Callable[[], Completed],
    failed: Callable[[Completed], dict[str, str]],
    on_update: Update | None = None,
    replicas: Mapping[str, int] | None = None,
    not_created: Mapping[str, str] | None = None,
    since: float | None = None,
) -> tuple[dict[str, ServiceVerdict], Completed]:
    """Run ``up`` while watching; ``failed`` maps a failed ``up`` to services not created.

    ``replicas``: containers expected per service (default one each); ``not_created``:
    services already known not to exist, with why; ``since``: the engine time (epoch
    seconds) the deploy began, default now.
    """
    offset = engine_offset(client)
    since = time.time() + offset if since is None else since
    started = time.monotonic()
    tracker = VerdictTracker(
        services, stable=stable, started=started, since_wall=since, replicas=replicas
    )
    for service, detail in (not_created or {}).items():
        tracker.mark_not_created(service, detail)
    wanted, label = set(services), f"{PROJECT}={project}"
    known: dict[str, str] = {}  # container id -> service, judged
    skipped: set[str] = set()  # older than the deploy: judged only if compose keeps them
    done: Completed | None = None

    def inspect(cid: str, service: str, last_exit: int | None = None) -> None:
        try:
            data = client.api.inspect_container(cid)
        except NotFound:
            known.pop(cid, None)
            tracker.forget(cid, time.monotonic())
            return
        created = parse_stamp(str(data.get("Created", "")))
        if done is None and cid not in known and (created is None or created < since):
            skipped.add(cid)
            return
        known[cid] = service
        obs = Observation(cid, service, time.monotonic(), data, time.time() + offset, last_exit)
        tracker.observe(obs)

    def sync() -> None:
        listed: dict[str, str] = {}
        for c in client.api.containers(all=True, filters={"label": label}):
            labels = c.get("Labels") or {}
            if labels.get(SERVICE) in wanted and labels.get(ONEOFF) != "True":
                listed[c["Id"]] = labels[SERVICE]
        for cid in [cid for cid in known if cid not in listed]:
            known.pop(cid)
            tracker.forget(cid, time.monotonic())
        for cid, service in listed.items():
            if cid not in known:  # those known are kept current by their events
                inspect(cid, service)

    feed = EventFeed(client, label, since=since - 2.0)  # subscribed before anything starts
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="consign-up")
    future = pool.submit(up)
    shown: dict[str, tuple[str, int | None, str]] = {}
    try:
        while True:
            if done is None and future.done():
                done = future.result()
                tracker.timeout = time.monotonic() - started + timeout
                sync()
                if done.returncode != 0:
                    for service, detail in failed(done).items():
                        tracker.mark_not_created(service, detail)
            now = time.monotonic()
            verdicts = tracker.verdicts(now)
            snapshot = {s: (v.verdict.value, v.exit_code, v.detail) for s, v in verdicts.items()}
            if on_update is not None and snapshot != shown:
                on_update(verdicts)
            shown = snapshot
            if done is not None and all(v.verdict.final for v in verdicts.values()):
                return verdicts, done
            limit = TICK if tracker.timeout is None else started + tracker.timeout - now
            wait = min(TICK, max(0.0, limit) + 0.01)
            touched: dict[str, tuple[str, int | None]] = {}  # one inspect per wake-up
            for event in feed.drain(wait):
                actor = event.get("Actor") or {}
                attrs = actor.get("Attributes") or {}
                cid = str(actor.get("ID") or event.get("id") or "")
                if attrs.get(SERVICE) not in wanted or attrs.get(ONEOFF) == "True" or not cid:
                    continue
                if done is None and event_action(event) == "create" and cid not in touched:
                    continue  # its start is queued in the engine, which locks it: see below
                code = event_exit_code(event)
                previous = touched.get(cid, ("", None))[1]
                touched[cid] = (attrs[SERVICE], code if code is not None else previous)
            for cid, (service, code) in touched.items():
                if cid not in skipped or done is not None:
                    inspect(cid, service, code)
            due = list(known) if not feed.alive else tracker.confirm_due(time.monotonic())
            for cid in due:
                if cid in known and cid not in touched:
                    inspect(cid, known[cid])
    finally:
        feed.close()
        pool.shutdown(wait=True)  # never leave compose running behind the verdict
