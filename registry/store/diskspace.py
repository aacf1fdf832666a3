"""A full disk, told apart from other store failures: 507 ``insufficient_storage``.

Every write of the store (objects, refs, locks, ledger records) ends in an ``OSError`` or in
a failed Git command; :func:`store_error` and :func:`git_error` turn either into
:class:`~registry.errors.InsufficientStorage` when the filesystem was full (naming the
repository's free space) and into a plain :class:`~registry.errors.StoreError` otherwise.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from registry.errors import InsufficientStorage, StoreError

FULL = (errno.ENOSPC, errno.EDQUOT)
# how git (and the C library under it) says so on stderr
FULL_MESSAGES = ("No space left on device", "Disk quota exceeded")


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on ``path``'s filesystem (None: unknown)."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def full(gitdir: Path, what: str) -> InsufficientStorage:
    return InsufficientStorage(what, repository=str(gitdir), free_bytes=free_bytes(gitdir))


def store_error(gitdir: Path, what: str, e: OSError) -> StoreError:
    """The error to raise for ``e``, met while doing ``what`` in the repository ``gitdir``."""
    if e.errno in FULL:
        return full(gitdir, what)
    return StoreError(f"{what}: {e}")


def git_error(gitdir: Path, what: str, message: str) -> StoreError:
    """The error to raise for a Git command that failed saying ``message``."""
    if any(m in message for m in FULL_MESSAGES):
        return full(gitdir, what)
    return StoreError(f"{what}: {message}")
