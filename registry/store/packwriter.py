"""Writing a batch of new Git objects as ONE pack, in-process, made durable with 2 fsyncs.

A publish writes a handful of objects (blobs, trees, a commit). Written loose, each is a
file in its own fan-out directory, and making them durable costs an fsync per file plus
one per directory (the issue counted 21 fsyncs a publish). Written as one pack (version 2,
no deltas) with its version 2 index, they cost two: the pack, and ``objects/pack`` after
both are renamed into place: the batch Git's ``core.fsyncMethod=batch`` aims at, without a
process. The index is not fsynced: every byte of it is computed from the pack, and a
repository is opened only after :mod:`.packrepair` has checked the indexes and rebuilt any
that a power cut tore. The two files are filled into spare files made ahead
(:mod:`.sparefiles`) when there are some: creating a file costs as much as an fsync here.

Both files are written under temporary names (``tmp_pack_*``/``tmp_idx_*``, which ``git gc``
removes if a writer is killed), the pack renamed first and the index last: Git finds packs
through their index, so a reader sees the whole pack or none. A write that fails (a full
disk) removes its temporary files: nothing torn, nothing half-visible.

Many small packs slow lookups down; ``git gc --auto`` counts them (``gc.autoPackLimit``) and
:mod:`.housekeeping` asks it in time.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from registry.store.sparefiles import SpareFiles

TYPES = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}
LARGE_OFFSET = 0x80000000  # offsets from here on go to the index's 8-byte table
_counter = itertools.count()


@dataclass(frozen=True)
class NewObject:
    sha: str
    kind: str
    data: bytes


def object_id(kind: str, data: bytes) -> str:
    """The object's hex id (SHA-1 of ``<kind> <size>\\0<data>``)."""
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data).hexdigest()


def entry_header(kind: str, size: int) -> bytes:
    """A pack entry's header: type and size, 4 bits then 7 bits a byte, low bits first."""
    byte = (TYPES[kind] << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def encode(objects: Sequence[NewObject]) -> tuple[bytes, bytes, str]:
    """(pack bytes, index bytes, pack name) for ``objects`` (unique ids, any order)."""
    pack = bytearray(b"PACK" + struct.pack(">II", 2, len(objects)))
    where: dict[str, tuple[int, int]] = {}  # sha -> (offset, crc32 of the entry)
    for o in objects:
        entry = entry_header(o.kind, len(o.data)) + zlib.compress(o.data, 1)
        where[o.sha] = (len(pack), zlib.crc32(entry))
        pack += entry
    checksum = hashlib.sha1(pack).digest()
    pack += checksum
    names = sorted(where)
    index = bytearray(b"\377tOc" + struct.pack(">I", 2))
    fanout = [0] * 256
    for name in names:
        fanout[int(name[:2], 16)] += 1
    total = 0
    for i in range(256):
        total += fanout[i]
        index += struct.pack(">I", total)
    for name in names:
        index += bytes.fromhex(name)
    for name in names:
        index += struct.pack(">I", where[name][1])
    large: list[int] = []
    for name in names:
        offset = where[name][0]
        if offset < LARGE_OFFSET:
            index += struct.pack(">I", offset)
        else:
            index += struct.pack(">I", LARGE_OFFSET | len(large))
            large.append(offset)
    for offset in large:
        index += struct.pack(">Q", offset)
    index += checksum
    index += hashlib.sha1(index).digest()
    return bytes(pack), bytes(index), checksum.hex()


def fsync_path(path: Path) -> None:
    """``fsync`` a file or a directory by name (Linux flushes the inode, whichever fd)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes, durable: bool, spare: Path | None = None) -> None:
    """Write ``data`` to a new file at ``path``, or into the empty ``spare`` when given (a
    file of :mod:`.sparefiles`: no inode to make), fsynced with ``durable``.
    FileNotFoundError when the spare is gone (removed by hand, or by another process's
    sweep after a recycled pid)."""
    if spare is not None:
        fd = os.open(spare, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if spare is not None:
            os.fchmod(fd, 0o444)  # as Git's packs are, and as a created one is
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def write_pack(
    objects_dir: Path,
    objects: Sequence[NewObject],
    *,
    durable: bool,
    spares: SpareFiles | None = None,
) -> Path:
    """Store ``objects`` as one pack under ``objects_dir``/pack; return the index's path.

    With ``durable``, the pack and the pack directory are fsynced before this returns (two
    fsyncs whatever the number of objects; the index is not, see :mod:`.packrepair`).
    ``spares``: where to take the two files from when some are ready. Raises OSError
    (ENOSPC...) with nothing left behind."""
    try:
        return _write_pack(objects_dir, objects, durable, spares)
    except FileNotFoundError:
        if spares is None:
            raise
        # a spare removed under us (see _write_file): write into new files instead
        return _write_pack(objects_dir, objects, durable, None)


def _write_pack(
    objects_dir: Path, objects: Sequence[NewObject], durable: bool, spares: SpareFiles | None
) -> Path:
    pack, index, name = encode(objects)
    folder = objects_dir / "pack"
    final_pack, final_index = folder / f"pack-{name}.pack", folder / f"pack-{name}.idx"
    stamp = f"{os.getpid()}_{next(_counter)}"
    tmp_pack, tmp_index = folder / f"tmp_pack_{stamp}", folder / f"tmp_idx_{stamp}"
    files: list[Path] = []  # what to remove if the write fails: the spares taken too
    try:
        os.makedirs(folder, exist_ok=True)
        # the index is not fsynced: derived from the pack, rebuilt by .packrepair if torn
        for tmp, data, sync in ((tmp_pack, pack, durable), (tmp_index, index, False)):
            spare = spares.take() if spares is not None else None
            files.append(spare or tmp)
            _write_file(tmp, data, sync, spare)
        # the pack first, its index last: Git finds a pack through its index
        os.rename(files[0], final_pack)
        os.rename(files[1], final_index)
    except BaseException:
        for tmp in files:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    if durable:
        fsync_path(folder)
    return final_index
