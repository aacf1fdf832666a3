"""Pack indexes checked when a repository is opened, and rebuilt from their pack if torn.

A publish fsyncs its pack but not the pack's index (:mod:`.packwriter`): the index is derived
data, every byte of it computed from the pack, so after a power cut that left an index torn
(short, zero-filled, garbage: its name was made durable by the directory's fsync, its
contents perhaps not) it is rebuilt here with ``git index-pack``, before this process reads
anything. That saves one fsync a publish and keeps the guarantee: the pack holding a 2xx'd
version's objects, and its name, reached the disk before any ref pointed at them.

What "whole" means is :func:`index_is_whole`: the indexes a publish writes are hashed
(a few KB each), Git's own large ones checked for size and pack checksum.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from consign.process import CommandFailed
from registry.errors import StoreError
from registry.store import gitrun, locking

HEADER = b"\377tOc\0\0\0\2"
SMALLEST = len(HEADER) + 256 * 4 + 40  # an index of no object
HASHED_UP_TO = 1 << 20  # bytes: an index of ~37,000 objects, far more than a publish writes


def _pack_checksum(pack: Path) -> bytes:
    """The SHA-1 a pack ends with (what its index must record)."""
    with pack.open("rb") as f:
        f.seek(-20, os.SEEK_END)
        return f.read(20)


def index_is_whole(index: Path) -> bool:
    """Whether ``index`` is a complete version 2 index of the pack beside it: its size
    agrees with its object count, it records the pack's own checksum (not the pack's name:
    Git before 1.8.4 named packs after their objects), and, for an index of up to
    :data:`HASHED_UP_TO` bytes (a publish's, a handful of objects), its trailing SHA-1
    matches its contents. Larger ones are Git's own (``gc``, ``repack``), which Git fsyncs
    (``core.fsync=derived-metadata``): hashing them at every open would cost ~30 ms for
    the 17 MB index of a 100,000-version repository."""
    try:
        with index.open("rb") as f:
            head = f.read(SMALLEST - 40)
            size = os.fstat(f.fileno()).st_size
            f.seek(-40, os.SEEK_END)
            tail = f.read(40)
        pack = _pack_checksum(index.with_suffix(".pack"))
    except OSError:  # missing, or shorter than a header: rebuilt (or, if the pack is, refused)
        return False
    if len(head) < SMALLEST - 40 or not head.startswith(HEADER) or len(tail) < 40:
        return False
    count = int.from_bytes(head[-4:], "big")  # the fan-out's last entry: every object
    least = SMALLEST + 28 * count  # id, CRC and 4-byte offset each; 8 more for a large offset
    if not least <= size <= least + 8 * count or tail[:20] != pack:
        return False
    if size > HASHED_UP_TO:
        return True
    return hashlib.sha1(index.read_bytes()[:-20]).digest() == tail[20:]


def torn_indexes(gitdir: Path) -> list[Path]:
    """The index of each pack in ``gitdir`` whose index is missing or not whole."""
    folder = gitdir / "objects" / "pack"
    try:
        packs = sorted(p for p in folder.iterdir() if p.name.endswith(".pack"))
    except FileNotFoundError:
        return []
    return [p.with_suffix(".idx") for p in packs if not index_is_whole(p.with_suffix(".idx"))]


def repair(gitdir: Path) -> list[Path]:
    """Rebuild every torn or missing pack index of ``gitdir`` (under the writer lock, so
    that workers opening at once repair once); return the indexes rebuilt.

    A pack that is itself torn (possible only without durability, ``CONSIGN_DURABLE=false``)
    cannot be indexed: StoreError names it."""
    if not torn_indexes(gitdir):
        return []
    rebuilt: list[Path] = []
    with locking.exclusive(gitdir):
        for index in torn_indexes(gitdir):  # again: another process may have repaired them
            pack = index.with_suffix(".pack")
            try:
                if index.exists():
                    os.unlink(index)
                gitrun.run(gitdir, "index-pack", str(pack), tied_to_caller=True)
            except (OSError, CommandFailed) as e:
                raise StoreError(
                    f"the pack {pack} has a torn index and cannot be indexed again ({e}); "
                    "a pack written without durability (CONSIGN_DURABLE=false) may have been "
                    "cut short by a crash: restore the repository from a backup"
                ) from e
            rebuilt.append(index)
    return rebuilt
