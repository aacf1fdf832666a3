"""The deployment ledger: a commit chain per environment, read lazily and cached by commit.

Layout (see README, "The deployment ledger"):

- ``refs/ledger/<environment>``: each commit is one deployment record; its tree holds
  ``record.json`` (the record) and ``current/`` (one entry ``<app>.<release>.json`` per
  application/release, names encoded by refnames: the blob of the record saying what runs
  there now, shared with the commit that recorded it); the first parent is the
  environment's previous record (arrival order).
- ``refs/deployed/<environment>/<app>/<release>``: the version commit (the same commit as
  the version's tag) running there now; deleted by a teardown.

Both move in ONE ``update-ref --stdin`` transaction per report, under the store's writer
lock, after the record's objects are written, exactly like a publish: a killed worker
leaves only unreferenced objects.

Reading: an environment's state now is its tip's ``current/`` tree (one pipelined
``cat-file`` round trip for every environment; record blobs are cached by id, so only
records never seen by this process are read). History needs the chain: commit ids in
order with the trailers that say which record, application, release and version each is,
from one ``git log`` per environment, extended incrementally when the tip moves; a page
reads only its own records.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from consign.cache import LRU
from consign.compose import refnames
from consign.process import CommandFailed
from registry.errors import Conflict, StoreError
from registry.store import gitrun, layout, records
from registry.store.gitobjects import FILE_MODE, TREE_MODE, ObjectStore, parse_commit, parse_tree
from registry.store.layout import ENVIRONMENT_RE, deployed_ref, ledger_ref
from registry.store.layout import check_environment as check_environment  # importers of old
from registry.store.refs import ZERO, RefDB, RefUpdate
from registry.store.types import DeploymentRecord

RECORD = "record.json"
CURRENT = "current"
RETRY_DELAY = 0.2
WALK = 32  # commits read one by one before one `git log` is cheaper
_TRAILERS = ("Record", "Application", "Release", "Version", "Rolled-Back-To")
_LOG_FORMAT = "%H%x1f" + "%x1f".join(
    f"%(trailers:key=Consign-{k},valueonly,separator=%x2C)" for k in _TRAILERS
) + "%x1e"  # fmt: skip

Key = tuple[str, str]  # (application, release)


def current_name(application: str, release: str) -> str:
    """The ``current/`` entry of an application/release (encoded names never hold '.')."""
    return (
        f"{refnames.encode(application, 'application')}.{refnames.encode(release, 'release')}.json"
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def newer(a: DeploymentRecord, b: DeploymentRecord | None) -> bool:
    """Whether ``a`` says more recently than ``b`` what runs (finish time, then arrival)."""
    return b is None or (a.finished, a.seq) >= (b.finished, b.seq)


def apply(current: dict[Key, DeploymentRecord], record: DeploymentRecord) -> bool:
    """Fold one record into a "what runs now" map; True when it became current.

    Drift records are events, not deployments. A teardown stays in the map (so a late
    record of an earlier deploy cannot resurrect the application); readers skip it.
    """
    if record.kind in records.EVENTS:
        return False
    key = (record.application, record.release)
    if not newer(record, current.get(key)):
        return False
    current[key] = record
    return True


def running(state: Iterable[DeploymentRecord]) -> list[DeploymentRecord]:
    """The records of what runs (torn down ones left out), by application/release."""
    return sorted(
        (r for r in state if r.outcome not in records.GONE),
        key=lambda r: (r.application, r.release),
    )


@dataclass(frozen=True)
class LedgerSnapshot:
    """An environment at one ledger commit: its size and what runs there."""

    tip: str
    count: int  # records so far (the tip record's seq)
    last: str  # when the tip record finished
    entries: dict[str, tuple[bytes, str]]  # current/ tree entries
    state: dict[Key, DeploymentRecord]  # current record per application/release
    deployed: tuple[DeploymentRecord, ...] = ()  # running(state), computed once

    @classmethod
    def of(
        cls, tip: str, tip_record: DeploymentRecord, entries: dict[str, tuple[bytes, str]],
        state: dict[Key, DeploymentRecord],
    ) -> LedgerSnapshot:  # fmt: skip
        deployed = tuple(running(state.values()))
        return cls(tip, tip_record.seq, tip_record.finished, entries, state, deployed)


@dataclass(frozen=True)
class Line:
    """One record in the chain, as the commit's trailers describe it (no blob read)."""

    commit: str
    id: str
    application: str
    release: str
    version: int | None
    rolled_back_to: int | None


@dataclass
class Chain:
    tip: str | None = None
    lines: list[Line] = field(default_factory=list)  # oldest first: seq = index + 1
    ids: dict[str, int] = field(default_factory=dict)

    def add(self, line: Line) -> None:
        self.lines.append(line)
        self.ids[line.id] = len(self.lines)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


