"""Events re-derived from the store after a crash: what a power cut took from the outbox.

The outbox entries of publishes, promotions and deployment records are not fsynced (that
would cost the publish a disk flush). What the store made durable is enough to make them
again: every version a release gained, every record an environment's ledger gained. The
delivery worker keeps a :class:`Cursor` on disk (the newest version of every release and
the newest record of every environment it knows were handed to the subscriptions), and
when it starts, :func:`missed` makes the events of everything past it. Their ids are made
from the store (catalog.derived_id), so an event that did reach the outbox is the same
event, queued once (rules.SeenIds) and deduplicated by receivers by its id.

The cursor moves forward at checkpoints (:class:`Checkpoints`): the snapshot taken at one
checkpoint is written at the next, :data:`LAG` seconds later, once the queued jobs are
fsynced: by then every write in it has long written its outbox entry and the worker has
fanned it out. A first start (no cursor) derives nothing: the subscriptions begin now.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from registry.events import catalog
from registry.events.catalog import Event
from registry.events.outbox import fsync_dir
from registry.store import DescriptorStore

#: Seconds between checkpoints (and so the lag of the cursor behind the store).
LAG = 10.0
#: The most versions (or records) re-derived for one release (or environment) at a start.
MAX_PER_LINE = 1000


@dataclass(frozen=True)
class Cursor:
    versions: dict[tuple[str, str], int] = field(default_factory=dict)  # (app, release) -> N
    records: dict[str, int] = field(default_factory=dict)  # environment -> newest seq

    def to_json(self) -> dict[str, object]:
        return {
            "versions": [[a, r, n] for (a, r), n in sorted(self.versions.items())],
            "records": dict(sorted(self.records.items())),
        }

    @classmethod
    def from_json(cls, body: dict[str, object]) -> Cursor:
        versions = body.get("versions") or []
        records = body.get("records") or {}
        assert isinstance(versions, list) and isinstance(records, dict)
        return cls(
            {(str(a), str(r)): int(n) for a, r, n in versions},
            {str(e): int(s) for e, s in records.items()},
        )

    @classmethod
    def load(cls, path: Path) -> Cursor | None:
        try:
            return cls.from_json(json.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AssertionError):
            return None  # torn by a crash: start afresh (nothing derived, nothing lost twice)

    def save(self, path: Path) -> None:
        temporary = path.with_name("." + path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(self.to_json()).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        fsync_dir(path.parent)


def snapshot(store: DescriptorStore) -> Cursor:
    """Where the store is now: the newest version of each release, record of each
    environment."""
    versions = {}
    for application in store.applications():
        for release in store.releases(application):
            newest = store.versions(application, release, limit=1)
            if newest:
                versions[(application, release)] = newest[0].number
    records = {}
    for environment in store.environments():
        newest_records = store.deployments(environment.name, limit=1)
        if newest_records:
            records[environment.name] = newest_records[0].seq
    return Cursor(versions, records)


def missed(store: DescriptorStore, old: Cursor, new: Cursor) -> list[Event]:
    """The events of what the store gained from ``old`` to ``new``, oldest first per line."""
    found: list[Event] = []
    for (application, release), number in new.versions.items():
        since = old.versions.get((application, release), 0)
        if number > since:
            gained = store.versions(
                application, release, limit=min(number - since, MAX_PER_LINE), before=number + 1
            )
            found += [catalog.version_event(v) for v in reversed(gained) if v.number > since]
    for environment, seq in new.records.items():
        since = old.records.get(environment, 0)
        if seq > since:
            gained_records = store.deployments(
                environment, limit=min(seq - since, MAX_PER_LINE), before=seq + 1
            )
            for record in reversed(gained_records):
                if record.seq > since and (event := catalog.recorded(record)) is not None:
                    found.append(event)
    return found


class Checkpoints:
    """When the cursor moves: a snapshot taken now becomes the cursor :data:`LAG` seconds
    later (``flush`` first makes the queued jobs durable)."""

    def __init__(
        self,
        store: DescriptorStore,
        path: Path,
        *,
        lag: float = LAG,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.path, self.lag, self.clock = store, path, lag, clock
        self.candidate: Cursor | None = None
        self.taken = clock()

    def recover(self) -> tuple[list[Event], Cursor]:
        """At the start: the events missed since the cursor on disk, and where the store is."""
        now = snapshot(self.store)
        old = Cursor.load(self.path)
        return (missed(self.store, old, now) if old is not None else []), now

    def due(self, flush: Callable[[], None]) -> None:
        if self.clock() - self.taken < self.lag:
            return
        if self.candidate is not None:
            flush()
            self.candidate.save(self.path)
        self.candidate = snapshot(self.store)
        self.taken = self.clock()
