"""The one writer lock: an exclusive ``flock`` on a file inside the repository.

``flock`` works across processes (gunicorn workers) and, because every acquisition opens
its own file description, across threads of one process too. The kernel releases it when
the holder dies, even by SIGKILL, so a crashed worker can never wedge the registry.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from registry.store import diskspace

LOCK_NAME = "consign-publish.lock"


@contextmanager
def exclusive(gitdir: Path, waited: Callable[[float], None] | None = None) -> Iterator[None]:
    """Hold the repository's writer lock for the duration of the ``with`` block.

    ``waited`` is told how many seconds it took to get the lock (the metrics' lock wait).
    """
    path = gitdir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise diskspace.store_error(gitdir, f"cannot open the publish lock {path}", e) from e
    try:
        started = time.monotonic()
        fcntl.flock(fd, fcntl.LOCK_EX)
        if waited is not None:
            waited(time.monotonic() - started)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
