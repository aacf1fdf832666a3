"""ProjectWatch: one Compose project watched while ``compose up`` runs, until every
service has a verdict or a failure is certain.

Watching only after ``up`` returns would make a 50-service deploy pay for ``up`` and then
again for the watch's start-up and the last healthchecks. Here the event subscription opens
first, ``up`` runs beside the watch, and containers are judged as Compose starts them.
The rules that keep that truthful are methods of :class:`ProjectWatch`, whose state is
explicit and whose event feed, inspector and clock are injected (so the rules are unit
tested on saved event/inspect sequences, no engine needed):

- **Old containers don't count while up runs.** Only containers *created after the deploy
  began* are judged: an old container Compose is about to replace (the failed version
  before a rollback) must not lend its verdict, good or bad, to this deploy.
- **The sync point.** When ``up`` returns, the project is listed once more: containers gone
  are forgotten, those Compose kept are judged, and services whose containers never
  started get a verdict of their own: BLOCKED (a dependency failed: named, with the
  condition) or NOT_CREATED (Compose's words about them). An observed verdict is never
  overwritten by that account.
- **Act on certainty.** A failure observed on a container of this deploy is certain: the
  watch stops at once. If ``up`` still runs it is interrupted (as Ctrl-C would) and waited
  for, and the other services keep what they were doing at that moment.
- **A crash loop is certain only once what it needs is back** (the tracker's rule, see
  :mod:`deployer.verdicts.tracker`): an unchanged service that restarts while a service it
  needs is being replaced is judged on what it does once that service is ok.
- **No inspect on create while up runs**: Compose asks the engine to start every container
  at once and the engine holds each container's lock until its turn, so an inspect would
  block; the ``start`` event comes once the lock is free.

``timeout`` bounds the wait *after* ``up`` returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from docker.errors import NotFound

from consign.process import Completed
from deployer import label_keys as keys
from deployer.engine.fields import engine_offset, parse_stamp
from deployer.verdicts import Observation, ServiceVerdict, Verdict, VerdictTracker
from deployer.verdicts.dependencies import Dependencies, blocking
from deployer.watch.feed import Event, event_action, event_exit_code

#: Seconds between ticks (stability settling, timeout); events wake the loop at once.
TICK = 0.25

Update = Callable[[dict[str, ServiceVerdict]], None]


class Feed(Protocol):
    """The project's container events (:class:`deployer.watch.feed.EventFeed`)."""

    @property
    def alive(self) -> bool: ...

    def drain(self, wait: float) -> list[Event]: ...


class Inspector(Protocol):
    """Reads the project's containers (:class:`EngineInspector`)."""

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        """The container's inspect JSON, or None when it is gone."""

    def containers(self) -> dict[str, str]:
        """Container id -> service for every (non one-off) container of the project."""


