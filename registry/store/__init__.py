"""DescriptorStore: application/release versions in a bare Git repository.

The only package that touches the Git repository (through `git` itself: persistent
``cat-file --batch`` and ``update-ref --stdin`` processes, loose objects written
in-process). Layout: branch ``refs/heads/<app>/<release>``,
tag ``refs/tags/<app>/<release>/<N>`` (names encoded by :mod:`consign.compose.refnames`); each
version's tree holds ``docker-compose.yml``, ``fragments/<component>.yml`` and
``consign.json``. Writers serialise on a ``flock`` (see :mod:`.locking`); readers never
lock: refs only ever move forward, atomically, and objects never change.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from consign.cache import LRU
from consign.compose import refnames
from consign.compose.errors import InvalidName
from consign.process import CommandFailed, run
from registry import diffing, names
from registry.assembly import AttachedFile, Component
from registry.diffing import ServiceChanges
from registry.errors import BadRequest, NotFound, StoreError
from registry.store import (
    gatestore,
    head,
    housekeeping,
    locking,
    publisher,
)
from registry.store.core import DEFAULT_LIMIT
from registry.store.envlocks import EnvLocks
from registry.store.gatefacade import GateFacade
from registry.store.gitobjects import ObjectStore, init_bare
from registry.store.ledger import Ledger
from registry.store.ledgerfacade import LedgerFacade
from registry.store.ocifacade import OCIFacade
from registry.store.promotions import Promotions
from registry.store.reader import Reader, tag_name
from registry.store.refs import RefDB
from registry.store.retirefacade import RetireFacade
from registry.store.retirements import Retirements
from registry.store.types import (
    ComponentInfo,
    DeploymentRecord,
    EnvironmentLock,
    EnvironmentState,
    FileInfo,
    PromoteOutcome,
    Promotion,
    PublishOutcome,
    ServiceRecord,
    Target,
    VersionInfo,
)

__all__ = [
    "DEFAULT_LIMIT",
    "ComponentInfo",
    "DeploymentRecord",
    "DescriptorStore",
    "EnvironmentLock",
    "EnvironmentState",
    "FileInfo",
    "PromoteOutcome",
    "Promotion",
    "PublishOutcome",
    "ServiceRecord",
    "Target",
    "VersionInfo",
]

NUMBERED = 1024  # numbered versions whose (VersionInfo, descriptor bytes) stay in memory


class DescriptorStore(GateFacade, LedgerFacade, OCIFacade, RetireFacade):
    """Versions and publishing here; the gate, the ledger and the OCI side in their mixins
    (:mod:`.core` says how they fit)."""

    def __init__(
        self,
        path: str | Path,
        *,
        gc_auto: int = housekeeping.GC_AUTO,
        gc_min_interval: int = housekeeping.MIN_INTERVAL,
        durable: bool = True,
        lock_waited: Callable[[float], None] | None = None,
        max_descriptor_bytes: int | None = None,
    ) -> None:
        """``gc_auto``: loose objects before a publish runs ``git gc --auto`` (0: never);
        ``gc_min_interval``: publishes of one process between two such runs; ``durable``:
        objects and refs reach the disk before a publish returns (fsync; on by default);
        ``lock_waited``: told the seconds each wait for the writer lock took (metrics);
        ``max_descriptor_bytes``: the largest descriptor a publish may assemble (None: any)."""
        self.max_descriptor_bytes = max_descriptor_bytes
        self._path = Path(path).resolve()
        self._lock_waited = lock_waited
        init_bare(self._path)
        self.housekeeper = housekeeping.Housekeeper(
            self._path, gc_auto=gc_auto, min_interval=gc_min_interval
        )
        self._objects = ObjectStore(self._path, durable=durable)
        self._refs = RefDB(self._path, before_commit=self._objects.flush, durable=durable)
        head.ensure(self._path, self._objects, self._refs)
        self._reader = Reader(self._objects)
        self._gate = gatestore.GateStore(self._objects, self._refs)
        self._locks: dict[int, threading.RLock] = {}
        self._numbered: LRU[tuple[str, str, int], tuple[VersionInfo, bytes]] = LRU(NUMBERED)
        self._ledger = Ledger(self._path, self._objects, self._refs)
        self._envlocks = EnvLocks(self._path)
        self._promotions = Promotions(self._path, self._refs)
        self._retirements = Retirements(self._objects, self._refs)

    def repo_path(self) -> Path:
        return self._path

    def close(self) -> None:
        """Release this process's Git helper processes (optional; also done on collection)."""
        self._objects.close()
        self._refs.close()

    def gc(self) -> None:
        """Pack objects and refs (``git gc``) while holding the publish lock.

        Publishing writes loose objects and loose tags, and runs ``git gc --auto`` itself when
        they pile up (see :mod:`.housekeeping`); this full gc is for maintenance windows.
        Readers keep working during it.
        """
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            try:
                run(["git", "--git-dir", str(self._path), "gc", "--quiet"], tied_to_caller=True)
            except CommandFailed as e:
                raise StoreError(f"git gc failed: {e}") from e

    def applications(self) -> list[str]:
        with self._guard():
            found = self._refs.children("refs/heads/")
            return sorted(
                refnames.decode(a)
                for a in found
                if refnames.is_encoded(a) and self._release_refs(a)
            )

    def _release_refs(self, encoded_app: str) -> list[str]:
        found = self._refs.children(f"refs/heads/{encoded_app}/")
        return [r for r in found if refnames.is_encoded(r)]

    def releases(self, application: str) -> list[str]:
        with self._guard():
            found = self._release_refs(refnames.encode(application, "application"))
            if not found:
                raise NotFound(f"unknown application {application!r}")
            return sorted(refnames.decode(r) for r in found)

    def spelling(self, application: str, release: str | None = None) -> tuple[str, str | None]:
        """The stored spelling of a looked-up application (and release): names are one when
        their NFC forms are equal (:func:`registry.names.stored_spelling`). ASCII names cost
        nothing (every normal form of them is themselves); a name that cannot be stored comes
        back as given, so the lookup's own error names it."""
        if application.isascii() and (release is None or release.isascii()):
            return application, release
        with self._guard():
            found = self._refs.children("refs/heads/")
            stored = sorted(refnames.decode(a) for a in found if refnames.is_encoded(a))
            application = names.stored_spelling(application, stored)
            if release is None:
                return application, None
            try:
                encoded = refnames.encode(application, "application")
            except InvalidName:
                return application, release
            releases = sorted(refnames.decode(r) for r in self._release_refs(encoded))
            return application, names.stored_spelling(release, releases)

    def _tip(self, application: str, release: str) -> str:
        branch = publisher.branch_ref(application, release)
        tip = self._refs.resolve(branch)
        if tip is None:
            self.releases(application)  # NotFound naming the application if it is unknown
            raise NotFound(f"application {application!r} has no release {release!r}")
        return tip

    def _commit(self, application: str, release: str, number: int | None) -> str:
        tip = self._tip(application, release)
        if number is None:
            return tip
        latest = self._reader.info(tip).number
        if number == latest:
            return tip
        found = None
        if 1 <= number < latest:
            found = self._refs.resolve("refs/tags/" + tag_name(application, release, number))
        if found is None:
            raise NotFound(f"{application}/{release} has no version {number} (latest is {latest})")
        return found

    def version(self, application: str, release: str, number: int | None) -> VersionInfo:
        if number is not None:
            return self.descriptor(application, release, number)[0]
        with self._guard():
            return self._reader.info(self._commit(application, release, number))

    def descriptor(
        self, application: str, release: str, number: int | None
    ) -> tuple[VersionInfo, bytes]:
        """A version and its descriptor bytes. A numbered version never changes, so once read
        it is answered from memory: no ref read, no Git call, no lock."""
        if number is not None:
            found = self._numbered.get((application, release, number))
            if found is not None:
                return found
        with self._guard():
            commit = self._commit(application, release, number)
            answer = self._reader.info(commit), self._reader.descriptor(commit)
            return self._numbered.put((application, release, answer[0].number), answer)

    def versions(
        self,
        application: str,
        release: str,
        *,
        limit: int | None = None,
        before: int | None = None,
    ) -> list[VersionInfo]:
        """Newest first: at most ``limit`` (default 20) versions numbered below ``before``."""
        limit = DEFAULT_LIMIT if limit is None else limit
        if limit < 1:
            raise BadRequest(f"limit must be at least 1, not {limit}")
        with self._guard():
            tip = self._tip(application, release)
            newest = self._reader.info(tip).number
            start = newest
            if before is not None:
                if before <= 1:
                    return []
                start = min(start, before - 1)
            stop = max(0, start - limit)
            tags = [tag_name(application, release, n) for n in range(start, stop, -1)]
            # the newest version is read from the branch, not its tag: git's ref transaction
            # renames the branch into place before the tag, so a reader can see the new tip
            # a moment before its tag exists
            return self._reader.page(tags, {tag_name(application, release, newest): tip})

    def components(
        self,
        application: str,
        release: str,
        number: int | None = None,
        *,
        only: Collection[str] | None = None,
    ) -> list[Component]:
        """The components of a version (None: the latest); [] for a target never published.
        ``only``: just the components with these names."""
        with self._guard():
            if number is None:
                tip = self._refs.resolve(publisher.branch_ref(application, release))
                return list(self._reader.components(tip, only)) if tip else []
            commit = self._commit(application, release, number)
            return list(self._reader.components(commit, only))

    def service_changes(self, old: VersionInfo | None, new: VersionInfo) -> ServiceChanges:
        """Which services differ from ``old`` (None: nothing, as before a first version) to
        ``new``, which may belong to another release or application. Only the fragments
        whose services' definitions must be compared are read (see :func:`diffing.to_read`)."""
        before = old.components if old is not None else []
        read = diffing.to_read(before, new.components)
        return diffing.compare(
            before,
            new.components,
            self.components(old.application, old.release, old.number, only=read)
            if old is not None and read
            else [],
            self.components(new.application, new.release, new.number, only=read) if read else [],
        )

    def file(self, application: str, release: str, number: int, stored: str) -> bytes:
        """An attached file of a version, by its path in the tree (``fragments/<c>/<path>``);
        NotFound unless a component of that version has it."""
        for c in self.components(application, release, number):
            for where in c.stored_files().values():
                if where == stored:
                    with self._guard():
                        return self._reader.file(self._commit(application, release, number), where)
        raise NotFound(f"version {number} of {application}/{release} has no file {stored!r}")

    def publish(
        self,
        targets: Sequence[Target],
        component: str | None,
        fragment: str,
        spec: dict[str, Any],
        build: dict[str, Any],
        files: Mapping[str, bytes] | None = None,
    ) -> list[PublishOutcome]:
        """Publish one fragment to every target, atomically (see ARCHITECTURE.md).

        ``files``: env files published with the fragment, {normalised path as referenced:
        bytes} (checked by the caller: :func:`consign.compose.envfiles.confine`)."""
        files = dict(sorted((files or {}).items()))
        if not targets:
            raise BadRequest("publish needs at least one application/release target")
        unique = list(dict.fromkeys(targets))
        for t in unique:
            publisher.branch_ref(t.application, t.release)  # InvalidName before any work
        if component is not None:
            refnames.validate(component, "component")
        new = Component(
            name=component or "",
            fragment=fragment,
            spec=spec,
            build=dict(build),
            sha256=hashlib.sha256(fragment.encode()).hexdigest(),
            files=tuple(AttachedFile.of(path, data) for path, data in files.items()),
        )
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            for t in unique:  # under the lock: a freeze or policy set now is seen
                self._admit_publish(t)
            self._check_oci_names(unique)
            outcomes = publisher.publish(
                self._objects,
                self._refs,
                self._reader,
                unique,
                component,
                new,
                files,
                max_descriptor_bytes=self.max_descriptor_bytes,
            )
            if any(o.created for o in outcomes):
                self.housekeeper.after_publish()
            return outcomes