class LedgerRecords:
    """Reads and writes the ledger; the caller holds the per-process guard (and, to write,
    the writer lock). Every cache is keyed by immutable object ids or checked against the
    environment's tip, so other processes' writes are always seen."""

    def __init__(self, gitdir: Path, objects: ObjectStore, refs: RefDB) -> None:
        self.gitdir = gitdir
        self.objects = objects
        self.refs = refs
        self._snapshots: dict[str, LedgerSnapshot] = {}
        self._chains: dict[str, Chain] = {}
        self._blobs: LRU[str, DeploymentRecord] = LRU(50_000)  # record blob id -> record
        self._by_commit: LRU[str, str] = LRU(50_000)  # ledger commit -> record blob id
        self._tip_files: dict[str, tuple[tuple[int, int, int], str]] = {}

    def environments(self) -> list[str]:
        return sorted(n for n in self.refs.children(layout.LEDGER) if ENVIRONMENT_RE.fullmatch(n))

    # -- the state now -----------------------------------------------------------------

    def snapshots(self, names: Sequence[str]) -> list[LedgerSnapshot | None]:
        """Each environment's snapshot at its tip (None: no record yet), reading only what
        changed since this process last looked, in two pipelined round trips at most."""
        tips = [self.tip(n) for n in names]
        stale = [
            (n, t)
            for n, t in zip(names, tips, strict=True)
            if t and (n not in self._snapshots or self._snapshots[n].tip != t)
        ]
        if stale:
            wanted = [name for _, t in stale for name in (f"{t}:{RECORD}", f"{t}^{{tree}}")]
            found = self.objects.read_many(wanted)
            heads = {}
            for i, (name, tip) in enumerate(stale):
                blob, tree = found[2 * i], found[2 * i + 1]
                if blob is None or tree is None:
                    raise StoreError(f"ledger commit {tip} of {name} has no {RECORD}")
                root = parse_tree(tree.data)
                current = root.get(CURRENT)
                heads[name] = (tip, blob, current[1] if current else None)
            subtrees = [h[2] for h in heads.values() if h[2]]
            trees = dict(zip(subtrees, self.objects.read_many(subtrees), strict=True))
            entries = {
                name: parse_tree(trees[h[2]].data) if h[2] and trees.get(h[2]) else {}  # type: ignore[union-attr]
                for name, h in heads.items()
            }
            self._load([sha for e in entries.values() for _, sha in e.values()])
            for name, (tip, blob, _) in heads.items():
                tip_record = self._blobs.get(blob.sha) or self._blobs.put(
                    blob.sha, self._parse(blob.sha, blob.data)
                )
                state = {}
                for _, sha in entries[name].values():
                    r = self._blobs.get(sha)
                    assert r is not None  # loaded above
                    state[(r.application, r.release)] = r
                self._snapshots[name] = LedgerSnapshot.of(tip, tip_record, entries[name], state)
        return [self._snapshots[n] if t else None for n, t in zip(names, tips, strict=True)]

    def tip(self, name: str) -> str | None:
        """The environment's ledger tip. A loose ref file is re-read only when its (inode,
        size, mtime) changed: Git replaces a ref by renaming a new file into place, so one
        ``stat`` tells whether it moved (listing 50 environments costs 50 ``stat`` calls)."""
        ref = ledger_ref(name)
        try:
            st = os.stat(self.gitdir / ref)
        except (FileNotFoundError, NotADirectoryError):
            self._tip_files.pop(name, None)
            return self.refs.resolve(ref)  # packed, or none
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        cached = self._tip_files.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        found = self.refs.resolve(ref)
        if found is not None:
            self._tip_files[name] = (key, found)
        return found

    def snapshot(self, name: str) -> LedgerSnapshot | None:
        return self.snapshots([name])[0]

    def _parse(self, sha: str, data: bytes) -> DeploymentRecord:
        try:
            return records.load(data)
        except (ValueError, TypeError, KeyError) as e:
            raise StoreError(f"ledger record {sha} is unreadable: {e}") from e

    def _load(self, blobs: Iterable[str]) -> None:
        """Read the record blobs not cached yet (one round trip)."""
        missing = list(dict.fromkeys(b for b in blobs if self._blobs.get(b) is None))
        for sha, found in zip(missing, self.objects.read_many(missing), strict=True):
            if found is None or found.kind != "blob":
                raise StoreError(f"ledger record {sha} is missing")
            self._blobs.put(sha, self._parse(sha, found.data))

    # -- history -----------------------------------------------------------------------

    def chain(self, name: str) -> Chain:
        """The environment's chain, extended to its tip: the few new commits read through
        ``cat-file`` (:meth:`_walk`), or one ``git log`` when many are new."""
        chain = self._chains.setdefault(name, Chain())
        tip = self.tip(name)
        if tip == chain.tip:
            return chain
        if tip is None:  # never happens (refs only move forward); start afresh
            chain = self._chains[name] = Chain()
            return chain
        for line in self._walk(tip, chain.tip) or self._log(name, tip, chain.tip):
            chain.add(line)
        chain.tip = tip
        return chain

    def _walk(self, tip: str, known: str | None) -> list[Line]:
        """The few commits from ``known`` to ``tip`` read through ``cat-file`` (no process
        spawned: the usual case, another worker wrote one or two records); [] when
        ``known`` is not within :data:`WALK` first parents."""
        if known is None:
            return []
        found: list[Line] = []
        commit: str | None = tip
        while commit != known:
            if commit is None or len(found) >= WALK:
                return []
            obj = self.objects.read(commit, "commit")
            parsed = parse_commit(obj.data)
            trailers = dict(
                line.split(": ", 1)
                for line in parsed.message.rstrip("\n").rsplit("\n\n", 1)[-1].splitlines()
                if ": " in line
            )
            found.append(
                Line(commit, trailers.get("Consign-Record", ""),
                     trailers.get("Consign-Application", ""), trailers.get("Consign-Release", ""),
                     _number(trailers.get("Consign-Version", "")),
                     _number(trailers.get("Consign-Rolled-Back-To", "")))
            )  # fmt: skip
            commit = parsed.parents[0] if parsed.parents else None
        return found[::-1]

    def _log(self, name: str, tip: str, known: str | None) -> list[Line]:
        """The commits from ``known`` (or the start) to ``tip``: one ``git log``."""
        args = ["log", "--first-parent", "--reverse", f"--format={_LOG_FORMAT}", tip]
        args += [f"^{known}"] if known else []
        try:
            out = gitrun.run(self.gitdir, *args).stdout
        except CommandFailed as e:
            raise StoreError(f"cannot list the ledger of {name}: {e}") from e
        found = []
        for item in out.split("\x1e"):
            fields = item.strip("\n").split("\x1f")
            if len(fields) == 1 + len(_TRAILERS):
                commit, rid, app, rel, version, back = fields
                found.append(Line(commit, rid, app, rel, _number(version), _number(back)))
        return found

    def records_of(self, lines: Sequence[Line]) -> list[DeploymentRecord]:
        """The records of these chain lines, in order (cached by commit, then blob)."""
        missing = [ln.commit for ln in lines if self._by_commit.get(ln.commit) is None]
        if missing:
            names = [f"{c}:{RECORD}" for c in missing]
            for commit, found in zip(missing, self.objects.read_many(names), strict=True):
                if found is None or found.kind != "blob":
                    raise StoreError(f"ledger commit {commit} has no {RECORD}")
                if self._blobs.get(found.sha) is None:
                    self._blobs.put(found.sha, self._parse(found.sha, found.data))
                self._by_commit.put(commit, found.sha)
        out = []
        for ln in lines:
            sha = self._by_commit.get(ln.commit)
            r = self._blobs.get(sha) if sha else None
            if r is None:  # evicted between the two loops: read it again
                [r] = self.records_of_uncached(ln)
            out.append(r)
        return out

    def records_of_uncached(self, line: Line) -> list[DeploymentRecord]:
        found = self.objects.read(f"{line.commit}:{RECORD}", "blob")
        return [self._parse(found.sha, found.data)]

    def page(self, name: str, limit: int, before: int | None) -> list[DeploymentRecord]:
        """Newest first: at most ``limit`` records with ``seq < before``."""
        lines = self.chain(name).lines
        end = len(lines) if before is None else max(0, min(before - 1, len(lines)))
        return self.records_of(lines[max(0, end - limit) : end])[::-1]

    def at(self, name: str, when: str) -> list[DeploymentRecord]:
        """What ran at ``when`` (a normalised ISO-8601 UTC time), per application/release."""
        state: dict[Key, DeploymentRecord] = {}
        for record in self.records_of(self.chain(name).lines):
            if record.finished <= when:
                apply(state, record)
        return running(state.values())

    def of_version(self, application: str, release: str, number: int) -> list[DeploymentRecord]:
        return self.of_versions(application, release, {number})

    def of_versions(
        self, application: str, release: str, numbers: Collection[int]
    ) -> list[DeploymentRecord]:
        """The records of any of these versions (deployed, or rolled back to), every
        environment read once: a page of 20 versions costs one pass, not 20."""
        found: list[DeploymentRecord] = []
        for name in self.environments():
            lines = [
                ln
                for ln in self.chain(name).lines
                if ln.application == application
                and ln.release == release
                and (ln.version in numbers or ln.rolled_back_to in numbers)
            ]
            found += self.records_of(lines)
        return found

    def of_release(self, name: str, application: str, release: str) -> list[DeploymentRecord]:
        """Every record of the application/release in this environment, in chain order
        (the gate's soak: registry/soak.py)."""
        lines = [
            ln
            for ln in self.chain(name).lines
            if ln.application == application and ln.release == release
        ]
        return self.records_of(lines)

    def drift_since(
        self, name: str, current: Iterable[DeploymentRecord]
    ) -> dict[Key, DeploymentRecord]:
        """Per application/release of ``current`` (what runs), the newest drift record that
        arrived after the record that left it running. Only the chain's trailers are
        scanned; the few records of the same application/release after it are read."""
        chain = self.chain(name)
        since = {(r.application, r.release): chain.ids.get(r.id, 0) for r in current}
        if not since:
            return {}
        first = min(since.values())
        later = [
            ln
            for seq, ln in enumerate(chain.lines[first:], start=first + 1)
            if seq > since.get((ln.application, ln.release), seq)
        ]
        found: dict[Key, DeploymentRecord] = {}
        for record in reversed(self.records_of(later)):
            if record.kind == "drift":
                found.setdefault((record.application, record.release), record)
        return found

    # -- writing -----------------------------------------------------------------------

    def append(
        self, record: DeploymentRecord, version_commits: dict[int, str]
    ) -> tuple[DeploymentRecord, bool]:
        """Write ``record`` (hold the writer lock); (stored record, False) for a retry.

        ``version_commits`` maps the version numbers the record names to their commits
        (for ``refs/deployed/...``). A known id with a different content is a Conflict.
        """
        name = record.environment
        for attempt in (1, 2):
            self._tip_files.pop(name, None)  # the writer reads the ref itself, no stat cache
            chain, snap = self.chain(name), self.snapshot(name)
            seen = chain.ids.get(record.id)
            if seen is not None:
                [stored] = self.records_of([chain.lines[seen - 1]])
                if records.same_report(stored, record):
                    return stored, False
                raise Conflict(
                    f"record {record.id} was already reported to {name} with a different "
                    "content; a new deployment needs a new id",
                    details={"field": "id"},
                )
            stored = replace(record, seq=len(chain.lines) + 1, received=now_iso())
            commit, blob, entries, updates = self._write(snap, stored, version_commits)
            try:
                self.refs.transaction(updates)
            except StoreError:
                # A `git update-ref` orphaned by a killed worker may still be finishing:
                # re-read the refs and try once more.
                if attempt == 2:
                    raise
                time.sleep(RETRY_DELAY)
                continue
            self._blobs.put(blob, stored)
            self._by_commit.put(commit, blob)
            chain.add(
                Line(commit, stored.id, stored.application, stored.release, stored.version,
                     stored.rolled_back_to)
            )  # fmt: skip
            chain.tip = commit
            state = dict(snap.state) if snap else {}
            apply(state, stored)
            self._snapshots[name] = LedgerSnapshot.of(commit, stored, entries, state)
            return stored, True
        raise AssertionError("unreachable")

    def _write(
        self, snap: LedgerSnapshot | None, record: DeploymentRecord, version_commits: dict[int, str]
    ) -> tuple[str, str, dict[str, tuple[bytes, str]], list[RefUpdate]]:
        tip = snap.tip if snap else None
        previous = snap.state.get((record.application, record.release)) if snap else None
        blob = self.objects.write("blob", records.dump(record))
        entries = dict(snap.entries) if snap else {}
        becomes_current = record.kind not in records.EVENTS and newer(record, previous)
        if becomes_current:
            entries[current_name(record.application, record.release)] = (FILE_MODE, blob)
        root = {RECORD: (FILE_MODE, blob)}
        if entries:
            root[CURRENT] = (TREE_MODE, self.objects.write_tree(entries))
        tree = self.objects.write_tree(root)
        when = int(time.time())
        commit = self.objects.write_commit(tree, tip, records.commit_message(record), when)
        updates = [RefUpdate(ledger_ref(record.environment), commit, tip or ZERO)]
        if becomes_current:
            ref = deployed_ref(record.environment, record.application, record.release)
            old = self.refs.resolve(ref)
            version = record.deployed_version
            target = version_commits.get(version) if version is not None else None
            if target is not None and target != old:
                updates.append(RefUpdate(ref, target, old or ZERO))
            elif target is None and old is not None:
                updates.append(RefUpdate(ref, ZERO, old))
        return commit, blob, entries, updates