class UpProcess(Protocol):
    """``compose up`` running (:class:`consign.process.Running`)."""

    def wait(self, timeout: float | None = None) -> Completed: ...

    def interrupt(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def engine_time(self) -> float:
        """The engine's wall clock now (epoch seconds)."""


class EngineInspector:
    def __init__(self, client: Any, project: str) -> None:
        self.client = client
        self.label = f"{keys.PROJECT}={project}"

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = self.client.api.inspect_container(container_id)
        except NotFound:
            return None
        return data

    def containers(self) -> dict[str, str]:
        listed: dict[str, str] = {}
        for c in self.client.api.containers(all=True, filters={"label": self.label}):
            labels = c.get("Labels") or {}
            if labels.get(keys.ONEOFF) != "True" and labels.get(keys.SERVICE):
                listed[c["Id"]] = labels[keys.SERVICE]
        return listed


class EngineClock:
    """Our monotonic clock, and the engine's wall clock estimated once (it may be remote)."""

    def __init__(self, client: Any) -> None:
        self.offset = engine_offset(client)

    def monotonic(self) -> float:
        return time.monotonic()

    def engine_time(self) -> float:
        return time.time() + self.offset


@dataclass
class WatchResult:
    verdicts: dict[str, ServiceVerdict]
    up: Completed
    #: Monotonic time the first failure became certain (None: none did).
    certain_at: float | None
    #: True when the watch interrupted ``up`` because a failure was certain.
    interrupted_up: bool


class ProjectWatch:
    """The state of one watch; :meth:`run` drives it, the other methods are its steps."""

    def __init__(
        self,
        services: Sequence[str],
        *,
        feed: Feed,
        inspector: Inspector,
        clock: Clock,
        stable: float,
        timeout: float,
        since: float,
        replicas: Mapping[str, int] | None = None,
        dependencies: Dependencies | None = None,
        existed: Iterable[str] | None = None,
    ) -> None:
        self.services = list(services)
        self.feed = feed
        self.inspector = inspector
        self.clock = clock
        self.since = since  # engine time the deploy began
        self.timeout = timeout
        self.dependencies = dependencies or {}
        self.started = clock.monotonic()
        self.tracker = VerdictTracker(
            services,
            stable=stable,
            started=self.started,
            since_wall=since,
            replicas=replicas,
            dependencies=self.dependencies,
            existed=existed,
        )
        self.wanted = set(services)
        self.known: dict[str, str] = {}  # container id -> service, judged
        self.skipped: set[str] = set()  # older than the deploy: judged only if Compose keeps it
        self.up_done: Completed | None = None
        self.stopped_early = False
        self.certain_at: float | None = None

    # -- the steps -------------------------------------------------------------------
    def on_events(self, events: Iterable[Event]) -> None:
        """Inspect each container the events are about, once per batch."""
        touched: dict[str, tuple[str, int | None]] = {}
        for event in events:
            actor = event.get("Actor") or {}
            attrs = actor.get("Attributes") or {}
            cid = str(actor.get("ID") or event.get("id") or "")
            if attrs.get(keys.SERVICE) not in self.wanted or attrs.get(keys.ONEOFF) == "True":
                continue
            if not cid:
                continue
            if event_action(event) == "create":  # a container of this deploy: its service is
                self.tracker.coming(attrs[keys.SERVICE])  # recreated (the crash-loop rule)
            if self.up_done is None and event_action(event) == "create" and cid not in touched:
                continue  # its start is queued in the engine, which locks it (module doc)
            code = event_exit_code(event)
            previous = touched.get(cid, ("", None))[1]
            touched[cid] = (attrs[keys.SERVICE], code if code is not None else previous)
        for cid, (service, code) in touched.items():
            if cid not in self.skipped or self.up_done is not None:
                self._inspect(cid, service, code)
        due = list(self.known) if not self.feed.alive else self.tracker.confirm_due(self._now())
        for cid in due:
            if cid in self.known and cid not in touched:
                self._inspect(cid, self.known[cid])

    def sync(self, done: Completed, not_created: Mapping[str, str]) -> None:
        """The sync point: ``up`` has returned (``not_created``: Compose's words about the
        services it failed, for a failed ``up``)."""
        self.up_done = done
        now = self._now()
        self.tracker.timeout = now - self.started + self.timeout
        listed = {c: s for c, s in self.inspector.containers().items() if s in self.wanted}
        for cid in [cid for cid in self.known if cid not in listed]:
            self.known.pop(cid)
            self.tracker.forget(cid, now)
        for cid, service in listed.items():
            if cid not in self.known:  # those known are kept current by their events
                self._inspect(cid, service)
        if done.returncode != 0 or self.stopped_early:
            self._mark_never_started(not_created)

    def verdicts(self) -> dict[str, ServiceVerdict]:
        verdicts = self.tracker.verdicts(self._now())
        if self.certain_at is None and any(v.verdict.cause for v in verdicts.values()):
            self.certain_at = self._now()
        return verdicts

    def failure_certain(self, verdicts: Mapping[str, ServiceVerdict]) -> bool:
        return any(v.verdict.cause for v in verdicts.values())

    def finished(self, verdicts: Mapping[str, ServiceVerdict]) -> bool:
        """After the sync point: every service final, or one failure certain."""
        if self.up_done is None:
            return False
        return self.failure_certain(verdicts) or all(v.verdict.final for v in verdicts.values())

    def wait(self) -> float:
        """How long the next wait for events may last."""
        if self.tracker.timeout is None:
            return TICK
        limit = self.started + self.tracker.timeout - self._now()
        return min(TICK, max(0.0, limit) + 0.01)

    # -- the loop --------------------------------------------------------------------
    def run(
        self,
        up: UpProcess,
        failed: Callable[[Completed], dict[str, str]],
        on_update: Update | None = None,
    ) -> WatchResult:
        """Watch while ``up`` runs (``failed``: Compose's words about the services a failed
        ``up`` did not create); interrupt it when a failure is certain before it returns."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="consign-up")
        future = pool.submit(up.wait)
        shown: dict[str, tuple[str, int | None, str]] = {}
        try:
            while True:
                verdicts = self.verdicts()
                if self.up_done is None and (future.done() or self.failure_certain(verdicts)):
                    if not future.done():
                        self.stopped_early = True
                        up.interrupt()
                    done = future.result()
                    failures = (
                        failed(done) if done.returncode != 0 and not self.stopped_early else {}
                    )
                    self.sync(done, failures)
                    verdicts = self.verdicts()
                snapshot = {
                    s: (v.verdict.value, v.exit_code, v.detail) for s, v in verdicts.items()
                }
                if on_update is not None and snapshot != shown:
                    on_update(verdicts)
                shown = snapshot
                if self.finished(verdicts):
                    assert self.up_done is not None
                    return WatchResult(verdicts, self.up_done, self.certain_at, self.stopped_early)
                self.on_events(self.feed.drain(self.wait()))
        except BaseException:
            up.interrupt()  # never leave Compose running behind us (Ctrl-C included)
            raise
        finally:
            pool.shutdown(wait=True)

    # -- helpers ---------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.monotonic()

    def _inspect(self, cid: str, service: str, last_exit: int | None = None) -> None:
        data = self.inspector.inspect(cid)
        if data is None:
            self.known.pop(cid, None)
            self.tracker.forget(cid, self._now())
            return
        created = parse_stamp(str(data.get("Created", "")))
        old = created is None or created < self.since
        if self.up_done is None and cid not in self.known and old:
            self.skipped.add(cid)
            return
        self.known[cid] = service
        obs = Observation(cid, service, self._now(), data, self.clock.engine_time(), last_exit)
        self.tracker.observe(obs)

    def _mark_never_started(self, not_created: Mapping[str, str]) -> None:
        """Services none of whose containers ever started: BLOCKED by a failed dependency,
        else NOT_CREATED with Compose's words (after an interrupted ``up``, those still
        waiting are left as they were). Repeated until nothing changes, so a service
        blocked by a blocked service is named too."""
        now = self._now()
        changed = True
        while changed:
            changed = False
            verdicts = self.tracker.verdicts(now)
            for service in self.services:
                if verdicts[service].verdict.failed or not self.tracker.never_started(service):
                    continue
                why = blocking(service, self.dependencies, verdicts)
                if why is not None:
                    self.tracker.mark(service, Verdict.BLOCKED, why, now)
                    changed = True
        verdicts = self.tracker.verdicts(now)
        for service, detail in not_created.items():
            failed = service in verdicts and verdicts[service].verdict.failed
            if service in verdicts and not failed and self.tracker.never_started(service):
                self.tracker.mark(service, Verdict.NOT_CREATED, detail, now)
