"""Writing loose Git objects in-process, the way Git itself does.

``zlib`` (level 1, Git's ``core.looseCompression`` default) into a temporary file inside the
object's fan-out directory, then an atomic ``rename`` to ``objects/xx/<38 hex>``: a reader
sees the whole object or none, and a writer killed halfway leaves only a ``tmp_obj_*`` file,
which ``git gc``/``git prune`` removes. An object that already exists is not rewritten
(same name, same content). Five system calls per new object, no process.

Durability is batched, as Git's ``core.fsyncMethod=batch`` does: :func:`write_loose`
returns the path it created, and :class:`Durability` flushes every such file and then
every fan-out directory they were renamed into, once, right before the ref transaction
that makes them reachable. A 2xx therefore never names an object that a power cut could
take away.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import zlib
from pathlib import Path

_counter = itertools.count()


def object_id(kind: str, data: bytes) -> tuple[str, bytes]:
    """The object's hex id and its canonical bytes (header + data)."""
    raw = b"%s %d\0" % (kind.encode(), len(data)) + data
    return hashlib.sha1(raw).hexdigest(), raw


def write_loose(objects: Path, kind: str, data: bytes) -> tuple[str, Path | None]:
    """Store one object under ``objects`` (the repository's objects/ directory).

    Returns its id and the path of the file when this call created it (None when the object
    was already there), for :meth:`Durability.add`.
    """
    sha, raw = object_id(kind, data)
    folder = objects / sha[:2]
    final = folder / sha[2:]
    if os.path.exists(final):
        return sha, None
    tmp = folder / f"tmp_obj_{os.getpid()}_{next(_counter)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o444)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, flags, 0o444)
    try:
        try:
            view = memoryview(zlib.compress(raw, 1))
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.rename(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return sha, final


def fsync_path(path: Path) -> None:
    """``fsync`` a file or a directory by name (Linux flushes the inode, whichever fd)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Durability:
    """Objects written since the last :meth:`flush`, to be made durable before a ref moves.

    One per writer process (the store guards it with its per-process lock); ``enabled``
    False turns every flush into a no-op (tests and benchmarks that measure without it).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._files: list[Path] = []

    def add(self, path: Path | None) -> None:
        if path is not None and self.enabled:
            self._files.append(path)

    def flush(self) -> None:
        """fsync every pending object file, then each directory that received one."""
        files, self._files = self._files, []
        folders = dict.fromkeys(f.parent for f in files)  # ordered, unique
        for f in files:
            fsync_path(f)
        for folder in folders:
            fsync_path(folder)
        if folders:  # a fan-out directory may itself be new: make its entry durable too
            fsync_path(next(iter(folders)).parent)
