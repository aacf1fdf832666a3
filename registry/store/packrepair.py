"""Pack indexes checked when a repository is opened, and rebuilt from their pack if torn.

A publish fsyncs its pack but not the pack's index (:mod:`.packwriter`): the index is derived
data, every byte of it computed from the pack, so after a power cut that left an index torn
(short, zero-filled, garbage: its name was made durable by the directory's fsync, its
contents perhaps not) it is rebuilt here with ``git index-pack``, before this process reads
anything. That saves one fsync a publish and keeps the guarantee: the pack holding a 2xx'd
version's objects, and its name, reached the disk before any ref pointed at them.

An index is whole when its trailing SHA-1 matches its contents and it names the pack's own
checksum; checking every index costs one SHA-1 pass over them (~10 ms for the 17 MB index
of a 100,000-version repository after ``git gc``).
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


def index_is_whole(index: Path) -> bool:
    """Whether ``index`` is a complete version 2 index of the pack whose name it bears."""
    try:
        data = index.read_bytes()
    except FileNotFoundError:
        return False
    if len(data) < SMALLEST or not data.startswith(HEADER):
        return False
    if hashlib.sha1(data[:-20]).digest() != data[-20:]:
        return False
    return data[-40:-20].hex() == index.stem.removeprefix("pack-")


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
