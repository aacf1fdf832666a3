"""Git objects: written in-process, read through a pipelined ``cat-file --batch``.

Writes are collected in memory (and answered from there) until :meth:`ObjectStore.flush`,
which the ref transaction that makes them reachable calls first: they then go to the
repository as ONE pack (:mod:`.packwriter`), fsynced once, with no process per object. A
pack only becomes visible by renaming its index into place, so a killed writer leaves at
most unreferenced temporary files. Reads go through
:class:`~registry.store.catfile.CatFile`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from consign.process import CommandFailed, run
from registry.errors import StoreError
from registry.store import diskspace
from registry.store.catfile import CatFile, GitObject
from registry.store.packwriter import NewObject, object_id, write_pack
from registry.store.sparefiles import FOLDER as SPARES
from registry.store.sparefiles import SpareFiles

FILE_MODE = b"100644"
TREE_MODE = b"40000"
IDENTITY = b"Consignment Registry <registry@consignment>"


@dataclass(frozen=True)
class Commit:
    tree: str
    parents: tuple[str, ...]
    message: str


# What Git itself writes (refs by `update-ref`, packs by `gc`) reaches the disk before Git
# reports success: Git's own durability switches, set in every repository the store opens.
FSYNC_CONFIG = {"core.fsync": "objects,derived-metadata,reference", "core.fsyncMethod": "fsync"}
REF_FORMAT_OPTION = (2, 45)  # first Git whose `init` takes --ref-format


def _git_version() -> tuple[int, int]:
    out = run(["git", "--version"]).stdout  # "git version 2.39.5"
    numbers = out.split()[-1].split(".")
    return int(numbers[0]), int(numbers[1])


def check_ref_storage(path: Path) -> None:
    """Refuse a repository whose refs are not plain files (the store reads them itself).

    Read with ``--file`` so that a Git which does not know the extension cannot fail first
    with a vaguer message.
    """
    try:
        config = ["git", "config", "--file", str(path / "config")]
        fmt = run([*config, "--get", "extensions.refStorage"], check=False).stdout.strip()
    except CommandFailed as e:
        raise StoreError(f"cannot read the configuration of {path}: {e}") from e
    if fmt and fmt != "files":
        raise StoreError(
            f"the repository {path} stores its refs as {fmt!r} (extensions.refStorage); "
            "Consignment reads refs as files and needs a repository made with "
            "`git init --bare --ref-format=files` (or `git refs migrate --ref-format=files`)"
        )


def init_bare(path: Path) -> None:
    """Create a bare repository at ``path`` unless one is already there; check and configure it.

    New repositories pin the ``files`` ref format where Git lets us say so; every repository
    gets :data:`FSYNC_CONFIG`.
    """
    if not ((path / "objects").is_dir() and (path / "HEAD").is_file()):
        argv = ["git", "init", "--quiet", "--bare"]
        if _git_version() >= REF_FORMAT_OPTION:
            argv.append("--ref-format=files")
        try:
            run([*argv, str(path)])
        except CommandFailed as e:
            raise StoreError(f"cannot create the repository {path}: {e}") from e
    check_ref_storage(path)
    config = ["git", "config", "--file", str(path / "config")]
    for key, value in FSYNC_CONFIG.items():
        try:
            if run([*config, "--get", key], check=False).stdout.strip() != value:
                run([*config, key, value])
        except CommandFailed as e:
            raise StoreError(f"cannot configure the repository {path}: {e}") from e


class ObjectStore:
    def __init__(self, gitdir: Path, *, durable: bool = True) -> None:
        self.gitdir = gitdir
        self._catfile = CatFile(gitdir)
        self.durable = durable
        self._pending: dict[str, NewObject] = {}  # written, not yet flushed (insertion order)
        self.spares = SpareFiles(gitdir / SPARES)

    def close(self) -> None:
        self._catfile.close()
        self.spares.discard()

    def replenish(self) -> None:
        """Make the files the next flushes will write into, ahead (see :mod:`.sparefiles`):
        for idle moments, e.g. after a write's answer has been sent."""
        self.spares.replenish()

    def read_many(self, names: Sequence[str]) -> list[GitObject | None]:
        """The objects named, in order (None: not found); objects written and not yet
        flushed are answered from memory."""
        pending = self._pending
        if not pending or not any(n in pending for n in names):
            return self._catfile.read_many(names)
        asked = [n for n in names if n not in pending]
        found = iter(self._catfile.read_many(asked) if asked else [])
        return [
            GitObject(n, pending[n].kind, pending[n].data) if n in pending else next(found)
            for n in names
        ]

    def read(self, name: str, kind: str) -> GitObject:
        [found] = self._catfile.read_many([name])
        if found is None:
            raise StoreError(f"Git object {name} is missing")
        if found.kind != kind:
            raise StoreError(f"Git object {name} is a {found.kind}, expected a {kind}")
        return found

    def write(self, kind: str, data: bytes) -> str:
        """Add an object to the next pack; return its id (nothing touches the disk yet)."""
        sha = object_id(kind, data)
        if sha not in self._pending:
            self._pending[sha] = NewObject(sha, kind, data)
        return sha

    def flush(self) -> None:
        """Write every object added since the last flush as one pack, durable when the store
        is (called before a ref points at them). On failure (a full disk: nothing written)
        they are dropped too: the transaction fails, and a retry writes its own objects
        (which may differ: a new timestamp), so keeping these would only leave them dangling."""
        if not self._pending:
            return
        batch, self._pending = list(self._pending.values()), {}
        try:
            write_pack(self.gitdir / "objects", batch, durable=self.durable, spares=self.spares)
        except OSError as e:
            raise diskspace.store_error(self.gitdir, "cannot write Git objects", e) from e

    def write_tree(self, entries: dict[str, tuple[bytes, str]]) -> str:
        """Write a tree from {name: (mode, sha)}, in Git's canonical entry order."""

        def order(name: str) -> bytes:
            return name.encode() + (b"/" if entries[name][0] == TREE_MODE else b"")

        body = b"".join(
            entries[n][0] + b" " + n.encode() + b"\0" + bytes.fromhex(entries[n][1])
            for n in sorted(entries, key=order)
        )
        return self.write("tree", body)

    def write_commit(self, tree: str, parent: str | None, message: str, when: int) -> str:
        stamp = IDENTITY + b" %d +0000" % when
        head = b"tree " + tree.encode() + b"\n"
        if parent:
            head += b"parent " + parent.encode() + b"\n"
        head += b"author " + stamp + b"\ncommitter " + stamp + b"\n\n"
        return self.write("commit", head + message.encode())


def parse_commit(data: bytes) -> Commit:
    head, _, message = data.partition(b"\n\n")
    tree = ""
    parents: list[str] = []
    for line in head.split(b"\n"):
        if line.startswith(b"tree "):
            tree = line[5:].decode()
        elif line.startswith(b"parent "):
            parents.append(line[7:].decode())
    return Commit(tree, tuple(parents), message.decode("utf-8", "replace"))


def parse_tree(data: bytes) -> dict[str, tuple[bytes, str]]:
    """A tree object's entries as {name: (mode, sha)}, the shape :meth:`ObjectStore.write_tree`
    takes, so a tree can be rebuilt with one entry replaced."""
    entries: dict[str, tuple[bytes, str]] = {}
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        entries[name] = (data[pos:space], data[nul + 1 : nul + 21].hex())
        pos = nul + 21
    return entries
