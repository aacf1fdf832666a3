"""Empty files made ahead of a write, so that a publish renames an inode instead of making one.

On the CI machine kind (ext4 on a virtual disk) creating a file costs 0.25-0.8 ms, as much
as an fsync, while opening an existing one costs microseconds; a publish's pack and index
are two new files. PostgreSQL recycles its WAL segments for the same reason. So each process
keeps a few empty files ready in ``consign-spares/`` in the repository (``spare_<pid>_<n>``:
not in ``objects/pack``, where ``git count-objects`` would call them garbage) and makes new
ones when it is idle (:meth:`SpareFiles.replenish`, which the HTTP layer runs after a
write's answer has been sent). A write takes one, fills it, fsyncs it and renames it into
place: the durability of the result is exactly that of a file created on the spot (its
data and inode are fsynced before the rename, its new name by the directory's fsync).

Spares are per process (a forked child never takes its parent's), removed by
:meth:`SpareFiles.discard` on close; those of a process that is gone (SIGKILLed) are removed
by the next one to replenish. Whoever cannot take a spare (none left, or one removed
meanwhile) creates its file as before.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from pathlib import Path

FOLDER = "consign-spares"  # in the repository, beside consign-publish.lock
PREFIX = "spare_"
KEEP = 4  # two writes' worth: a pack and its index each


class SpareFiles:
    def __init__(self, folder: Path, keep: int = KEEP) -> None:
        """``folder``: where the spares are made (on the file system of the files they
        become, which are renamed from there)."""
        self.folder = folder
        self.keep = keep
        self._ready: list[Path] = []
        self._pid = os.getpid()
        self._names = itertools.count()
        self._lock = threading.Lock()
        self._swept = False

    def _mine(self) -> list[Path]:
        """The spares of this process (a forked child forgets its parent's, never uses them)."""
        if os.getpid() != self._pid:
            self._pid, self._ready = os.getpid(), []
        return self._ready

    def take(self) -> Path | None:
        """An empty file of this process's to write into (then rename), or None."""
        with self._lock:
            ready = self._mine()
            return ready.pop() if ready else None

    def count(self) -> int:
        with self._lock:
            return len(self._mine())

    def replenish(self) -> None:
        """Make spares until :attr:`keep` are ready. Best effort, never raises: a full disk
        or a missing folder only means the next write creates its files itself. Files are
        made outside the lock, so a write in another thread never waits for them."""
        with self._lock:
            missing = self.keep - len(self._mine())
            sweep, self._swept = not self._swept, True
            pid = self._pid
        try:
            if missing > 0 or sweep:
                os.makedirs(self.folder, exist_ok=True)
            if sweep:
                self._sweep()
            for _ in range(missing):
                path = self.folder / f"{PREFIX}{pid}_{next(self._names)}"
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                os.close(os.open(path, flags, 0o644))
                with self._lock:
                    self._mine().append(path)
        except OSError:
            return

    def _sweep(self) -> None:
        """Remove the spares of processes that are gone (a SIGKILLed worker's). A live
        process whose spare went (a recycled pid) creates that file itself instead."""
        for entry in os.scandir(self.folder):
            pid = entry.name.removeprefix(PREFIX).split("_", 1)[0]
            if entry.name == pid or not pid.isdigit() or int(pid) == self._pid:
                continue  # not a spare's name, or one of ours
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            except OSError:
                pass  # alive, someone else's

    def discard(self) -> None:
        """Remove this process's spares (on close)."""
        with self._lock:
            ready, self._ready = self._mine(), []
        for path in ready:
            with contextlib.suppress(OSError):
                os.unlink(path)
