"""The one Git layer every part of the store stands on: the bare repository, its objects
and refs, the per-process guard and the writer lock, and the housekeeping after writes.

The parts (:mod:`.versions`, :mod:`.releasegate`, :mod:`.envledger`, :mod:`.ocilayers`)
each get this object and nothing else of one another's insides. Writers serialise on a
``flock`` (:mod:`.locking`); readers never lock: refs only ever move forward, atomically,
and objects never change.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from consign.process import CommandFailed
from registry.errors import StoreError
from registry.store import gitrun, head, housekeeping, locking, packrepair
from registry.store.gitobjects import ObjectStore, init_bare
from registry.store.reader import Reader
from registry.store.refs import RefDB


class GitRepository:
    def __init__(
        self,
        path: str | Path,
        *,
        gc_auto: int = housekeeping.GC_AUTO,
        gc_min_interval: int = housekeeping.MIN_INTERVAL,
        durable: bool = True,
        lock_waited: Callable[[float], None] | None = None,
    ) -> None:
        """Open (creating it if need be) the bare repository at ``path``; see
        :class:`registry.store.DescriptorStore` for the options."""
        self.path = Path(path).resolve()
        self._lock_waited = lock_waited
        init_bare(self.path)
        packrepair.repair(self.path)  # an index a power cut tore: before anything reads
        self.housekeeper = housekeeping.Housekeeper(
            self.path, gc_auto=gc_auto, min_interval=gc_min_interval
        )
        self.objects = ObjectStore(self.path, durable=durable)
        self.refs = RefDB(self.path, before_commit=self.objects.flush, durable=durable)
        head.ensure(self.path, self.objects, self.refs)
        self.reader = Reader(self.objects)  # versions' commits, cached by id: shared
        self._locks: dict[int, threading.RLock] = {}

    def close(self) -> None:
        """Release this process's Git helper processes (optional; also done on collection)."""
        self.objects.close()
        self.refs.close()

    def replenish(self) -> None:
        """Prepare, while idle, what the next write will need (see :mod:`.sparefiles`)."""
        self.objects.replenish()

    def guard(self) -> threading.RLock:
        """A per-process lock: one cat-file pipe must not serve two threads at once."""
        return self._locks.setdefault(os.getpid(), threading.RLock())

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the guard and the repository's writer lock (every write to refs)."""
        with self.guard(), locking.exclusive(self.path, self._lock_waited):
            yield

    def gc(self) -> None:
        """Pack objects and refs (``git gc``) while holding the writer lock; readers keep
        working during it."""
        with self.writing():
            try:
                gitrun.run(self.path, "gc", "--quiet", tied_to_caller=True)
            except CommandFailed as e:
                raise StoreError(f"git gc failed: {e}") from e
