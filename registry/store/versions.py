"""The versions part of the store: applications, releases and their numbered versions,
read from the release branches and version tags, and published (:mod:`.versionwriter`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from consign.cache import LRU
from consign.compose import refnames
from consign.compose.errors import InvalidName
from registry import diffing, names
from registry.assembly import AttachedFile, Component
from registry.diffing import ServiceChanges
from registry.errors import BadRequest, NotFound
from registry.store import layout, versionwriter
from registry.store.layout import tag_name
from registry.store.repository import GitRepository
from registry.store.types import PublishOutcome, SecretsFound, Target, VersionInfo

NUMBERED = 1024  # numbered versions whose (VersionInfo, descriptor bytes) stay in memory
# A page of the versions listing. Each version carries every component with its build
# (~9 KB of JSON at 50 components), so 20 versions are ~180 KB and a few milliseconds,
# where 100 were ~900 KB and ~20 ms; older versions are one `before=` away.
DEFAULT_LIMIT = 20

Admission = Callable[[Sequence[Target], SecretsFound | None], None]


class Versions:
    def __init__(
        self,
        repo: GitRepository,
        *,
        admit: Admission,
        max_descriptor_bytes: int | None = None,
    ) -> None:
        """``admit``: called under the writer lock with a publish's targets before anything
        is written; raises to refuse them (the gate's freeze and policy, OCI names);
        ``max_descriptor_bytes``: the largest descriptor a publish may assemble (None: any)."""
        self._repo = repo
        self._admit = admit
        self.max_descriptor_bytes = max_descriptor_bytes
        self._numbered: LRU[tuple[str, str, int], tuple[VersionInfo, bytes]] = LRU(NUMBERED)

    def applications(self) -> list[str]:
        with self._repo.guard():
            found = self._repo.refs.children(layout.BRANCHES)
            return sorted(
                refnames.decode(a)
                for a in found
                if refnames.is_encoded(a) and self._release_refs(a)
            )

    def _release_refs(self, encoded_app: str) -> list[str]:
        found = self._repo.refs.children(layout.releases_prefix(encoded_app))
        return [r for r in found if refnames.is_encoded(r)]

    def releases(self, application: str) -> list[str]:
        with self._repo.guard():
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
        with self._repo.guard():
            found = self._repo.refs.children(layout.BRANCHES)
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

    def tip(self, application: str, release: str) -> str:
        branch = layout.branch_ref(application, release)
        tip = self._repo.refs.resolve(branch)
        if tip is None:
            self.releases(application)  # NotFound naming the application if it is unknown
            raise NotFound(f"application {application!r} has no release {release!r}")
        return tip

    def _commit(self, application: str, release: str, number: int | None) -> str:
        tip = self.tip(application, release)
        if number is None:
            return tip
        latest = self._repo.reader.info(tip).number
        if number == latest:
            return tip
        found = None
        if 1 <= number < latest:
            found = self._repo.refs.resolve(layout.tag_ref(tag_name(application, release, number)))
        if found is None:
            raise NotFound(f"{application}/{release} has no version {number} (latest is {latest})")
        return found

    def version(self, application: str, release: str, number: int | None) -> VersionInfo:
        if number is not None:
            return self.descriptor(application, release, number)[0]
        with self._repo.guard():
            return self._repo.reader.info(self._commit(application, release, number))

    def descriptor(
        self, application: str, release: str, number: int | None
    ) -> tuple[VersionInfo, bytes]:
        """A version and its descriptor bytes. A numbered version never changes, so once read
        it is answered from memory: no ref read, no Git call, no lock."""
        if number is not None:
            found = self._numbered.get((application, release, number))
            if found is not None:
                return found
        with self._repo.guard():
            commit = self._commit(application, release, number)
            answer = self._repo.reader.info(commit), self._repo.reader.descriptor(commit)
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
        with self._repo.guard():
            tip = self.tip(application, release)
            newest = self._repo.reader.info(tip).number
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
            return self._repo.reader.page(tags, {tag_name(application, release, newest): tip})

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
        with self._repo.guard():
            if number is None:
                tip = self._repo.refs.resolve(layout.branch_ref(application, release))
                return list(self._repo.reader.components(tip, only)) if tip else []
            commit = self._commit(application, release, number)
            return list(self._repo.reader.components(commit, only))

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
                    with self._repo.guard():
                        return self._repo.reader.file(
                            self._commit(application, release, number), where
                        )
        raise NotFound(f"version {number} of {application}/{release} has no file {stored!r}")

    def publish(
        self,
        targets: Sequence[Target],
        component: str | None,
        fragment: str,
        spec: dict[str, Any],
        build: dict[str, Any],
        files: Mapping[str, bytes] | None = None,
        secrets: SecretsFound | None = None,
    ) -> list[PublishOutcome]:
        """Publish one fragment to every target, atomically (see ARCHITECTURE.md).

        ``files``: env files published with the fragment, {normalised path as referenced:
        bytes} (checked by the caller: :func:`consign.compose.envfiles.confine`). ``secrets``:
        the fragment's secret-looking literals and the registry's policy default; each
        target's policy may refuse them (SecretsRefused, nothing written)."""
        files = dict(sorted((files or {}).items()))
        if not targets:
            raise BadRequest("publish needs at least one application/release target")
        unique = list(dict.fromkeys(targets))
        for t in unique:
            layout.branch_ref(t.application, t.release)  # InvalidName before any work
        if component is not None:
            refnames.validate(component, "component")
        new = Component(
            name=component or "",
            fragment=fragment,
            spec=spec,
            build=dict(build),
            sha256=hashlib.sha256(fragment.encode()).hexdigest(),
            files=tuple(AttachedFile.of(path, data) for path, data in files.items()),
            secrets=secrets.findings if secrets is not None else (),
        )
        with self._repo.writing():
            self._admit(unique, secrets)  # under the lock: a freeze or policy set now is seen
            outcomes = versionwriter.publish(
                self._repo.objects,
                self._repo.refs,
                self._repo.reader,
                unique,
                component,
                new,
                files,
                max_descriptor_bytes=self.max_descriptor_bytes,
            )
            if any(o.created for o in outcomes):
                self._repo.housekeeper.after_publish()
            return outcomes
