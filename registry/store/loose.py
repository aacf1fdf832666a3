"""Writing loose Git objects in-process, the way Git itself does.

``zlib`` (level 1, Git's ``core.looseCompression`` default) into a temporary file inside the
object's fan-out directory, then an atomic ``rename`` to ``objects/xx/<38 hex>``: a reader
sees the whole object or none, and a writer killed halfway leaves only a ``tmp_obj_*`` file,
which ``git gc``/``git prune`` removes. An object that already exists is not rewritten
(same name, same content). Five system calls per new object, no process.
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


def write_loose(objects: Path, kind: str, data: bytes) -> str:
    """Store one object under ``objects`` (the repository's objects/ directory)."""
    sha, raw = object_id(kind, data)
    folder = objects / sha[:2]
    final = folder / sha[2:]
    if os.path.exists(final):
        return sha
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
    return sha
