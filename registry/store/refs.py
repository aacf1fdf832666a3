"""Refs: read in-process, moved only by one ``git update-ref --stdin`` transaction each time.

Reading a ref is a file read (loose ref, then ``packed-refs``, the order Git itself uses),
so neither a publish nor a version lookup ever lists all tags. ``packed-refs`` is parsed
once and re-parsed only when its (inode, size, mtime) changes; its names are kept sorted,
so the children of a prefix are a bisected range, not a walk over every tag.
"""

from __future__ import annotations

import bisect
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from registry.errors import RefLocked, StoreError
from registry.store import diskspace
from registry.store.packwriter import fsync_path
from registry.store.updater import ZERO, RefUpdater

__all__ = ["ZERO", "RefDB", "RefUpdate"]


@dataclass(frozen=True)
class RefUpdate:
    ref: str  # full name, e.g. refs/heads/TLO%20GE/Milestone
    new: str
    old: str | None  # None: create (the ref must not exist yet)
    # new == ZERO deletes the ref (its old value must be ``old``)


class RefDB:
    def __init__(
        self,
        gitdir: Path,
        *,
        before_commit: Callable[[], None] | None = None,
        durable: bool = True,
    ) -> None:
        """``before_commit`` runs before every transaction (the object store's flush, so a
        ref never points at an object that is not yet on disk); with ``durable`` the
        directories of moved refs are fsynced after the commit (Git fsyncs the ref files
        themselves: ``core.fsync=reference``)."""
        self.gitdir = gitdir
        self._before_commit = before_commit
        self._durable = durable
        self._packed_key: tuple[int, int, int] | None = None
        self._packed: dict[str, str] = {}
        self._packed_names: list[str] = []  # the keys of _packed, sorted
        # prefix -> (the packed dict it was computed from, its children there): listing
        # applications walked every packed ref (10,000 version tags) for each prefix
        self._packed_children: dict[str, tuple[dict[str, str], frozenset[str]]] = {}
        self._updater = RefUpdater(gitdir, durable=durable)

    def close(self) -> None:
        self._updater.close()

    def _packed_refs(self) -> dict[str, str]:
        path = self.gitdir / "packed-refs"
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._packed_key, self._packed, self._packed_names = None, {}, []
            return self._packed
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        if key != self._packed_key:
            packed: dict[str, str] = {}
            for line in path.read_text("utf-8", "surrogateescape").splitlines():
                if line and line[0] not in "#^":
                    sha, _, ref = line.partition(" ")
                    packed[ref] = sha
            self._packed_key, self._packed = key, packed
            self._packed_names = sorted(packed)  # Git writes it sorted: a linear pass
        return self._packed

    def resolve(self, ref: str) -> str | None:
        """The object id a ref points at, or None when it does not exist."""
        try:
            text = (self.gitdir / ref).read_text("ascii").strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return self._packed_refs().get(ref)
        except OSError as e:
            if e.errno == errno.ENAMETOOLONG:  # a name no loose ref can have: look it up
                return self._packed_refs().get(ref)  # (a 404), never a 500
            raise StoreError(f"cannot read ref {ref}: {e}") from e
        except UnicodeError as e:
            raise StoreError(f"cannot read ref {ref}: {e}") from e
        if text.startswith("ref: "):
            return self.resolve(text[5:])
        return text or None

    def children(self, prefix: str) -> set[str]:
        """Names of the direct children (files or directories) of ``prefix`` (ending in /)."""
        names: set[str] = set()
        try:
            with os.scandir(self.gitdir / prefix) as entries:
                names.update(e.name for e in entries if not e.name.endswith(".lock"))
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as e:
            if e.errno != errno.ENAMETOOLONG:
                raise StoreError(f"cannot list refs under {prefix}: {e}") from e
        packed = self._packed_refs()
        known = self._packed_children.get(prefix)
        if known is None or known[0] is not packed:
            found = frozenset(
                ref[len(prefix) :].split("/", 1)[0] for ref in self._packed_under(prefix)
            )
            if len(self._packed_children) >= 1024:  # prefixes asked for unknown names too
                self._packed_children.clear()
            known = self._packed_children[prefix] = (packed, found)
        return names | known[1]

    def _packed_under(self, prefix: str) -> list[str]:
        """The packed ref names starting with ``prefix`` (call after :meth:`_packed_refs`):
        a bisected range of the sorted names. Walking all of them for each prefix cost
        ~15 ms at 100,000 version tags, several times a publish."""
        names = self._packed_names
        start = bisect.bisect_left(names, prefix)
        end = start
        while end < len(names) and names[end].startswith(prefix):
            end += 1
        return names[start:end]

    def _held_lock(self, updates: list[RefUpdate]) -> tuple[str, Path] | None:
        """(ref, lock file) of the first ref of a failed transaction that Git's lock file
        still blocks: the ref's own ``.lock``, or ``packed-refs.lock`` (taken to delete).

        Never removed here, whatever its age: only Git knows whether its owner still runs
        (a ``git gc`` packing refs, an orphaned ``update-ref`` finishing), and a lock left
        by a Git killed outright is for an operator to judge (see :class:`RefLocked`).
        """
        for update in updates:
            lock = self.gitdir / (update.ref + ".lock")
            if os.path.exists(lock):  # (False for any error: the original one is raised)
                return update.ref, lock
        packed = self.gitdir / "packed-refs.lock"
        return (updates[0].ref, packed) if os.path.exists(packed) else None

    def transaction(self, updates: list[RefUpdate]) -> None:
        """Apply every update or none (one ``git update-ref --stdin`` transaction).

        Raises :class:`RefLocked` when Git could not lock a ref because its lock file
        exists (Git itself waits ``core.filesRefLockTimeout`` for it first)."""
        if not updates:
            return
        if self._before_commit is not None:
            self._before_commit()
        lines = []
        for u in updates:
            if u.old is None:
                lines.append(f"create {u.ref} {u.new}")
            elif u.new == ZERO:
                lines.append(f"delete {u.ref} {u.old}")
            else:
                lines.append(f"update {u.ref} {u.new} {u.old}")
        existing = self._existing_ref_dirs(updates) if self._durable else {}
        try:
            self._updater.transaction(lines)
        except StoreError as e:
            lock = self._held_lock(updates)
            if lock is None:
                raise
            raise RefLocked(lock[0], str(lock[1])) from e
        if self._durable:
            self._sync_ref_dirs(updates, existing)

    def _existing_ref_dirs(self, updates: list[RefUpdate]) -> dict[Path, Path]:
        """{each moved ref's folder: its nearest ancestor that exists now} (itself if it
        does), read before the transaction, which may create the folders in between."""
        found: dict[Path, Path] = {}
        for u in updates:
            folder = (self.gitdir / u.ref).parent
            if folder in found:
                continue
            there = folder
            while there != self.gitdir and not there.is_dir():
                there = there.parent
            found[folder] = there
        return found

    def _sync_ref_dirs(self, updates: list[RefUpdate], existing: dict[Path, Path]) -> None:
        """fsync the folder of each moved ref (Git renames the ref into place, a new entry
        there, but does not flush the folder), and, where the transaction created folders,
        each one up to the folder that already held the new entry: the entries a power cut
        could lose, and no more (a folder that existed keeps its entry in its parent)."""
        folders: dict[Path, None] = {}
        for u in updates:
            folder = (self.gitdir / u.ref).parent
            top = existing.get(folder, self.gitdir / "refs")
            while True:
                folders[folder] = None
                if folder == top or folder == self.gitdir / "refs" or folder == self.gitdir:
                    break
                folder = folder.parent
        try:
            for folder in folders:
                fsync_path(folder)
        except FileNotFoundError:
            pass  # packed by a concurrent `gc` in between: packed-refs was fsynced by Git
        except OSError as e:
            raise diskspace.store_error(self.gitdir, "cannot make the refs durable", e) from e
