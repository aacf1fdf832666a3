"""The outbox: events written to disk before the request that made them answers, taken
from there by the delivery worker (registry/events/worker.py).

One file per event, ``<time_ns>-<id>.json``, written under a temporary name and renamed into
place, so a reader sees whole events only and a worker killed mid-write leaves nothing
half-made behind (its temporary file is swept up later). The events of publishes,
promotions and deployment records are not fsynced on the request path: the file is in the
kernel's page cache when the answer goes out, which survives a killed worker or registry
(SIGKILL); after a power cut they are re-derived from the store (registry/events/recovery.py).
The other kinds (human actions and locks, rare) are fsynced with their folder before the
answer (``sync=True``); ``durable=True`` (``CONSIGN_WEBHOOKS_DURABLE``) fsyncs every one
(docs/events.md, "Guarantees").

An event fills a spare file made ahead (registry/store/sparefiles.py, in ``spares/`` beside
the outbox: the same file system, so the rename works) when one is ready: creating a file
costs as much as an fsync on the CI machine's disk, and the request path should not pay it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from registry.events.catalog import Event
from registry.store.sparefiles import SpareFiles

#: Temporary files older than this are left over from a killed worker.
STALE_SECONDS = 60.0


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Outbox:
    """The folder of events not yet handed to their subscriptions."""

    def __init__(self, folder: str | Path, *, durable: bool = False) -> None:
        self.folder = Path(folder)
        self.durable = durable
        self.folder.mkdir(parents=True, exist_ok=True)
        self.spares = SpareFiles(self.folder.parent / "spares")

    def append(self, event: Event, *, sync: bool = False) -> Path:
        """Write ``event``; fsynced (file and folder) when ``sync`` or the outbox is durable."""
        durable = self.durable or sync
        body = json.dumps(event.to_json(), ensure_ascii=False).encode("utf-8")
        name = f"{time.time_ns():020d}-{event.id}.json"
        temporary = self.folder / f".tmp-{name}"
        spare = self.spares.take()
        fd = -1
        if spare is not None:
            try:
                fd = os.open(spare, os.O_WRONLY | os.O_TRUNC)
                temporary = spare
            except OSError:  # removed meanwhile: made on the spot instead
                fd = -1
        if fd < 0:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, body)
            if durable:
                os.fdatasync(fd)
        finally:
            os.close(fd)
        final = self.folder / name
        os.rename(temporary, final)
        if durable:
            fsync_dir(self.folder)
        return final

    def waiting(self) -> list[Path]:
        """The events in the order they were written (by the clock, then the id)."""
        names = sorted(
            entry.name
            for entry in os.scandir(self.folder)
            if entry.name.endswith(".json") and not entry.name.startswith(".")
        )
        return [self.folder / name for name in names]

    @staticmethod
    def read(path: Path) -> Event | None:
        """The event in ``path``; None when it is gone or cannot be read (unreadable files
        are moved aside as ``.bad``, never retried forever)."""
        try:
            return Event.from_json(json.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            os.replace(path, path.with_name("." + path.name + ".bad"))
            return None

    def sweep(self, now: float | None = None) -> None:
        """Remove temporary files a killed worker left (older than :data:`STALE_SECONDS`)."""
        now = time.time() if now is None else now
        for entry in os.scandir(self.folder):
            if entry.name.startswith(".tmp-"):
                try:
                    if now - entry.stat().st_mtime > STALE_SECONDS:
                        os.unlink(entry.path)
                except FileNotFoundError:
                    pass
