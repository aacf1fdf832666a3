"""Reading versions out of commits, with in-process caches keyed by immutable names.

A version commit never changes, and neither does the commit a version tag names, so what
is derived from them (VersionInfo, parent, components, descriptor) is cached and never
invalidated; the LRU bounds only cap memory. Cold reads are pipelined: a page of 100
versions is one ``cat-file`` round trip (the tag ``<t>`` and ``<t>:consign.json``
for each). Component entries that are equal in consecutive manifests share one ComponentInfo, so
10,000 cached versions of a 50-component release cost megabytes, not gigabytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from consign.cache import LRU
from consign.compose import yamlio
from registry.assembly import AttachedFile, Component, parse_fragment
from registry.errors import StoreError
from registry.store import manifest
from registry.store.catfile import GitObject
from registry.store.gitobjects import ObjectStore, parse_commit
from registry.store.layout import tag_name, tag_ref
from registry.store.types import ComponentInfo, VersionInfo


@dataclass(frozen=True)
class Entry:
    info: VersionInfo
    parent: str | None
    tree: str  # the version's root tree


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Reader:
    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._entries: LRU[str, Entry] = LRU(20_000)
        self._tags: LRU[str, str] = LRU(20_000)
        self._shared: LRU[tuple[str, str], ComponentInfo] = LRU(20_000)
        self._components: LRU[str, list[Component]] = LRU(64)
        self._specs: LRU[str, dict[str, Any]] = LRU(4096)
        self._descriptors: LRU[str, bytes] = LRU(256)
        self._fragments: LRU[str, str] = LRU(4096)

    def _make(self, name: str, commit: GitObject | None, data: GitObject | None) -> Entry:
        if commit is None or commit.kind != "commit":
            raise StoreError(f"{name} does not name a commit")
        if data is None or data.kind != "blob":
            raise StoreError(f"{name} has no {manifest.MANIFEST}: not a Consignment version")
        try:
            info = manifest.version_info(data.data, commit.sha, "")
        except (ValueError, KeyError, TypeError) as e:
            raise StoreError(f"{name} has an unreadable manifest: {e}") from e
        shared = [self._share(c) for c in info.components]
        tag = tag_name(info.application, info.release, info.number)
        info = replace(info, tag=tag, components=shared)
        parsed = parse_commit(commit.data)
        entry = Entry(info, parsed.parents[0] if parsed.parents else None, parsed.tree)
        return self._entries.put(commit.sha, entry)

    def _share(self, item: ComponentInfo) -> ComponentInfo:
        key = (item.name, item.sha256)
        cached = self._shared.get(key)
        return cached if cached == item and cached is not None else self._shared.put(key, item)

    def entry(self, commit: str) -> Entry:
        cached = self._entries.get(commit)
        if cached is None:
            found = self.objects.read_many([commit, f"{commit}:{manifest.MANIFEST}"])
            cached = self._make(commit, found[0], found[1])
        return cached

    def info(self, commit: str) -> VersionInfo:
        return self.entry(commit).info

    def page(
        self, tags: Sequence[str], known: Mapping[str, str] | None = None
    ) -> list[VersionInfo]:
        """The versions named by these tag short names (all must exist), in order; ``known``:
        tags whose commit the caller already has (read through it, not the tag's ref)."""
        found: dict[str, Entry] = {}
        missing: list[str] = []
        for tag in tags:
            commit = self._tags.get(tag) or (known or {}).get(tag)
            entry = self.entry(commit) if commit else None
            if entry is None:
                missing.append(tag)
            elif entry.info.tag != tag:
                raise StoreError(f"tag {tag} names version {entry.info.tag}")
            else:
                found[tag] = entry
        if missing:
            names = [n for t in missing for n in (tag_ref(t), f"{tag_ref(t)}:consign.json")]
            objects = self.objects.read_many(names)
            for i, tag in enumerate(missing):
                entry = self._make(f"tag {tag}", objects[2 * i], objects[2 * i + 1])
                if entry.info.tag != tag:
                    raise StoreError(f"tag {tag} names version {entry.info.tag}")
                found[tag] = entry
                self._tags.put(tag, entry.info.commit)
        return [found[t].info for t in tags]

    def remember(self, entry: Entry, components: list[Component], descriptor: bytes) -> None:
        """Seed the caches with a version this process has just written."""
        info = replace(entry.info, components=[self._share(c) for c in entry.info.components])
        entry = replace(entry, info=info)
        self._entries.put(entry.info.commit, entry)
        self._tags.put(entry.info.tag, entry.info.commit)
        self._components.put(entry.info.commit, components)
        for c in components:
            self._fragments.put(c.sha256, c.fragment)
        self._descriptors.put(entry.info.commit, descriptor)

    def file(self, commit: str, path: str) -> bytes:
        """A file of the version's tree (an attached env file), by its path in the tree."""
        return self.objects.read(f"{commit}:{path}", "blob").data

    def descriptor(self, commit: str) -> bytes:
        cached = self._descriptors.get(commit)
        if cached is None:
            blob = self.objects.read(f"{commit}:{manifest.DESCRIPTOR}", "blob")
            cached = self._descriptors.put(commit, blob.data)
        return cached

    def components(self, commit: str, only: Collection[str] | None = None) -> list[Component]:
        """The components of a version: its manifest plus each fragment, looked up by sha256.

        Another worker's publish moves the tip past this process's cached versions, but all
        but one of its fragments are ones this process has already read: only the manifest
        and the fragments never seen here cost a Git read. ``only``: just the components of
        these names (a diff needs the one or two that changed, not fifty parsed fragments).
        """
        cached = self._components.get(commit)
        if cached is not None:
            return cached if only is None else [c for c in cached if c.name in only]
        items = self.entry(commit).info.components
        if only is not None:
            items = [item for item in items if item.name in only]
        texts = {item.sha256: self._fragments.get(item.sha256) for item in items}
        missing = [item for item in items if texts[item.sha256] is None]
        blobs = self.objects.read_many([f"{commit}:{item.fragment}" for item in missing])
        for item, blob in zip(missing, blobs, strict=True):
            if blob is None:
                raise StoreError(f"commit {commit} lacks {item.fragment}")
            texts[item.sha256] = self._fragment(blob.data.decode("utf-8"), item.sha256)
        result = []
        for item in items:
            text = texts[item.sha256]
            assert text is not None  # read above
            result.append(
                Component(
                    name=item.name,
                    fragment=text,
                    spec=self.spec(item.sha256, text),
                    build=item.build,
                    sha256=item.sha256,
                    files=tuple(AttachedFile(f.path, f.sha256, f.size, f.blob) for f in item.files),
                    secrets=item.secrets,
                )
            )
        return self._components.put(commit, result) if only is None else result

    def _fragment(self, text: str, sha256: str) -> str:
        """Cache a fragment's text under its sha256 (only if it really has that hash)."""
        if hashlib.sha256(text.encode()).hexdigest() == sha256:
            self._fragments.put(sha256, text)
        return text

    def spec(self, sha256: str, text: str) -> dict[str, Any]:
        """The normalized spec of a stored fragment (parsed once per process)."""
        cached = self._specs.get(sha256)
        if cached is None:
            spec, _ = parse_fragment(text, yamlio.STORED, compose_checks=False)
            cached = self._specs.put(sha256, spec)
        return cached
